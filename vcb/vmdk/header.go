package vmdk

import (
	"encoding/binary"
	"math/bits"
)

// SectorSize is the VMDK sector size in bytes; all offsets in headers,
// grain directories and descriptors count these sectors.
const SectorSize = 512

// Magic is the first four bytes of a hosted sparse extent ("KDMV" on disk).
const Magic = 0x564d444b

// cowdMagic is the ESX 2.x sparse extent ("COWD"), not supported.
const cowdMagic = 0x44574f43

// GDAtEnd in Header.GDOffset means the grain directory location is in the
// footer at the end of a streamOptimized file.
const GDAtEnd = ^uint64(0)

// Header flags.
const (
	FlagValidNewline   = 1 << 0  // newline-detection characters are valid
	FlagRedundantGT    = 1 << 1  // a redundant grain directory exists
	FlagZeroedGrainGTE = 1 << 2  // grain table entry 1 means a zero grain
	FlagCompressed     = 1 << 16 // grains are compressed
	FlagMarkers        = 1 << 17 // stream markers are present
)

// Compression algorithms (Header.CompressAlgorithm).
const (
	CompressNone    = 0
	CompressDeflate = 1
)

// Limits applied to header fields so that a hostile image can never make
// the reader allocate more than a few megabytes per structure.
const (
	MaxGrainSectors = 2048    // 1 MiB grains (VMware and qemu use 128)
	MaxGTEsPerGT    = 1 << 16 // entries per grain table (standard: 512)
	MaxCapacity     = 1 << 41 // sectors: 1 PiB
	maxDescriptor   = 1 << 20 // bytes of embedded descriptor
)

// Header is the 512-byte hosted sparse extent header (also used as the
// footer of streamOptimized images).
type Header struct {
	Version           uint32
	Flags             uint32
	Capacity          uint64 // virtual size in sectors
	GrainSize         uint64 // sectors per grain
	DescriptorOffset  uint64 // sectors
	DescriptorSize    uint64 // sectors
	NumGTEsPerGT      uint32
	RGDOffset         uint64 // redundant grain directory, sectors
	GDOffset          uint64 // grain directory, sectors (GDAtEnd: see footer)
	OverHead          uint64 // sectors before the first grain
	UncleanShutdown   bool
	CompressAlgorithm uint16
}

// ParseHeader decodes and validates a sparse extent header from the first
// 512 bytes of b. It checks the magic, version, grain size and table sizes
// but not offsets against the file size (Open does that).
func ParseHeader(b []byte) (*Header, error) {
	if len(b) < SectorSize {
		return nil, corrupt(0, "header", "short header: %d bytes", len(b))
	}
	le := binary.LittleEndian
	switch m := le.Uint32(b[0:]); m {
	case Magic:
	case cowdMagic:
		return nil, unsupported(0, "header.magic", "ESX COWD sparse extents are not supported")
	default:
		return nil, corrupt(0, "header.magic", "bad magic %#08x, want KDMV", m)
	}
	h := &Header{
		Version:           le.Uint32(b[4:]),
		Flags:             le.Uint32(b[8:]),
		Capacity:          le.Uint64(b[12:]),
		GrainSize:         le.Uint64(b[20:]),
		DescriptorOffset:  le.Uint64(b[28:]),
		DescriptorSize:    le.Uint64(b[36:]),
		NumGTEsPerGT:      le.Uint32(b[44:]),
		RGDOffset:         le.Uint64(b[48:]),
		GDOffset:          le.Uint64(b[56:]),
		OverHead:          le.Uint64(b[64:]),
		UncleanShutdown:   b[72] != 0,
		CompressAlgorithm: le.Uint16(b[77:]),
	}
	if h.Version < 1 || h.Version > 3 {
		return nil, unsupported(4, "header.version", "version %d", h.Version)
	}
	if h.Flags&FlagValidNewline != 0 {
		if b[73] != '\n' || b[74] != ' ' || b[75] != '\r' || b[76] != '\n' {
			return nil, corrupt(73, "header.newline", "newline detection characters damaged (file transferred in text mode?)")
		}
	}
	if h.GrainSize == 0 || bits.OnesCount64(h.GrainSize) != 1 {
		return nil, corrupt(20, "header.grainSize", "%d sectors is not a power of two", h.GrainSize)
	}
	if h.GrainSize > MaxGrainSectors {
		return nil, unsupported(20, "header.grainSize", "%d sectors exceeds the limit of %d", h.GrainSize, MaxGrainSectors)
	}
	if h.NumGTEsPerGT == 0 || h.NumGTEsPerGT > MaxGTEsPerGT {
		return nil, corrupt(44, "header.numGTEsPerGT", "%d entries per grain table", h.NumGTEsPerGT)
	}
	if h.Capacity > MaxCapacity {
		return nil, unsupported(12, "header.capacity", "%d sectors exceeds the limit of %d", h.Capacity, uint64(MaxCapacity))
	}
	if h.Flags&FlagCompressed != 0 && h.CompressAlgorithm != CompressDeflate {
		return nil, unsupported(77, "header.compressAlgorithm", "algorithm %d", h.CompressAlgorithm)
	}
	if h.DescriptorSize > maxDescriptor/SectorSize {
		return nil, corrupt(36, "header.descriptorSize", "%d sectors", h.DescriptorSize)
	}
	return h, nil
}

// Compressed reports whether grains are compressed.
func (h *Header) Compressed() bool { return h.Flags&FlagCompressed != 0 }

// Markers reports whether compressed grains carry stream markers.
func (h *Header) Markers() bool { return h.Flags&FlagMarkers != 0 }

// GrainBytes is the grain size in bytes.
func (h *Header) GrainBytes() int64 { return int64(h.GrainSize) * SectorSize }

// NumGTs is the number of grain tables (grain directory entries) needed to
// cover Capacity.
func (h *Header) NumGTs() uint64 {
	cover := h.GrainSize * uint64(h.NumGTEsPerGT) // <= 2^11 * 2^16, no overflow
	return (h.Capacity + cover - 1) / cover
}

// Marshal encodes the header into a 512-byte sector.
func (h *Header) Marshal() []byte {
	b := make([]byte, SectorSize)
	le := binary.LittleEndian
	le.PutUint32(b[0:], Magic)
	le.PutUint32(b[4:], h.Version)
	le.PutUint32(b[8:], h.Flags)
	le.PutUint64(b[12:], h.Capacity)
	le.PutUint64(b[20:], h.GrainSize)
	le.PutUint64(b[28:], h.DescriptorOffset)
	le.PutUint64(b[36:], h.DescriptorSize)
	le.PutUint32(b[44:], h.NumGTEsPerGT)
	le.PutUint64(b[48:], h.RGDOffset)
	le.PutUint64(b[56:], h.GDOffset)
	le.PutUint64(b[64:], h.OverHead)
	if h.UncleanShutdown {
		b[72] = 1
	}
	b[73], b[74], b[75], b[76] = '\n', ' ', '\r', '\n'
	le.PutUint16(b[77:], h.CompressAlgorithm)
	return b
}
