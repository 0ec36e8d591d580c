package vmdk

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Disk is an opened VMDK: the virtual disk as an io.ReaderAt. It is safe
// for concurrent use.
type Disk struct {
	desc    *Descriptor
	header  *Header // first sparse extent's header, nil for flat disks
	extents []span
	size    int64
	files   []*os.File
	parent  *Disk // base of a delta (snapshot) disk, nil otherwise
}

// MaxChain bounds the depth of a delta-disk chain.
const MaxChain = 64

type extentReader interface {
	io.ReaderAt
}

// span places one extent in the virtual disk.
type span struct {
	start, size int64 // bytes in the virtual disk
	desc        ExtentDesc
	r           extentReader
	sparse      *sparseExtent // nil unless sparse
}

// Open opens a VMDK by the path of its descriptor file or of a
// monolithic sparse / streamOptimized file. Extent files are resolved
// relative to the descriptor's directory.
//
// A delta (snapshot) disk whose descriptor names a parent
// (parentFileNameHint) opens its parent too, found next to it, and reads
// grains it does not hold from the parent, as ESX and qemu do.
func Open(path string) (*Disk, error) {
	return openDepth(path, 0)
}

func openDepth(path string, depth int) (*Disk, error) {
	if depth > MaxChain {
		return nil, withFile(unsupported(-1, "descriptor.parentFileNameHint", "delta chain deeper than %d", MaxChain), path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	d := &Disk{files: []*os.File{f}}
	if err := d.open(f, path); err != nil {
		d.Close()
		return nil, withFile(err, path)
	}
	if d.desc.ParentFileNameHint != "" || d.desc.ParentCID != NoParentCID {
		if err := d.openParent(path, depth); err != nil {
			d.Close()
			return nil, err
		}
	}
	return d, nil
}

// openParent opens the parent named by the descriptor (relative to the
// child, or by base name next to it when the hint is an absolute path of
// another host), checks its CID and links the sparse extents to it.
func (d *Disk) openParent(path string, depth int) error {
	hint := d.desc.ParentFileNameHint
	if hint == "" {
		return withFile(corrupt(-1, "descriptor.parentCID", "parentCID %08x without parentFileNameHint", d.desc.ParentCID), path)
	}
	dir := filepath.Dir(path)
	p := filepath.Join(dir, filepath.Base(filepath.FromSlash(hint)))
	if !filepath.IsAbs(hint) {
		if q, err := extentPath(dir, hint); err == nil {
			p = q
		}
	}
	parent, err := openDepth(p, depth+1)
	if err != nil {
		return fmt.Errorf("vmdk: parent of %s: %w", path, err)
	}
	d.parent = parent
	if parent.desc.CID != d.desc.ParentCID {
		return withFile(corrupt(-1, "descriptor.parentCID", "parentCID %08x does not match the parent's CID %08x (parent %s changed after the snapshot?)", d.desc.ParentCID, parent.desc.CID, p), path)
	}
	for i := range d.extents {
		sp := &d.extents[i]
		if sp.sparse == nil {
			return withFile(unsupported(-1, "descriptor.extent", "delta disk with a %s extent", sp.desc.Type), path)
		}
		sp.sparse.parent, sp.sparse.parentOff = parent, sp.start
	}
	return nil
}

// Parent returns the parent of a delta disk, or nil.
func (d *Disk) Parent() *Disk { return d.parent }

func (d *Disk) open(f *os.File, path string) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	var magic [4]byte
	if n, _ := f.ReadAt(magic[:], 0); n == 4 && (string(magic[:]) == "KDMV" || string(magic[:]) == "COWD") {
		return d.openSparseFile(f, st.Size(), filepath.Base(path))
	}
	if st.Size() > maxDescriptor {
		return corrupt(0, "descriptor", "%d bytes: neither a sparse extent nor a text descriptor", st.Size())
	}
	text, err := io.ReadAll(io.LimitReader(f, maxDescriptor))
	if err != nil {
		return err
	}
	desc, err := ParseDescriptor(text)
	if err != nil {
		return err
	}
	d.desc = desc
	dir := filepath.Dir(path)
	var start int64
	for i, ed := range desc.Extents {
		sp := span{start: start, size: int64(ed.Sectors) * SectorSize, desc: ed}
		switch ed.Type {
		case ExtentZero:
			sp.r = zeroReader{}
		case ExtentFlat, ExtentVMFS, ExtentSparse:
			name, err := extentPath(dir, ed.FileName)
			if err != nil {
				return err
			}
			ef, err := os.Open(name)
			if err != nil {
				return fmt.Errorf("vmdk: extent %d: %w", i, err)
			}
			d.files = append(d.files, ef)
			if ed.Type == ExtentSparse {
				est, err := ef.Stat()
				if err != nil {
					return err
				}
				se, _, err := openSparse(ef, est.Size())
				if err != nil {
					return withFile(err, name)
				}
				if se.size() < sp.size {
					return withFile(corrupt(12, "header.capacity", "extent holds %d sectors, descriptor says %d", se.h.Capacity, ed.Sectors), name)
				}
				if d.header == nil {
					d.header = se.h
				}
				sp.r, sp.sparse = se, se
			} else {
				sp.r = &flatReader{f: ef, base: int64(ed.Offset) * SectorSize}
			}
		default:
			return unsupported(-1, "descriptor.extent", "extent %d has type %s", i, ed.Type)
		}
		d.extents = append(d.extents, sp)
		start += sp.size
	}
	d.size = start
	return nil
}

func (d *Disk) openSparseFile(r io.ReaderAt, size int64, name string) error {
	se, text, err := openSparse(r, size)
	if err != nil {
		return err
	}
	d.header = se.h
	d.size = se.size()
	d.extents = []span{{start: 0, size: d.size, r: se, sparse: se,
		desc: ExtentDesc{Access: "RW", Sectors: se.h.Capacity, Type: ExtentSparse, FileName: name}}}
	if text != nil {
		// The embedded descriptor is informational: the header is authoritative.
		if desc, err := ParseDescriptor(text); err == nil {
			d.desc = desc
		}
	}
	if d.desc == nil {
		ct := "monolithicSparse"
		if se.h.Compressed() {
			ct = "streamOptimized"
		}
		d.desc = &Descriptor{Version: 1, ParentCID: NoParentCID, CreateType: ct,
			Extents: []ExtentDesc{d.extents[0].desc}, DDB: map[string]string{}, Other: map[string]string{}}
	}
	return nil
}

// extentPath resolves an extent file name inside dir, refusing absolute
// names and names that climb out of the descriptor's directory.
func extentPath(dir, name string) (string, error) {
	clean := filepath.Clean(filepath.FromSlash(name))
	if name == "" || filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return "", unsupported(-1, "descriptor.extent", "extent file %q is outside the descriptor's directory", name)
	}
	return filepath.Join(dir, clean), nil
}

// NewSparseReader opens a single hosted sparse extent (monolithicSparse or
// streamOptimized) held in r, of size bytes.
//
// A delta disk cannot be read this way (its parent is unknown): that is
// ErrUnsupported.
func NewSparseReader(r io.ReaderAt, size int64) (*Disk, error) {
	d := &Disk{}
	if err := d.openSparseFile(r, size, ""); err != nil {
		return nil, err
	}
	if d.desc.ParentFileNameHint != "" || d.desc.ParentCID != NoParentCID {
		return nil, unsupported(-1, "descriptor.parentCID", "delta disk with parent %q: use Open", d.desc.ParentFileNameHint)
	}
	return d, nil
}

// Size is the virtual disk size in bytes.
func (d *Disk) Size() int64 { return d.size }

// Descriptor returns the disk's descriptor (embedded, separate or
// synthesized from the header).
func (d *Disk) Descriptor() *Descriptor { return d.desc }

// Header returns the first sparse extent's header, or nil for flat disks.
func (d *Disk) Header() *Header { return d.header }

// Recovered lists the streamOptimized extents of this disk (not of its
// parents) whose footer was missing or unusable and whose grain index was
// rebuilt by scanning the stream (see Recovery); nil when there are none.
// A caller that must not restore an incomplete disk checks that every
// Recovery is Complete.
func (d *Disk) Recovered() []Recovery {
	var out []Recovery
	for i, sp := range d.extents {
		if sp.sparse != nil && sp.sparse.scan != nil {
			r := sp.sparse.scan.rec
			r.Extent = i
			r.KnownBytes = min(r.KnownBytes, sp.size)
			out = append(out, r)
		}
	}
	return out
}

// CreateType is the descriptor's createType, e.g. "streamOptimized".
func (d *Disk) CreateType() string { return d.desc.CreateType }

// ReadAt implements io.ReaderAt on the virtual disk.
func (d *Disk) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("vmdk: negative offset")
	}
	if off >= d.size {
		return 0, io.EOF
	}
	want := len(p)
	if int64(want) > d.size-off {
		p = p[:d.size-off]
	}
	done := 0
	for i := d.find(off); done < len(p) && i < len(d.extents); i++ {
		sp := &d.extents[i]
		pos := off + int64(done) - sp.start
		n := min(int64(len(p)-done), sp.size-pos)
		m, err := sp.r.ReadAt(p[done:done+int(n)], pos)
		done += m
		if err != nil {
			return done, err
		}
	}
	if done < want {
		return done, io.EOF
	}
	return done, nil
}

// find returns the index of the extent holding off.
func (d *Disk) find(off int64) int {
	lo, hi := 0, len(d.extents)
	for lo < hi {
		m := (lo + hi) / 2
		if d.extents[m].start+d.extents[m].size <= off {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// Allocated calls fn for every range of the virtual disk that may hold
// data, in increasing order: grains present in sparse extents and the
// whole of flat extents, of this disk and its parents. Unallocated and zero
// grains and ZERO extents are skipped. Backups use it to keep thin disks
// thin.
func (d *Disk) Allocated(fn func(off, n int64) error) error {
	if d.parent == nil {
		return d.LayerAllocated(fn)
	}
	var mine, theirs [][2]int64
	collect := func(dst *[][2]int64) func(off, n int64) error {
		return func(off, n int64) error { *dst = append(*dst, [2]int64{off, n}); return nil }
	}
	if err := d.LayerAllocated(collect(&mine)); err != nil {
		return err
	}
	if err := d.parent.Allocated(collect(&theirs)); err != nil {
		return err
	}
	return mergeRanges(mine, theirs, d.size, fn)
}

// mergeRanges calls fn for the union of two sorted range lists, clipped
// to size.
func mergeRanges(a, b [][2]int64, size int64, fn func(off, n int64) error) error {
	cur, end := int64(-1), int64(-1)
	for len(a) > 0 || len(b) > 0 {
		var r [2]int64
		if len(b) == 0 || len(a) > 0 && a[0][0] <= b[0][0] {
			r, a = a[0], a[1:]
		} else {
			r, b = b[0], b[1:]
		}
		off, e := r[0], min(r[0]+r[1], size)
		if off >= e {
			continue
		}
		if cur >= 0 && off <= end {
			end = max(end, e)
			continue
		}
		if cur >= 0 {
			if err := fn(cur, end-cur); err != nil {
				return err
			}
		}
		cur, end = off, e
	}
	if cur >= 0 {
		return fn(cur, end-cur)
	}
	return nil
}

// LayerAllocated is Allocated for this disk alone, without its parents:
// for a delta disk, the ranges written since the snapshot.
func (d *Disk) LayerAllocated(fn func(off, n int64) error) error {
	// Ranges that touch across extent boundaries are reported as one.
	cur, end := int64(-1), int64(-1)
	emit := func(off, n int64) error {
		if cur >= 0 && off == end {
			end += n
			return nil
		}
		if cur >= 0 {
			if err := fn(cur, end-cur); err != nil {
				return err
			}
		}
		cur, end = off, off+n
		return nil
	}
	for _, sp := range d.extents {
		switch {
		case sp.sparse != nil:
			err := sp.sparse.allocated(func(off, n int64) error {
				n = min(n, sp.size-off)
				if n <= 0 {
					return nil
				}
				return emit(sp.start+off, n)
			})
			if err != nil {
				return err
			}
		case sp.desc.Type == ExtentZero:
		default:
			if sp.size > 0 {
				if err := emit(sp.start, sp.size); err != nil {
					return err
				}
			}
		}
	}
	if cur >= 0 {
		return fn(cur, end-cur)
	}
	return nil
}

// Close closes the files Open opened.
func (d *Disk) Close() error {
	var errs []error
	for _, f := range d.files {
		errs = append(errs, f.Close())
	}
	d.files = nil
	if d.parent != nil {
		errs = append(errs, d.parent.Close())
		d.parent = nil
	}
	return errors.Join(errs...)
}

type zeroReader struct{}

func (zeroReader) ReadAt(p []byte, _ int64) (int, error) {
	clear(p)
	return len(p), nil
}

// flatReader reads a flat extent; bytes past the end of a (thin or
// truncated) flat file read as zeros, as qemu and ESX do.
type flatReader struct {
	f    io.ReaderAt
	base int64
}

func (r *flatReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := r.f.ReadAt(p, r.base+off)
	if err == io.EOF {
		clear(p[n:])
		return len(p), nil
	}
	return n, err
}
