package vmdk

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path"
	"runtime"
	"sync"

	"github.com/klauspost/compress/zlib"
)

// WriteOptions configure the writers. A nil *WriteOptions means defaults.
type WriteOptions struct {
	// GrainSize in sectors, a power of two; default 128 (64 KiB).
	GrainSize uint64
	// Level is the zlib compression level for streamOptimized; 0 means
	// zlib.DefaultCompression (what qemu and VMware use).
	Level int
	// AdapterType for the descriptor's ddb.adapterType; default "lsilogic".
	AdapterType string
	// FileName is the extent file name recorded in the descriptor; default
	// "disk.vmdk".
	FileName string
	// Progress, if set, is called after each grain with the bytes of the
	// source consumed so far.
	Progress func(done int64)
}

func (o *WriteOptions) withDefaults() (WriteOptions, error) {
	var v WriteOptions
	if o != nil {
		v = *o
	}
	if v.GrainSize == 0 {
		v.GrainSize = 128
	}
	if v.GrainSize > MaxGrainSectors || v.GrainSize&(v.GrainSize-1) != 0 {
		return v, fmt.Errorf("vmdk: grain size %d sectors: want a power of two <= %d", v.GrainSize, MaxGrainSectors)
	}
	if v.Level == 0 {
		v.Level = zlib.DefaultCompression
	}
	if v.AdapterType == "" {
		v.AdapterType = "lsilogic"
	}
	if v.FileName == "" {
		v.FileName = "disk.vmdk"
	}
	return v, nil
}

const gtesPerGT = 512

func newDescriptor(createType string, o WriteOptions, capacity uint64) []byte {
	cyl := min(capacity/(16*63), 16383)
	d := &Descriptor{Version: 1, CID: rand.Uint32(), ParentCID: NoParentCID, CreateType: createType,
		Extents: []ExtentDesc{{Access: "RW", Sectors: capacity, Type: ExtentSparse, FileName: path.Base(o.FileName)}},
		DDB: map[string]string{
			"ddb.virtualHWVersion":   "4",
			"ddb.adapterType":        o.AdapterType,
			"ddb.geometry.cylinders": fmt.Sprint(cyl),
			"ddb.geometry.heads":     "16",
			"ddb.geometry.sectors":   "63",
		}}
	return d.Marshal()
}

// grainSource reads the source sequentially one grain at a time.
type grainSource struct {
	ctx  context.Context
	r    io.Reader
	size int64
	pos  int64
	buf  []byte
	prog func(int64)
}

// next returns the next grain (zero-padded at the end), whether it is all
// zeros, and io.EOF after the last grain.
func (s *grainSource) next() ([]byte, bool, error) {
	if s.pos >= s.size {
		return nil, false, io.EOF
	}
	if err := s.ctx.Err(); err != nil {
		return nil, false, err
	}
	n := min(int64(len(s.buf)), s.size-s.pos)
	if _, err := io.ReadFull(s.r, s.buf[:n]); err != nil {
		return nil, false, fmt.Errorf("vmdk: reading source at %d: %w", s.pos, err)
	}
	clear(s.buf[n:])
	s.pos += n
	if s.prog != nil {
		s.prog(s.pos)
	}
	return s.buf, isZero(s.buf), nil
}

func isZero(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b) != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// grainSlot holds one grain of a batch and its compressed form (with the
// 12-byte grain marker in front).
type grainSlot struct {
	raw  []byte
	zero bool
	out  bytes.Buffer
	err  error
}

func (sl *grainSlot) compress(zw *zlib.Writer, lba uint64) {
	if sl.zero {
		return
	}
	sl.out.Reset()
	sl.out.Write(make([]byte, 12))
	zw.Reset(&sl.out)
	zw.Write(sl.raw)
	if sl.err = zw.Close(); sl.err != nil {
		return
	}
	b := sl.out.Bytes()
	binary.LittleEndian.PutUint64(b, lba)
	binary.LittleEndian.PutUint32(b[8:], uint32(len(b)-12))
}

// fill reads up to len(slots) grains into the slots and returns how many.
func (s *grainSource) fill(slots []grainSlot) (int, error) {
	for i := range slots {
		if s.pos >= s.size {
			return i, nil
		}
		if err := s.ctx.Err(); err != nil {
			return i, err
		}
		buf := slots[i].raw
		n := min(int64(len(buf)), s.size-s.pos)
		if _, err := io.ReadFull(s.r, buf[:n]); err != nil {
			return i, fmt.Errorf("vmdk: reading source at %d: %w", s.pos, err)
		}
		clear(buf[n:])
		s.pos += n
		slots[i].zero = isZero(buf)
		if s.prog != nil {
			s.prog(s.pos)
		}
	}
	return len(slots), nil
}

// countingWriter tracks the output position in bytes.
type countingWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}

// pad writes zeros up to the next sector boundary.
func (c *countingWriter) pad() {
	if r := c.n % SectorSize; r != 0 {
		c.Write(make([]byte, SectorSize-r))
	}
}

func (c *countingWriter) sector() uint64 { return uint64(c.n / SectorSize) }

func marker(val uint64, typ uint32) []byte {
	b := make([]byte, SectorSize)
	binary.LittleEndian.PutUint64(b, val)
	binary.LittleEndian.PutUint32(b[12:], typ)
	return b
}

// WriteStreamOptimized writes the size bytes read from r as a
// streamOptimized VMDK (compressed grains with markers, grain directory in
// the footer) to w, the format NFC exports and `import.vmdk` expects. All-
// zero grains are skipped. It returns the number of bytes written.
func WriteStreamOptimized(ctx context.Context, w io.Writer, r io.Reader, size int64, opts *WriteOptions) (int64, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return 0, err
	}
	if size < 0 {
		return 0, errors.New("vmdk: negative size")
	}
	capacity := uint64((size + SectorSize - 1) / SectorSize)
	if capacity > MaxCapacity {
		return 0, fmt.Errorf("vmdk: %d bytes exceeds the maximum capacity", size)
	}
	desc := newDescriptor("streamOptimized", o, capacity)
	descSectors := uint64((len(desc) + SectorSize - 1) / SectorSize)
	h := &Header{Version: 3, Flags: FlagValidNewline | FlagCompressed | FlagMarkers,
		Capacity: capacity, GrainSize: o.GrainSize, DescriptorOffset: 1, DescriptorSize: descSectors,
		NumGTEsPerGT: gtesPerGT, GDOffset: GDAtEnd, CompressAlgorithm: CompressDeflate}
	h.OverHead = (1 + descSectors + o.GrainSize - 1) / o.GrainSize * o.GrainSize
	cw := &countingWriter{w: w}
	cw.Write(h.Marshal())
	cw.Write(desc)
	cw.Write(make([]byte, int64(h.OverHead)*SectorSize-cw.n))

	gb := int64(o.GrainSize) * SectorSize
	src := &grainSource{ctx: ctx, r: r, size: size, prog: o.Progress}
	gd := make([]uint32, h.NumGTs())
	gt := make([]uint32, gtesPerGT)
	gtUsed := false
	flushGT := func(idx int64) {
		if !gtUsed {
			return
		}
		cw.Write(marker(gtesPerGT*4/SectorSize, MarkerGT))
		gd[idx] = uint32(cw.sector())
		cw.Write(u32s(gt))
		clear(gt)
		gtUsed = false
	}
	// Grains are read in batches and compressed in parallel, one zlib
	// writer per worker, then written in order.
	workers := max(1, runtime.GOMAXPROCS(0))
	zws := make([]*zlib.Writer, workers)
	for i := range zws {
		if zws[i], err = zlib.NewWriterLevel(io.Discard, o.Level); err != nil {
			return 0, err
		}
	}
	slots := make([]grainSlot, 8*workers)
	for i := range slots {
		slots[i].raw = make([]byte, gb)
	}
	g := int64(0)
	for {
		n, err := src.fill(slots)
		if err != nil {
			return cw.n, err
		}
		if n == 0 {
			break
		}
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += workers {
					slots[i].compress(zws[w], uint64(g+int64(i))*o.GrainSize)
				}
			}()
		}
		wg.Wait()
		for i := range n {
			gi := g + int64(i)
			if gi > 0 && gi%gtesPerGT == 0 {
				flushGT(gi/gtesPerGT - 1)
			}
			sl := &slots[i]
			if sl.zero {
				continue
			}
			if sl.err != nil {
				return cw.n, sl.err
			}
			sec := cw.sector()
			if sec > 0xffffffff {
				return cw.n, errors.New("vmdk: image exceeds 2 TiB of compressed data")
			}
			gt[gi%gtesPerGT] = uint32(sec)
			gtUsed = true
			cw.Write(sl.out.Bytes())
			cw.pad()
		}
		g += int64(n)
	}
	if g > 0 {
		flushGT((g - 1) / gtesPerGT)
	}
	cw.Write(marker(uint64((len(gd)*4+SectorSize-1)/SectorSize), MarkerGD))
	footer := *h
	footer.GDOffset = cw.sector()
	cw.Write(u32s(gd))
	cw.pad()
	cw.Write(marker(1, MarkerFooter))
	cw.Write(footer.Marshal())
	cw.Write(marker(0, MarkerEOS))
	return cw.n, cw.err
}

func u32s(v []uint32) []byte {
	b := make([]byte, len(v)*4)
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[i*4:], x)
	}
	return b
}
