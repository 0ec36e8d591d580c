package tcpwin

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"time"
)

// pcapng block types and option codes
// (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-03.html).
const (
	ngBlockHeaderLen = 8 // type, total length
	ngBlockMinLen    = 12
	ngByteOrderMagic = 0x1a2b3c4d
	ngSHBMinLen      = 28 // header + BOM + version + section length + trailer

	ngBlockIDB = 0x00000001 // Interface Description Block
	ngBlockOPB = 0x00000002 // obsolete Packet Block
	ngBlockSPB = 0x00000003 // Simple Packet Block
	ngBlockEPB = 0x00000006 // Enhanced Packet Block

	ngOptEnd      = 0
	ngOptTSResol  = 9  // if_tsresol
	ngOptTSOffset = 14 // if_tsoffset

	// maxInterfaces bounds the interface table against hostile files.
	maxInterfaces = 1 << 16
	// maxNgBlockLen bounds a block's total length field.
	maxNgBlockLen = 1 << 30
)

type ngInterface struct {
	link    LinkType
	snapLen int
	units   uint64 // timestamp units per second
	offset  int64  // seconds added to every timestamp
}

// pcapngReader reads pcapng files, with any number of sections and
// interfaces of different link types.
type pcapngReader struct {
	capReader
	ifaces []ngInterface
}

func newPcapngReader(br *bufio.Reader, name string) (*pcapngReader, error) {
	p := &pcapngReader{}
	p.init(br, name)
	// The first block must be a Section Header Block; read it eagerly so
	// that garbage is reported by Open.
	h, err := p.peek(ngBlockMinLen)
	if err != nil {
		if err == io.EOF {
			err = ErrTruncated
		}
		return nil, p.fail(0, 0, err)
	}
	if err := p.section(h); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *pcapngReader) Format() string { return "pcapng" }
func (p *pcapngReader) Close() error   { return nil }

// section starts a new section at the current offset; h holds at least the
// first 12 bytes of the SHB.
func (p *pcapngReader) section(h []byte) error {
	off := p.off
	switch binary.LittleEndian.Uint32(h[8:]) {
	case ngByteOrderMagic:
		p.be = false
	case 0x4d3c2b1a: // written big-endian
		p.be = true
	default:
		return p.fail(p.frame, off+8, fmt.Errorf("%w: bad pcapng byte-order magic %#08x", ErrFormat, binary.BigEndian.Uint32(h[8:])))
	}
	p.dec.hostBE = p.be
	l := p.u32(h[4:])
	if l < ngSHBMinLen || l%4 != 0 || l > maxNgBlockLen {
		return p.fail(p.frame, off+4, fmt.Errorf("%w: bad section header length %d", ErrFormat, l))
	}
	p.ifaces = p.ifaces[:0]
	p.pending = int(l)
	return nil
}

// options walks a block's options area and calls fn for each.
func (p *pcapngReader) options(b []byte, fn func(code uint16, val []byte)) {
	for len(b) >= 4 {
		code, l := p.u16(b), int(p.u16(b[2:]))
		if code == ngOptEnd {
			return
		}
		b = b[4:]
		if l > len(b) {
			return
		}
		fn(code, b[:l])
		pad := (l + 3) &^ 3
		if pad > len(b) {
			return
		}
		b = b[pad:]
	}
}

func (p *pcapngReader) interfaceBlock(body []byte, blockOff int64) error {
	if len(body) < 8 {
		return p.fail(p.frame, blockOff, fmt.Errorf("%w: interface description block too short", ErrFormat))
	}
	if len(p.ifaces) >= maxInterfaces {
		return p.fail(p.frame, blockOff, fmt.Errorf("%w: more than %d interfaces", ErrFormat, maxInterfaces))
	}
	ifc := ngInterface{link: LinkType(p.u16(body)), snapLen: int(p.u32(body[4:])), units: 1e6}
	p.options(body[8:], func(code uint16, val []byte) {
		switch code {
		case ngOptTSResol:
			if len(val) < 1 {
				return
			}
			v := val[0]
			if v&0x80 != 0 {
				if e := v & 0x7f; e < 64 {
					ifc.units = 1 << e
				}
			} else if v <= 19 {
				u := uint64(1)
				for range v {
					u *= 10
				}
				ifc.units = u
			}
		case ngOptTSOffset:
			if len(val) >= 8 {
				ifc.offset = int64(p.u64(val))
			}
		}
	})
	p.ifaces = append(p.ifaces, ifc)
	return nil
}

func (ifc *ngInterface) time(hi, lo uint32) time.Time {
	ts := uint64(hi)<<32 | uint64(lo)
	sec, rem := ts/ifc.units, ts%ifc.units
	h, l := bits.Mul64(rem, 1e9)
	nsec, _ := bits.Div64(h, l, ifc.units)
	return time.Unix(int64(sec)+ifc.offset, int64(nsec)).UTC()
}

// Next returns the next TCP segment.
func (p *pcapngReader) Next() (*Segment, error) {
	if p.err != nil {
		return nil, p.err
	}
	for {
		if err := p.skipPending(); err != nil {
			return nil, p.fail(p.frame, p.off, fmt.Errorf("%w: block ends early: %v", ErrTruncated, err))
		}
		blockOff := p.off
		h, err := p.peek(ngBlockMinLen)
		if err == io.EOF {
			p.err = io.EOF
			return nil, io.EOF
		}
		if err != nil {
			return nil, p.fail(p.frame+1, blockOff, fmt.Errorf("block header: %w", err))
		}
		typ := p.u32(h)
		if typ == pcapngBlockSHB {
			if err := p.section(h); err != nil {
				return nil, err
			}
			continue
		}
		l := p.u32(h[4:])
		if l < ngBlockMinLen || l%4 != 0 || l > maxNgBlockLen {
			return nil, p.fail(p.frame+1, blockOff+4, fmt.Errorf("%w: bad block length %d (type %#x)", ErrFormat, l, typ))
		}
		p.pending = int(l)
		switch typ {
		case ngBlockIDB:
			if l > readBufSize {
				return nil, p.fail(p.frame, blockOff, fmt.Errorf("%w: interface block of %d bytes", ErrFormat, l))
			}
			b, err := p.peek(int(l))
			if err != nil {
				return nil, p.fail(p.frame, blockOff, fmt.Errorf("interface block: %w", err))
			}
			if err := p.interfaceBlock(b[ngBlockHeaderLen:l-4], blockOff); err != nil {
				return nil, err
			}
		case ngBlockEPB, ngBlockOPB, ngBlockSPB:
			p.frame++
			seg, err := p.packet(typ, l, blockOff)
			if seg != nil || err != nil {
				return seg, err
			}
		}
	}
}

// packet decodes an EPB, OPB or SPB of total length l at blockOff.
func (p *pcapngReader) packet(typ, l uint32, blockOff int64) (*Segment, error) {
	var fixed int // bytes between the block header and the packet data
	switch typ {
	case ngBlockEPB, ngBlockOPB:
		fixed = 20
	case ngBlockSPB:
		fixed = 4
	}
	if int(l) < ngBlockMinLen+fixed {
		return nil, p.fail(p.frame, blockOff, fmt.Errorf("%w: packet block length %d too short", ErrFormat, l))
	}
	h, err := p.peek(ngBlockHeaderLen + fixed)
	if err != nil {
		return nil, p.fail(p.frame, blockOff, fmt.Errorf("packet block: %w", err))
	}
	b := h[ngBlockHeaderLen:]
	var ifID int
	var hi, lo, capLen, wireLen uint32
	switch typ {
	case ngBlockEPB:
		ifID = int(p.u32(b))
		hi, lo, capLen, wireLen = p.u32(b[4:]), p.u32(b[8:]), p.u32(b[12:]), p.u32(b[16:])
	case ngBlockOPB:
		ifID = int(p.u16(b))
		hi, lo, capLen, wireLen = p.u32(b[4:]), p.u32(b[8:]), p.u32(b[12:]), p.u32(b[16:])
	case ngBlockSPB:
		wireLen = p.u32(b)
		capLen = l - ngBlockMinLen - 4
		if capLen > wireLen {
			capLen = wireLen
		}
		if len(p.ifaces) > 0 && p.ifaces[0].snapLen > 0 && capLen > uint32(p.ifaces[0].snapLen) {
			capLen = uint32(p.ifaces[0].snapLen)
		}
	}
	if ifID >= len(p.ifaces) {
		return nil, p.fail(p.frame, blockOff, fmt.Errorf("%w: packet on interface %d, only %d described", ErrFormat, ifID, len(p.ifaces)))
	}
	if capLen > maxSnapLen {
		return nil, p.fail(p.frame, blockOff, fmt.Errorf("%w: captured length %d exceeds %d", ErrFormat, capLen, maxSnapLen))
	}
	if int(capLen) > int(l)-ngBlockMinLen-fixed {
		return nil, p.fail(p.frame, blockOff, fmt.Errorf("%w: captured length %d exceeds block length %d", ErrFormat, capLen, l))
	}
	start := ngBlockHeaderLen + fixed
	rec, err := p.peek(start + int(capLen))
	if err != nil {
		return nil, p.fail(p.frame, blockOff, fmt.Errorf("packet data: %w", err))
	}
	ifc := &p.ifaces[ifID]
	if !ifc.link.Supported() {
		return nil, &InputError{Name: p.name, Frame: p.frame, Offset: blockOff,
			Err: fmt.Errorf("%w: %w: %v on interface %d", ErrBadFrame, ErrLinkType, ifc.link, ifID)}
	}
	var ts time.Time
	if typ != ngBlockSPB {
		ts = ifc.time(hi, lo)
	}
	return p.emit(ifc.link, rec[start:], int(wireLen), ts, blockOff)
}
