package vcb

import (
	"io"
	"os"
)

// FS is the local file system a backup is written to. The default (nil)
// is the operating system's; tests substitute one that fails, to check
// that a full disk leaves no backup that looks complete.
type FS interface {
	MkdirAll(path string) error
	MkdirTemp(dir, pattern string) (string, error)
	Create(name string) (WriteFile, error)
	Rename(oldpath, newpath string) error
	RemoveAll(path string) error
	// SyncDir flushes a directory's entries to stable storage.
	SyncDir(path string) error
}

// WriteFile is a file being written by Backup.
type WriteFile interface {
	io.Writer
	Sync() error
	Close() error
}

// OSFS is the operating system's file system.
type OSFS struct{}

func (OSFS) MkdirAll(path string) error                    { return os.MkdirAll(path, 0o755) }
func (OSFS) MkdirTemp(dir, pattern string) (string, error) { return os.MkdirTemp(dir, pattern) }
func (OSFS) Create(name string) (WriteFile, error) {
	return os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
}
func (OSFS) Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }
func (OSFS) RemoveAll(path string) error          { return os.RemoveAll(path) }
func (OSFS) SyncDir(path string) error {
	d, err := os.Open(path)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

func lstat(p string) (os.FileInfo, error) { return os.Lstat(p) }
