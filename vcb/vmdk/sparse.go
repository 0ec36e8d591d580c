package vmdk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/zlib"
	"io"
	"sync"
)

// Limits on how much of a sparse extent is cached in memory.
const (
	maxGDEntries  = 1 << 24  // 64 MiB of grain directory
	gtCacheBytes  = 16 << 20 // grain tables kept in memory
	grainCacheLen = 4        // decompressed grains kept in memory
)

// Marker types of streamOptimized images.
const (
	MarkerEOS    = 0
	MarkerGT     = 1
	MarkerGD     = 2
	MarkerFooter = 3
)

// sparseExtent reads a hosted sparse extent (monolithicSparse,
// streamOptimized, twoGbMaxExtentSparse parts).
type sparseExtent struct {
	r        io.ReaderAt
	fileSize int64
	h        *Header
	gd       []uint32
	gtBytes  int64
	// scan is the grain index rebuilt from markers when a streamOptimized
	// footer was unusable; nil otherwise (gd is then used).
	scan *scanIndex
	// parent supplies unallocated grains of a delta disk; parentOff is
	// this extent's start in the virtual disk.
	parent    io.ReaderAt
	parentOff int64

	mu            sync.Mutex
	gts           map[uint32][]uint32
	gtBytesCached int64
	grains        [grainCacheLen]cachedGrain
	next          int
}

type cachedGrain struct {
	index int64 // grain number; -1 when empty
	data  []byte
}

// openSparse validates the header (and footer), reads the grain directory
// and returns the extent. fileSize bounds every offset.
func openSparse(r io.ReaderAt, fileSize int64) (*sparseExtent, []byte, error) {
	if fileSize < SectorSize {
		return nil, nil, corrupt(0, "header", "file of %d bytes is shorter than a header", fileSize)
	}
	buf := make([]byte, SectorSize)
	if _, err := readFullAt(r, buf, 0); err != nil {
		return nil, nil, err
	}
	h, err := ParseHeader(buf)
	if err != nil {
		return nil, nil, err
	}
	var desc []byte
	if h.DescriptorOffset > 0 && h.DescriptorSize > 0 {
		off, n := int64(h.DescriptorOffset)*SectorSize, int64(h.DescriptorSize)*SectorSize
		if h.DescriptorOffset > uint64(fileSize) || off+n > fileSize {
			return nil, nil, corrupt(28, "header.descriptorOffset", "descriptor at sector %d (+%d) beyond the file end", h.DescriptorOffset, h.DescriptorSize)
		}
		desc = make([]byte, n)
		if _, err := readFullAt(r, desc, off); err != nil {
			return nil, nil, err
		}
	}
	e := &sparseExtent{r: r, fileSize: fileSize, h: h, gts: map[uint32][]uint32{}}
	for i := range e.grains {
		e.grains[i].index = -1
	}
	e.gtBytes = int64(h.NumGTEsPerGT) * 4
	if h.GDOffset != GDAtEnd {
		if err := e.loadGD(56, "header.gdOffset"); err != nil {
			return nil, nil, err
		}
		return e, desc, nil
	}
	footer, ferr := readFooter(r, fileSize)
	if ferr == nil && (footer.Capacity != h.Capacity || footer.GrainSize != h.GrainSize || footer.NumGTEsPerGT != h.NumGTEsPerGT || footer.Flags != h.Flags) {
		ferr = corrupt(fileSize-2*SectorSize, "footer", "footer (capacity %d, grain %d, %d GTEs, flags %#x) contradicts the header (%d, %d, %d, %#x)",
			footer.Capacity, footer.GrainSize, footer.NumGTEsPerGT, footer.Flags, h.Capacity, h.GrainSize, h.NumGTEsPerGT, h.Flags)
	}
	if ferr == nil {
		e.h = footer
		e.gtBytes = int64(footer.NumGTEsPerGT) * 4
		ferr = e.loadGD(fileSize-2*SectorSize+56, "footer.gdOffset")
	}
	if ferr == nil {
		return e, desc, nil
	}
	if !h.Compressed() || !h.Markers() {
		return nil, nil, ferr
	}
	// No usable footer: rebuild the grain index from the stream's markers.
	e.h, e.gd, e.gtBytes = h, nil, int64(h.NumGTEsPerGT)*4
	if e.scan, err = scanStream(r, fileSize, h, ferr); err != nil {
		return nil, nil, err
	}
	return e, desc, nil
}

// loadGD reads and checks the grain directory e.h.GDOffset points to;
// field names the offset's origin in errors.
func (e *sparseExtent) loadGD(fieldOff int64, field string) error {
	h, fileSize := e.h, e.fileSize
	n := h.NumGTs()
	if n > maxGDEntries {
		return unsupported(12, "header.capacity", "%d grain tables exceed the limit of %d", n, maxGDEntries)
	}
	if n == 0 {
		return nil
	}
	gdOff := int64(h.GDOffset) * SectorSize
	if h.GDOffset == 0 || h.GDOffset > uint64(fileSize) || gdOff+int64(n)*4 > fileSize {
		return corrupt(fieldOff, field, "grain directory at sector %d with %d entries outside the file (%d bytes)", h.GDOffset, n, fileSize)
	}
	raw := make([]byte, n*4)
	if _, err := readFullAt(e.r, raw, gdOff); err != nil {
		return err
	}
	e.gd = make([]uint32, n)
	for i := range e.gd {
		e.gd[i] = binary.LittleEndian.Uint32(raw[i*4:])
		if g := int64(e.gd[i]); g != 0 && g*SectorSize+e.gtBytes > fileSize {
			return corrupt(gdOff+int64(i)*4, "grainDirectory", "entry %d points to sector %d beyond the file end", i, g)
		}
	}
	return nil
}

// readFooter reads the footer of a streamOptimized image: footer marker,
// footer header and end-of-stream marker in the last three sectors.
func readFooter(r io.ReaderAt, fileSize int64) (*Header, error) {
	if fileSize < 4*SectorSize {
		return nil, corrupt(56, "header.gdOffset", "grain directory at end but the file is too short for a footer")
	}
	b := make([]byte, 3*SectorSize)
	off := fileSize - int64(len(b))
	if _, err := readFullAt(r, b, off); err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	if le.Uint32(b[8:]) != 0 || le.Uint32(b[12:]) != MarkerFooter {
		return nil, corrupt(off, "footer.marker", "no footer marker before the footer")
	}
	if le.Uint64(b[2*SectorSize:]) != 0 || le.Uint32(b[2*SectorSize+8:]) != 0 || le.Uint32(b[2*SectorSize+12:]) != MarkerEOS {
		return nil, corrupt(off+2*SectorSize, "footer.eos", "no end-of-stream marker after the footer")
	}
	h, err := ParseHeader(b[SectorSize : 2*SectorSize])
	if err != nil {
		var fe *FormatError
		if errors.As(err, &fe) {
			fe.Offset = off + SectorSize
			fe.Field = "footer" + fe.Field[len("header"):]
		}
		return nil, err
	}
	if h.GDOffset == GDAtEnd {
		return nil, corrupt(off+SectorSize+56, "footer.gdOffset", "footer does not give a grain directory")
	}
	return h, nil
}

func (e *sparseExtent) size() int64 { return int64(e.h.Capacity) * SectorSize }

// gte returns grain table entry number g (grain index in the extent).
func (e *sparseExtent) gte(g int64) (uint32, error) {
	if e.scan != nil {
		return e.scan.lookup(g, e.h.GrainBytes())
	}
	per := int64(e.h.NumGTEsPerGT)
	gdi := g / per
	if gdi >= int64(len(e.gd)) {
		return 0, nil
	}
	sec := e.gd[gdi]
	if sec == 0 {
		return 0, nil
	}
	e.mu.Lock()
	gt, ok := e.gts[sec]
	e.mu.Unlock()
	if !ok {
		raw := make([]byte, e.gtBytes)
		if _, err := readFullAt(e.r, raw, int64(sec)*SectorSize); err != nil {
			return 0, err
		}
		gt = make([]uint32, per)
		for i := range gt {
			gt[i] = binary.LittleEndian.Uint32(raw[i*4:])
		}
		e.mu.Lock()
		if e.gtBytesCached+e.gtBytes > gtCacheBytes {
			clear(e.gts)
			e.gtBytesCached = 0
		}
		e.gts[sec] = gt
		e.gtBytesCached += e.gtBytes
		e.mu.Unlock()
	}
	return gt[g%per], nil
}

// grainState classifies a grain table entry.
func (e *sparseExtent) isZero(gte uint32) bool {
	return gte == 0 || (gte == 1 && e.h.Flags&FlagZeroedGrainGTE != 0)
}

// ReadAt reads from the virtual extent; bytes past the capacity are not
// requested by Disk.
func (e *sparseExtent) ReadAt(p []byte, off int64) (int, error) {
	gb := e.h.GrainBytes()
	done := 0
	for done < len(p) {
		pos := off + int64(done)
		g, within := pos/gb, pos%gb
		n := min(int64(len(p)-done), gb-within)
		dst := p[done : done+int(n)]
		gte, err := e.gte(g)
		if err != nil {
			return done, err
		}
		switch {
		case gte == 0 && e.parent != nil:
			m, err := e.parent.ReadAt(dst, e.parentOff+pos)
			if err == io.EOF { // parent smaller than the child
				clear(dst[m:])
				err = nil
			}
			if err != nil {
				return done, err
			}
		case e.isZero(gte):
			clear(dst)
		case e.h.Compressed():
			data, err := e.grain(g, gte)
			if err != nil {
				return done, err
			}
			copy(dst, data[within:])
		default:
			start := int64(gte) * SectorSize
			if start >= e.fileSize {
				return done, truncated(-1, "grainTable", "grain %d at sector %d beyond the file end (truncated file?)", g, gte)
			}
			m, err := e.r.ReadAt(dst, start+within)
			if err == io.EOF { // a short last grain reads as zeros
				clear(dst[m:])
				err = nil
			}
			if err != nil {
				return done, err
			}
		}
		done += int(n)
	}
	return done, nil
}

// grain returns the decompressed grain g stored at sector gte.
func (e *sparseExtent) grain(g int64, gte uint32) ([]byte, error) {
	e.mu.Lock()
	for _, c := range e.grains {
		if c.index == g {
			e.mu.Unlock()
			return c.data, nil
		}
	}
	e.mu.Unlock()
	data, err := e.inflate(g, gte)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.grains[e.next] = cachedGrain{index: g, data: data}
	e.next = (e.next + 1) % grainCacheLen
	e.mu.Unlock()
	return data, nil
}

func (e *sparseExtent) inflate(g int64, gte uint32) ([]byte, error) {
	gb := e.h.GrainBytes()
	start := int64(gte) * SectorSize
	if start >= e.fileSize {
		return nil, truncated(-1, "grainTable", "grain %d at sector %d beyond the file end (truncated file?)", g, gte)
	}
	maxComp := 2*gb + 1024 // deflate never expands a grain this much
	var comp []byte
	if e.h.Markers() {
		var m [12]byte
		if _, err := readFullAt(e.r, m[:], start); err != nil {
			return nil, err
		}
		lba := binary.LittleEndian.Uint64(m[:])
		size := int64(binary.LittleEndian.Uint32(m[8:]))
		if lba != uint64(g)*e.h.GrainSize {
			return nil, corrupt(start, "grainMarker.lba", "grain %d marker says sector %d, want %d", g, lba, uint64(g)*e.h.GrainSize)
		}
		if size == 0 || size > maxComp {
			return nil, corrupt(start, "grainMarker.size", "compressed size %d out of range", size)
		}
		if start+12+size > e.fileSize {
			return nil, truncated(start, "grainMarker.size", "grain %d of %d compressed bytes ends beyond the file end (truncated file?)", g, size)
		}
		comp = make([]byte, size)
		if _, err := readFullAt(e.r, comp, start+12); err != nil {
			return nil, err
		}
	} else {
		comp = make([]byte, min(maxComp, e.fileSize-start))
		n, err := e.r.ReadAt(comp, start)
		if err != nil && err != io.EOF {
			return nil, err
		}
		comp = comp[:n]
	}
	out := make([]byte, gb)
	n, err := inflateInto(out, comp)
	last := (g+1)*gb >= e.size()
	if err == io.ErrUnexpectedEOF && last {
		err = nil // a short last grain is zero-padded
	}
	if err != nil {
		return nil, corrupt(start, "grain", "grain %d: inflate after %d bytes: %v", g, n, err)
	}
	return out, nil
}

// Decompressors are reused: each holds a 32 KiB window and tables that
// would otherwise be allocated per grain.
var zlibPool, flatePool sync.Pool

// inflateInto decompresses comp (zlib, or raw deflate as some writers
// emit) into out and returns the bytes produced, like io.ReadFull.
func inflateInto(out, comp []byte) (int, error) {
	br := bytes.NewReader(comp)
	if z, ok := zlibPool.Get().(io.ReadCloser); ok {
		if z.(zlib.Resetter).Reset(br, nil) == nil {
			defer zlibPool.Put(z)
			return io.ReadFull(z, out)
		}
		zlibPool.Put(z)
	} else if z, err := zlib.NewReader(br); err == nil {
		defer zlibPool.Put(z)
		return io.ReadFull(z, out)
	}
	br.Reset(comp)
	f, ok := flatePool.Get().(io.ReadCloser)
	if ok {
		f.(flate.Resetter).Reset(br, nil)
	} else {
		f = flate.NewReader(br)
	}
	defer flatePool.Put(f)
	return io.ReadFull(f, out)
}

// allocated calls fn for each run of allocated (non-zero) grains, in bytes
// relative to the extent.
func (e *sparseExtent) allocated(fn func(off, n int64) error) error {
	gb := e.h.GrainBytes()
	if e.scan != nil {
		return e.scan.allocated(gb, e.size(), fn)
	}
	total := (e.size() + gb - 1) / gb
	runStart, runLen := int64(-1), int64(0)
	flush := func() error {
		if runLen == 0 {
			return nil
		}
		off, n := runStart*gb, runLen*gb
		n = min(n, e.size()-off)
		runStart, runLen = -1, 0
		return fn(off, n)
	}
	per := int64(e.h.NumGTEsPerGT)
	for g := int64(0); g < total; g++ {
		if g%per == 0 && (g/per >= int64(len(e.gd)) || e.gd[g/per] == 0) {
			if err := flush(); err != nil {
				return err
			}
			g += per - 1
			continue
		}
		gte, err := e.gte(g)
		if err != nil {
			return err
		}
		if e.isZero(gte) {
			if err := flush(); err != nil {
				return err
			}
			continue
		}
		if runLen == 0 {
			runStart = g
		}
		runLen++
	}
	return flush()
}

// readFullAt reads len(b) bytes at off; a short file is ErrCorrupt.
func readFullAt(r io.ReaderAt, b []byte, off int64) (int, error) {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return n, nil
	}
	if err == nil || err == io.EOF {
		return n, truncated(off, "file", "short read: %d of %d bytes (truncated file?)", n, len(b))
	}
	return n, err
}
