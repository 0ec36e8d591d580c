package tcpwin

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// Classic pcap file format
// (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html).
const (
	pcapMagicMicro    = 0xa1b2c3d4 // microsecond timestamps
	pcapMagicNano     = 0xa1b23c4d // nanosecond timestamps
	pcapMagicModified = 0xa1b2cd34 // Kuznetsov's patched libpcap: 8 more bytes per record
	pcapFileHeaderLen = 24
	pcapRecordLen     = 16
	pcapModifiedExtra = 8

	// maxSnapLen caps the captured length of one frame (libpcap's
	// MAXIMUM_SNAPLEN), so a hostile length field cannot make us buffer
	// more than this.
	maxSnapLen = 262144
	// readBufSize is the read buffer; frames are returned as slices of it.
	readBufSize = 1 << 20
)

// capReader is the state shared by the binary capture readers: a large
// buffered reader whose buffer the returned Segment aliases, the byte offset
// and frame counter for errors, and a sticky terminal error.
type capReader struct {
	name    string
	br      *bufio.Reader
	off     int64 // offset of the next unread byte
	pending int   // bytes of the current record to discard before the next read
	frame   int
	err     error // sticky terminal error
	seg     Segment
	dec     frameDecoder
	be      bool // file (section) byte order
}

func (c *capReader) init(br *bufio.Reader, name string) {
	c.name = name
	c.br = br
}

// u16, u32 and u64 read integers in the file's byte order (a bool test
// instead of binary.ByteOrder's interface call on the hot path).
func (c *capReader) u16(b []byte) uint16 {
	if c.be {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (c *capReader) u32(b []byte) uint32 {
	if c.be {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (c *capReader) u64(b []byte) uint64 {
	if c.be {
		return binary.BigEndian.Uint64(b)
	}
	return binary.LittleEndian.Uint64(b)
}

// fail records a terminal error and returns it.
func (c *capReader) fail(frame int, off int64, err error) error {
	c.err = &InputError{Name: c.name, Frame: frame, Offset: off, Err: err}
	return c.err
}

// skipPending discards the rest of the previous record.
func (c *capReader) skipPending() error {
	if c.pending == 0 {
		return nil
	}
	n, err := c.br.Discard(c.pending)
	c.off += int64(n)
	c.pending -= n
	return err
}

// peek returns the next n bytes without consuming them. A short read at
// the very start returns io.EOF; a short read after some bytes returns
// ErrTruncated with what was available.
func (c *capReader) peek(n int) ([]byte, error) {
	b, err := c.br.Peek(n)
	if err == nil {
		return b, nil
	}
	if len(b) == 0 && errors.Is(err, io.EOF) {
		return nil, io.EOF
	}
	// ErrBufferFull: the buffer was sized to a known input length, so a
	// longer read runs past the end.
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, bufio.ErrBufferFull) {
		return b, fmt.Errorf("%w: need %d bytes, %d left", ErrTruncated, n, len(b))
	}
	return b, err
}

// emit decodes one frame; it returns the segment, nil/nil for non-TCP
// frames, or a per-frame InputError.
func (c *capReader) emit(link LinkType, data []byte, wireLen int, ts time.Time, recOff int64) (*Segment, error) {
	c.seg = Segment{Frame: c.frame, Time: ts}
	if wireLen < len(data) {
		wireLen = len(data)
	}
	ok, err := c.dec.decode(&c.seg, link, data, wireLen)
	if err != nil {
		if errors.Is(err, ErrLinkType) {
			return nil, c.fail(c.frame, recOff, err)
		}
		return nil, &InputError{Name: c.name, Frame: c.frame, Offset: recOff, Err: err}
	}
	if !ok {
		return nil, nil
	}
	return &c.seg, nil
}

// pcapReader reads classic pcap files.
type pcapReader struct {
	capReader
	nano     bool
	extra    int // per-record extra bytes (modified pcap)
	link     LinkType
	snapLen  int
	verMajor uint16
	verMinor uint16
}

// newPcapReader reads the file header.
func newPcapReader(br *bufio.Reader, name string) (*pcapReader, error) {
	p := &pcapReader{}
	p.init(br, name)
	h, err := p.peek(pcapFileHeaderLen)
	if err != nil {
		if err == io.EOF {
			err = fmt.Errorf("%w: empty pcap file header", ErrTruncated)
		}
		return nil, p.fail(0, 0, err)
	}
	switch {
	case binary.LittleEndian.Uint32(h) == pcapMagicMicro:
	case binary.LittleEndian.Uint32(h) == pcapMagicNano:
		p.nano = true
	case binary.LittleEndian.Uint32(h) == pcapMagicModified:
		p.extra = pcapModifiedExtra
	case binary.BigEndian.Uint32(h) == pcapMagicMicro:
		p.be = true
	case binary.BigEndian.Uint32(h) == pcapMagicNano:
		p.be, p.nano = true, true
	case binary.BigEndian.Uint32(h) == pcapMagicModified:
		p.be, p.extra = true, pcapModifiedExtra
	default:
		return nil, p.fail(0, 0, fmt.Errorf("%w: bad pcap magic %#08x", ErrFormat, binary.BigEndian.Uint32(h)))
	}
	p.dec.hostBE = p.be
	p.verMajor, p.verMinor = p.u16(h[4:]), p.u16(h[6:])
	p.snapLen = int(p.u32(h[16:]))
	// The link-layer header type is the low 16 bits; the upper bits carry
	// the FCS length (draft-ietf-opsawg-pcap section 4).
	p.link = LinkType(p.u32(h[20:]) & 0xffff)
	if !p.link.Supported() {
		return nil, p.fail(0, 20, fmt.Errorf("%w: %v", ErrLinkType, p.link))
	}
	p.br.Discard(pcapFileHeaderLen)
	p.off = pcapFileHeaderLen
	return p, nil
}

func (p *pcapReader) Format() string { return "pcap" }

// LinkType returns the file's link-layer header type.
func (p *pcapReader) LinkType() LinkType { return p.link }

// Next returns the next TCP segment.
func (p *pcapReader) Next() (*Segment, error) {
	if p.err != nil {
		return nil, p.err
	}
	for {
		if err := p.skipPending(); err != nil {
			return nil, p.fail(p.frame, p.off, fmt.Errorf("%w: %v", ErrTruncated, err))
		}
		recOff := p.off
		hl := pcapRecordLen + p.extra
		h, err := p.peek(hl)
		if err == io.EOF {
			p.err = io.EOF
			return nil, io.EOF
		}
		p.frame++
		if err != nil {
			return nil, p.fail(p.frame, recOff, fmt.Errorf("record header: %w", err))
		}
		sec, frac := p.u32(h[0:]), p.u32(h[4:])
		capLen, wireLen := p.u32(h[8:]), p.u32(h[12:])
		if capLen > maxSnapLen {
			return nil, p.fail(p.frame, recOff, fmt.Errorf("%w: captured length %d exceeds %d", ErrFormat, capLen, maxSnapLen))
		}
		n := hl + int(capLen)
		rec, err := p.peek(n)
		if err != nil {
			return nil, p.fail(p.frame, recOff, fmt.Errorf("frame data: %w", err))
		}
		p.pending = n
		if !p.nano {
			frac *= 1000
		}
		ts := time.Unix(int64(sec), int64(frac)).UTC()
		seg, err := p.emit(p.link, rec[hl:], int(wireLen), ts, recOff)
		if seg != nil || err != nil {
			return seg, err
		}
	}
}

// Close is a no-op for readers (Open's FileSource closes the file).
func (p *pcapReader) Close() error { return nil }
