package vmdk

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// MaxSparseWriteCapacity bounds WriteSparse, which keeps all grain tables
// in memory (4 bytes per grain: 64 MiB for 1 TiB with 64 KiB grains).
const MaxSparseWriteCapacity = 1 << 31 // sectors: 1 TiB

// WriteSparse writes the size bytes read from r as a monolithicSparse VMDK
// (uncompressed grains, redundant grain directory, embedded descriptor) in
// the layout qemu and VMware Workstation use. All-zero grains are not
// stored. It needs an io.WriterAt because the grain tables precede the
// grains; it returns the image size in bytes.
func WriteSparse(ctx context.Context, w io.WriterAt, r io.Reader, size int64, opts *WriteOptions) (int64, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return 0, err
	}
	if size < 0 {
		return 0, errors.New("vmdk: negative size")
	}
	capacity := uint64((size + SectorSize - 1) / SectorSize)
	if capacity > MaxSparseWriteCapacity {
		return 0, fmt.Errorf("vmdk: %d bytes exceeds the monolithicSparse writer's limit", size)
	}
	h := &Header{Version: 1, Flags: FlagValidNewline | FlagRedundantGT,
		Capacity: capacity, GrainSize: o.GrainSize, DescriptorOffset: 1, DescriptorSize: 20,
		NumGTEsPerGT: gtesPerGT}
	desc := newDescriptor("monolithicSparse", o, capacity)
	if uint64(len(desc)) > h.DescriptorSize*SectorSize {
		return 0, errors.New("vmdk: descriptor too long")
	}
	numGTs := h.NumGTs()
	gdSectors := (numGTs*4 + SectorSize - 1) / SectorSize
	gtSectors := uint64(gtesPerGT * 4 / SectorSize)
	h.RGDOffset = h.DescriptorOffset + h.DescriptorSize
	h.GDOffset = h.RGDOffset + gdSectors + numGTs*gtSectors
	end := h.GDOffset + gdSectors + numGTs*gtSectors
	h.OverHead = (end + o.GrainSize - 1) / o.GrainSize * o.GrainSize

	gts := make([]uint32, numGTs*gtesPerGT)
	gb := int64(o.GrainSize) * SectorSize
	src := &grainSource{ctx: ctx, r: r, size: size, buf: make([]byte, gb), prog: o.Progress}
	next := h.OverHead // sector of the next grain
	for g := 0; ; g++ {
		buf, zero, err := src.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
		if zero {
			continue
		}
		if next > 0xffffffff-o.GrainSize {
			return 0, errors.New("vmdk: image exceeds 2 TiB")
		}
		if _, err := w.WriteAt(buf, int64(next)*SectorSize); err != nil {
			return 0, err
		}
		gts[g] = uint32(next)
		next += o.GrainSize
	}
	// Metadata: header, descriptor, then both copies of directory and tables.
	meta := make([]byte, h.OverHead*SectorSize)
	copy(meta, h.Marshal())
	copy(meta[SectorSize:], desc)
	for _, gdOff := range []uint64{h.RGDOffset, h.GDOffset} {
		gd := make([]uint32, numGTs)
		for i := range gd {
			gd[i] = uint32(gdOff + gdSectors + uint64(i)*gtSectors)
		}
		copy(meta[gdOff*SectorSize:], u32s(gd))
		copy(meta[(gdOff+gdSectors)*SectorSize:], u32s(gts))
	}
	if _, err := w.WriteAt(meta, 0); err != nil {
		return 0, err
	}
	return int64(next) * SectorSize, nil
}
