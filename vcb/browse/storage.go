package browse

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/diskfs/go-diskfs/backend"
)

// storage adapts a read-only io.ReaderAt of a known size to go-diskfs's
// backend.Storage, so go-diskfs reads a virtual disk without a file.
type storage struct {
	*io.SectionReader
	name string
}

var _ backend.Storage = storage{}

var errReadOnly = errors.New("browse: disk is read-only")

func newStorage(r io.ReaderAt, size int64, name string) storage {
	return storage{SectionReader: io.NewSectionReader(r, 0, size), name: name}
}

func (s storage) Stat() (fs.FileInfo, error)              { return fileInfo{s.name, s.Size()}, nil }
func (s storage) Close() error                            { return nil }
func (s storage) Sys() (*os.File, error)                  { return nil, errReadOnly }
func (s storage) Writable() (backend.WritableFile, error) { return nil, errReadOnly }
func (s storage) Path() string                            { return "" }

type fileInfo struct {
	name string
	size int64
}

func (fi fileInfo) Name() string       { return fi.name }
func (fi fileInfo) Size() int64        { return fi.size }
func (fi fileInfo) Mode() fs.FileMode  { return 0o444 }
func (fi fileInfo) ModTime() time.Time { return time.Time{} }
func (fi fileInfo) IsDir() bool        { return false }
func (fi fileInfo) Sys() any           { return nil }
