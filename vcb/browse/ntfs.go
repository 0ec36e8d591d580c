package browse

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/bits"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	ntfs "www.velocidex.com/golang/go-ntfs/parser"
)

// Limits on the work one NTFS operation may do, so a hostile image can
// make go-ntfs neither loop nor allocate without end.
const (
	maxNTFSDirEntries = 1 << 20 // index entries read for one directory
	maxNTFSDepth      = 256     // path components resolved
	ntfsFirstUserMFT  = 16      // MFT records 0-15 are the metafiles ($MFT, $Bitmap, ...)
	ntfsAttrReparse   = 0xc0    // $REPARSE_POINT
)

// NTFS file attribute bits ($STANDARD_INFORMATION flags).
const (
	NTFSReadOnly   = 0x1
	NTFSHidden     = 0x2
	NTFSSystem     = 0x4
	NTFSSparse     = 0x200
	NTFSReparse    = 0x400
	NTFSCompressed = 0x800
)

// NTFSStream is a named data stream (alternate data stream) of a file;
// fsys.Open("dir/file:name") reads it.
type NTFSStream struct {
	Name string
	Size int64
}

// NTFSInfo is what fs.FileInfo.Sys returns for a file of an NTFS file
// system.
type NTFSInfo struct {
	MFT        uint64       // MFT record number (the "inode")
	Links      int          // hard links (Win32 / POSIX names)
	Attributes uint32       // NTFS file attribute bits (NTFSSparse, NTFSReparse, ...)
	Streams    []NTFSStream // alternate data streams, sorted by name
	Created    time.Time
	Accessed   time.Time
	Changed    time.Time // MFT record change
}

// Ino returns the MFT record number, so walks detect directory cycles.
func (n *NTFSInfo) Ino() uint64 { return n.MFT }

// checkNTFS validates an NTFS boot sector against the partition size
// before go-ntfs sees it.
func checkNTFS(b []byte, start, size int64) error {
	le := binary.LittleEndian
	bps := int64(le.Uint16(b[11:]))
	spc := int64(b[13])
	if spc > 0x80 { // 2^(256-n) sectors (clusters above 64 KiB)
		spc = 1 << (256 - spc)
	}
	total := int64(le.Uint64(b[40:]))
	mft := int64(le.Uint64(b[48:]))
	rec := int64(int8(b[64]))
	fail := func(off int64, field, format string, args ...any) error {
		return bad("ntfs", start+off, field, format, args...)
	}
	switch {
	case bps < 512 || bps > 4096 || bits.OnesCount64(uint64(bps)) != 1:
		return fail(11, "bytesPerSector", "%d", bps)
	case spc == 0 || bits.OnesCount64(uint64(spc)) != 1 || spc*bps > 1<<21:
		return fail(13, "sectorsPerCluster", "%d", spc)
	case total <= 0 || total > size/bps:
		return fail(40, "totalSectors", "%d sectors of %d bytes in a partition of %d bytes", total, bps, size)
	case mft <= 0 || mft > (total*bps)/(spc*bps):
		return fail(48, "mftCluster", "%d (the volume has %d clusters)", mft, total/spc)
	}
	var recBytes int64
	if rec > 0 {
		recBytes = rec * spc * bps
	} else if rec < 0 && rec >= -31 {
		recBytes = 1 << -rec
	}
	if recBytes < 256 || recBytes > 1<<16 {
		return fail(64, "clustersPerMFTRecord", "%d (%d-byte records)", rec, recBytes)
	}
	if (mft+1)*spc*bps > size {
		return fail(48, "mftCluster", "%d is past the partition end", mft)
	}
	return nil
}

// ntfsFS reads an NTFS file system with go-ntfs. go-ntfs keeps caches in
// its context, so one lock serializes its use.
type ntfsFS struct {
	mu    sync.Mutex
	ctx   *ntfs.NTFSContext
	label string
}

func openNTFS(r io.ReaderAt, start, size int64) (f *ntfsFS, err error) {
	defer recoverTo(&err)
	pr, err := ntfs.NewPagedReader(io.NewSectionReader(r, start, size), 4096, 1024)
	if err != nil {
		return nil, fmt.Errorf("%w: ntfs: %v", ErrBadImage, err)
	}
	ctx, err := ntfs.GetNTFSContext(pr, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: ntfs: %v", ErrBadImage, err)
	}
	f = &ntfsFS{ctx: ctx}
	root, err := ctx.GetMFT(5)
	if err != nil || !root.IsDir(ctx) {
		return nil, fmt.Errorf("%w: ntfs: no root directory (MFT record 5): %v", ErrBadImage, err)
	}
	if vol, err := ctx.GetMFT(3); err == nil {
		for _, a := range vol.EnumerateAttributes(ctx) {
			if a.Type().Value == 0x60 { // $VOLUME_NAME
				b := make([]byte, min(a.DataSize(), 256))
				if rr, err := ntfs.OpenStream(ctx, vol, 0x60, a.Attribute_id(), a.Name()); err == nil {
					n, _ := rr.ReadAt(b, 0)
					f.label = utf16String(b[:n])
				}
			}
		}
	}
	return f, nil
}

func utf16String(b []byte) string {
	u := make([]rune, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		u = append(u, rune(binary.LittleEndian.Uint16(b[i:])))
	}
	var sb strings.Builder
	for i := 0; i < len(u); i++ {
		c := u[i]
		if c >= 0xd800 && c < 0xdc00 && i+1 < len(u) && u[i+1] >= 0xdc00 && u[i+1] < 0xe000 {
			c = 0x10000 + (c-0xd800)<<10 + (u[i+1] - 0xdc00)
			i++
		}
		sb.WriteRune(c)
	}
	return sb.String()
}

// ntfsName turns a Windows path ("C:\Users\Bob", "\Users") into an fs.FS
// path; the drive letter names the file system itself and is dropped.
func ntfsName(name string) string {
	if len(name) >= 2 && name[1] == ':' && (name[0]|0x20 >= 'a' && name[0]|0x20 <= 'z') && (len(name) == 2 || name[2] == '\\' || name[2] == '/') {
		name = name[2:]
	}
	return clean(strings.ReplaceAll(name, "\\", "/"))
}

// ntfsDirent is one name of a directory's index.
type ntfsDirent struct {
	name string
	mft  int64
}

// dirents lists the Win32/POSIX names of directory entry e (DOS 8.3 names
// and the metafiles are left out, "." too), sorted by name.
func (f *ntfsFS) dirents(e *ntfs.MFT_ENTRY, root bool) ([]ntfsDirent, error) {
	idx := e.Dir(f.ctx)
	if len(idx) > maxNTFSDirEntries {
		return nil, fmt.Errorf("%w: ntfs: directory has more than %d index entries", ErrCorrupt, maxNTFSDirEntries)
	}
	seen := map[ntfsDirent]bool{}
	var out []ntfsDirent
	for _, ie := range idx {
		fn := ie.File()
		if fn.NameType().Name == "DOS" {
			continue
		}
		d := ntfsDirent{name: fn.Name(), mft: int64(ie.MftReference())}
		if d.name == "" || d.name == "." || d.name == ".." || strings.ContainsAny(d.name, "/\x00") {
			continue
		}
		if root && d.mft < ntfsFirstUserMFT {
			continue
		}
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// lookup resolves an fs.FS path to an MFT entry, comparing names without
// case as Windows does (an exact match wins).
func (f *ntfsFS) lookup(name string) (*ntfs.MFT_ENTRY, string, error) {
	e, err := f.ctx.GetMFT(5)
	if err != nil {
		return nil, "", fmt.Errorf("%w: ntfs: root: %v", ErrBadImage, err)
	}
	if name == "." {
		return e, "/", nil
	}
	parts := strings.Split(name, "/")
	if len(parts) > maxNTFSDepth {
		return nil, "", fmt.Errorf("%w: more than %d path components", fs.ErrInvalid, maxNTFSDepth)
	}
	base := ""
	for i, p := range parts {
		if !e.IsDir(f.ctx) {
			return nil, "", fs.ErrNotExist
		}
		ents, err := f.dirents(e, i == 0)
		if err != nil {
			return nil, "", err
		}
		found := int64(-1)
		for _, d := range ents {
			if d.name == p {
				found, base = d.mft, d.name
				break
			}
		}
		if found < 0 {
			for _, d := range ents {
				if strings.EqualFold(d.name, p) {
					found, base = d.mft, d.name
					break
				}
			}
		}
		if found < 0 {
			return nil, "", fs.ErrNotExist
		}
		if e, err = f.ctx.GetMFT(found); err != nil {
			return nil, "", fmt.Errorf("%w: ntfs: MFT record %d: %v", ErrBadImage, found, err)
		}
	}
	return e, base, nil
}

// ntfsFileInfo describes one MFT entry under one of its names.
type ntfsFileInfo struct {
	name  string
	size  int64
	dir   bool
	mtime time.Time
	sys   *NTFSInfo
}

func (i *ntfsFileInfo) Name() string       { return i.name }
func (i *ntfsFileInfo) Size() int64        { return i.size }
func (i *ntfsFileInfo) ModTime() time.Time { return i.mtime }
func (i *ntfsFileInfo) IsDir() bool        { return i.dir }
func (i *ntfsFileInfo) Sys() any           { return i.sys }

// Mode is a directory (0755), a regular file (0644, 0444 when
// read-only) or, for a reparse point (symbolic link, junction, ...),
// fs.ModeIrregular: reparse points are reported, never followed.
func (i *ntfsFileInfo) Mode() fs.FileMode {
	perm := fs.FileMode(0o644)
	if i.sys.Attributes&NTFSReadOnly != 0 {
		perm = 0o444
	}
	switch {
	case i.sys.Attributes&NTFSReparse != 0:
		return fs.ModeIrregular | perm
	case i.dir:
		return fs.ModeDir | 0o755
	}
	return perm
}

func (i *ntfsFileInfo) Type() fs.FileMode          { return i.Mode().Type() }
func (i *ntfsFileInfo) Info() (fs.FileInfo, error) { return i, nil }
func (i *ntfsFileInfo) String() string             { return fs.FormatFileInfo(i) }

func (f *ntfsFS) stat(e *ntfs.MFT_ENTRY, name string) *ntfsFileInfo {
	info := &ntfsFileInfo{name: name, dir: e.IsDir(f.ctx), sys: &NTFSInfo{MFT: uint64(e.Record_number())}}
	for _, a := range e.EnumerateAttributes(f.ctx) {
		switch a.Type().Value {
		case ntfs.ATTR_TYPE_STANDARD_INFORMATION:
			si := f.ctx.Profile.STANDARD_INFORMATION(a.Data(f.ctx), 0)
			info.mtime = si.File_altered_time().Time
			info.sys.Created = si.Create_time().Time
			info.sys.Accessed = si.File_accessed_time().Time
			info.sys.Changed = si.Mft_altered_time().Time
			info.sys.Attributes |= uint32(si.Flags().Value)
		case ntfs.ATTR_TYPE_FILE_NAME:
			fn := f.ctx.Profile.FILE_NAME(a.Data(f.ctx), 0)
			if fn.NameType().Name != "DOS" {
				info.sys.Links++
			}
		case ntfs.ATTR_TYPE_DATA:
			if !a.IsResident() && a.Runlist_vcn_start() != 0 {
				continue // a later extent of a stream
			}
			if a.Name() == "" {
				info.size = a.DataSize()
			} else {
				info.sys.Streams = append(info.sys.Streams, NTFSStream{Name: a.Name(), Size: a.DataSize()})
			}
		case ntfsAttrReparse:
			info.sys.Attributes |= NTFSReparse
		}
	}
	if info.dir {
		info.size = 0
	}
	sort.Slice(info.sys.Streams, func(i, j int) bool { return info.sys.Streams[i].Name < info.sys.Streams[j].Name })
	return info
}

// splitStream splits "dir/file:stream" into "dir/file" and "stream".
func splitStream(name string) (string, string) {
	b := path.Base(name)
	if i := strings.IndexByte(b, ':'); i > 0 {
		return name[:len(name)-len(b)+i], b[i+1:]
	}
	return name, ""
}

func (f *ntfsFS) Stat(name string) (fi fs.FileInfo, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	defer recoverTo(&err)
	p, stream := splitStream(name)
	e, base, err := f.lookup(p)
	if err != nil {
		return nil, err
	}
	info := f.stat(e, base)
	if stream == "" {
		return info, nil
	}
	for _, s := range info.sys.Streams {
		if strings.EqualFold(s.Name, stream) {
			return &ntfsFileInfo{name: base + ":" + s.Name, size: s.Size, mtime: info.mtime, sys: info.sys}, nil
		}
	}
	return nil, fs.ErrNotExist
}

func (f *ntfsFS) ReadDir(name string) (out []fs.DirEntry, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	defer recoverTo(&err)
	e, _, err := f.lookup(name)
	if err != nil {
		return nil, err
	}
	if !e.IsDir(f.ctx) {
		return nil, errors.New("not a directory")
	}
	ents, err := f.dirents(e, name == ".")
	if err != nil {
		return nil, err
	}
	for _, d := range ents {
		c, err := f.ctx.GetMFT(d.mft)
		if err != nil {
			return nil, fmt.Errorf("%w: ntfs: %s: MFT record %d: %v", ErrBadImage, d.name, d.mft, err)
		}
		out = append(out, f.stat(c, d.name))
	}
	return out, nil
}

func (f *ntfsFS) Open(name string) (file fs.File, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	defer recoverTo(&err)
	p, stream := splitStream(name)
	e, base, err := f.lookup(p)
	if err != nil {
		return nil, err
	}
	info := f.stat(e, base)
	if info.dir && stream == "" {
		return &ntfsDir{info: info}, nil
	}
	size := info.size
	if stream != "" {
		found := false
		for _, s := range info.sys.Streams {
			if strings.EqualFold(s.Name, stream) {
				found, stream, size = true, s.Name, s.Size
			}
		}
		if !found {
			return nil, fs.ErrNotExist
		}
		info = &ntfsFileInfo{name: base + ":" + stream, size: size, mtime: info.mtime, sys: info.sys}
	}
	if info.sys.Attributes&NTFSReparse != 0 && stream == "" {
		return &ntfsFile{f: f, info: info, r: io.NewSectionReader(eofReader{}, 0, 0)}, nil
	}
	rr, err := ntfs.OpenStream(f.ctx, e, ntfs.ATTR_TYPE_DATA, ntfs.WILDCARD_STREAM_ID, stream)
	if err != nil {
		if size == 0 {
			return &ntfsFile{f: f, info: info, r: io.NewSectionReader(eofReader{}, 0, 0)}, nil
		}
		return nil, fmt.Errorf("%w: ntfs: data of %s: %v", ErrBadImage, name, err)
	}
	return &ntfsFile{f: f, info: info, r: io.NewSectionReader(rr, 0, size)}, nil
}

type eofReader struct{}

func (eofReader) ReadAt([]byte, int64) (int, error) { return 0, io.EOF }

type ntfsFile struct {
	f    *ntfsFS
	info *ntfsFileInfo
	r    *io.SectionReader
}

func (n *ntfsFile) Stat() (fs.FileInfo, error) { return n.info, nil }
func (n *ntfsFile) Close() error               { return nil }

func (n *ntfsFile) Read(p []byte) (c int, err error) {
	n.f.mu.Lock()
	defer n.f.mu.Unlock()
	defer recoverTo(&err)
	return n.r.Read(p)
}

func (n *ntfsFile) ReadAt(p []byte, off int64) (c int, err error) {
	n.f.mu.Lock()
	defer n.f.mu.Unlock()
	defer recoverTo(&err)
	return n.r.ReadAt(p, off)
}

type ntfsDir struct{ info *ntfsFileInfo }

func (d *ntfsDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *ntfsDir) Close() error               { return nil }
func (d *ntfsDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.name, Err: errors.New("is a directory")}
}
