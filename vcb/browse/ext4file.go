package browse

import (
	"errors"
	"io"
	"io/fs"
	"math"
	"slices"
)

// go-diskfs mishandles sparse ext4 files: a logical block no extent covers
// (a hole) or a file block past the last extent makes its reads fail or
// return nothing forever. Regular ext4 files that use extents are
// therefore read here, from the extent list ext4Check has validated: holes
// and uninitialized (fallocated, unwritten) extents read as zeros, as the
// kernel reads them, and reads stop at i_size. Inline-data files and files
// using the old indirect block map still go through go-diskfs.

const inodeFlagInlineData = 0x10000000

// extentReader reads one regular ext4 file at any offset (io.ReaderAt).
type extentReader struct {
	c    *ext4Check
	ino  uint64
	size int64
	exts []extent // sorted by file block
}

// fileReader returns a reader for inode ino when it is a regular file
// mapped by extents, else nil (go-diskfs reads it).
func (c *ext4Check) fileReader(ino uint64) (*extentReader, error) {
	mode, flags, size, exts, err := c.load(ino)
	if err != nil {
		return nil, err
	}
	if mode&0xf000 != 0x8000 || flags&inodeFlagExtent == 0 || flags&inodeFlagInlineData != 0 {
		return nil, nil
	}
	// walk built exts for this call: sort it in place (a valid tree
	// already lists extents in file order).
	slices.SortStableFunc(exts, func(a, b extent) int {
		switch {
		case a.file < b.file:
			return -1
		case a.file > b.file:
			return 1
		}
		return 0
	})
	return &extentReader{c: c, ino: ino, size: int64(min(size, math.MaxInt64)), exts: exts}, nil
}

// find returns the extent holding file block blk, or (when blk is in a
// hole) the number of blocks up to the next extent (0: none follows).
func (r *extentReader) find(blk uint64) (e extent, mapped bool, gap uint64) {
	i, _ := slices.BinarySearchFunc(r.exts, blk, func(e extent, b uint64) int {
		if e.file <= b {
			return -1
		}
		return 1
	})
	// r.exts[:i] start at or before blk; the last of them may cover it.
	if i > 0 && blk < r.exts[i-1].file+r.exts[i-1].count {
		return r.exts[i-1], true, 0
	}
	if i < len(r.exts) {
		return extent{}, false, r.exts[i].file - blk
	}
	return extent{}, false, 0
}

// ReadAt reads len(p) bytes at off; past i_size it returns io.EOF.
func (r *extentReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("browse: negative read offset")
	}
	if off >= r.size {
		return 0, io.EOF
	}
	want := len(p)
	if int64(want) > r.size-off {
		p = p[:r.size-off]
	}
	bs := r.c.bs
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		blk, in := uint64(pos/bs), pos%bs
		e, mapped, gap := r.find(blk)
		var run int64 // bytes this step covers
		if mapped {
			run = int64(e.file+e.count-blk)*bs - in
		} else if gap > 0 {
			run = int64(min(gap, uint64(math.MaxInt64/bs)))*bs - in
		} else {
			run = int64(len(p) - n)
		}
		run = min(run, int64(len(p)-n))
		dst := p[n : n+int(run)]
		if !mapped || e.uninit {
			clear(dst)
		} else {
			phys := int64(e.disk+blk-e.file)*bs + in
			if e.disk+blk-e.file >= r.c.blocks || phys+run > r.c.size {
				return n, r.c.fail(r.ino, "extents", "block %d outside the file system", e.disk+blk-e.file)
			}
			if err := readAt(r.c.r, dst, r.c.start+phys, "ext4"); err != nil {
				return n, err
			}
		}
		n += int(run)
	}
	if n < want {
		return n, io.EOF
	}
	return n, nil
}

// extentFile is an open regular ext4 file read through an extentReader
// (fs.File, io.ReaderAt, io.Seeker).
type extentFile struct {
	r    *extentReader
	info fs.FileInfo
	off  int64
}

func (f *extentFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *extentFile) Close() error               { return nil }

func (f *extentFile) ReadAt(p []byte, off int64) (int, error) { return f.r.ReadAt(p, off) }

func (f *extentFile) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, err := f.r.ReadAt(p, f.off)
	f.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

func (f *extentFile) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += f.off
	case io.SeekEnd:
		offset += f.r.size
	default:
		return f.off, errors.New("browse: bad whence")
	}
	if offset < 0 {
		return f.off, errors.New("browse: negative seek offset")
	}
	f.off = offset
	return offset, nil
}

var (
	_ fs.File     = (*extentFile)(nil)
	_ io.ReaderAt = (*extentFile)(nil)
	_ io.Seeker   = (*extentFile)(nil)
)
