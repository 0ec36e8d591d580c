package browse

import (
	"io"
	"io/fs"
	"path"
	"strings"
)

// clean turns "/etc/", "etc" or "" into the fs.FS path "etc" (or ".").
func clean(name string) string {
	name = path.Clean("/" + name)
	if name == "/" {
		return "."
	}
	return strings.TrimPrefix(name, "/")
}

func pathErr(op, name string, err error) error {
	if _, ok := err.(*fs.PathError); ok {
		return err
	}
	return &fs.PathError{Op: op, Path: name, Err: err}
}

// Open opens a file for reading (fs.FS).
func (f *FS) Open(name string) (file fs.File, err error) {
	defer recoverTo(&err)
	if f.nt != nil {
		if file, err = f.nt.Open(ntfsName(name)); err != nil {
			return nil, pathErr("open", name, err)
		}
		return file, nil
	}
	if f.ext != nil {
		ino, err := f.ext.resolve(clean(name), false)
		if err != nil {
			return nil, pathErr("open", name, err)
		}
		if ino != 0 {
			if file, ok, err := f.openExtents(name, ino); ok || err != nil {
				return file, err
			}
		}
	}
	file, err = f.fsys.Open(clean(name))
	if err != nil {
		return nil, pathErr("open", name, err)
	}
	return safeFile{file}, nil
}

// openExtents opens a regular ext4 file mapped by extents (ok false for
// other inodes, which go-diskfs reads). The file information comes from
// go-diskfs.
func (f *FS) openExtents(name string, ino uint64) (file fs.File, ok bool, err error) {
	r, err := f.ext.fileReader(ino)
	if err != nil {
		return nil, false, pathErr("open", name, err)
	}
	if r == nil {
		return nil, false, nil
	}
	var info fs.FileInfo
	if df, err := f.fsys.Open(clean(name)); err == nil {
		info, err = df.Stat()
		df.Close()
		if err != nil {
			info = nil
		}
	}
	if info == nil {
		if info, err = f.fsys.Stat(clean(name)); err != nil {
			return nil, false, pathErr("open", name, err)
		}
	}
	return &extentFile{r: r, info: info}, true, nil
}

// ReadDir lists a directory sorted by name (fs.ReadDirFS), without "." and "..".
func (f *FS) ReadDir(name string) (ents []fs.DirEntry, err error) {
	defer recoverTo(&err)
	if f.nt != nil {
		if ents, err = f.nt.ReadDir(ntfsName(name)); err != nil {
			return nil, pathErr("readdir", name, err)
		}
		return ents, nil
	}
	if f.ext != nil {
		if err := f.ext.checkPath(clean(name), true); err != nil {
			return nil, pathErr("readdir", name, err)
		}
	}
	all, err := f.fsys.ReadDir(clean(name))
	if err != nil {
		return nil, pathErr("readdir", name, err)
	}
	for _, e := range all {
		if e.Name() != "." && e.Name() != ".." {
			ents = append(ents, e)
		}
	}
	return ents, nil
}

// Stat describes a file (fs.StatFS).
func (f *FS) Stat(name string) (fi fs.FileInfo, err error) {
	defer recoverTo(&err)
	if f.nt != nil {
		if name = ntfsName(name); name == "." {
			return rootInfo{}, nil
		}
		if fi, err = f.nt.Stat(name); err != nil {
			return nil, pathErr("stat", name, err)
		}
		return fi, nil
	}
	if clean(name) == "." {
		return rootInfo{}, nil
	}
	if f.ext != nil {
		if err := f.ext.checkPath(clean(name), false); err != nil {
			return nil, pathErr("stat", name, err)
		}
	}
	fi, err = f.fsys.Stat(clean(name))
	if err != nil {
		return nil, pathErr("stat", name, err)
	}
	return fi, nil
}

// ReadFile reads a whole file (fs.ReadFileFS).
func (f *FS) ReadFile(name string) ([]byte, error) {
	r, err := f.Open(name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// Close releases the file system.
func (f *FS) Close() error {
	if f.nt != nil {
		f.nt.ctx.Close()
		return nil
	}
	return f.fsys.Close()
}

// safeFile guards reads of go-diskfs files against panics.
type safeFile struct{ fs.File }

func (s safeFile) Read(p []byte) (n int, err error) {
	defer recoverTo(&err)
	return s.File.Read(p)
}

type rootInfo struct{ fileInfo }

func (rootInfo) Name() string      { return "/" }
func (rootInfo) IsDir() bool       { return true }
func (rootInfo) Mode() fs.FileMode { return fs.ModeDir | 0o555 }
