package tcpwin

import (
	"encoding/binary"
	"errors"
	"strconv"
)

// OptionKind is a TCP option kind number (IANA "TCP Option Kind Numbers").
type OptionKind uint8

// TCP option kinds decoded by this package.
const (
	OptEOL           OptionKind = 0  // End of Option List, RFC 9293 section 3.2
	OptNOP           OptionKind = 1  // No-Operation, RFC 9293 section 3.2
	OptMSS           OptionKind = 2  // Maximum Segment Size, RFC 9293 section 3.2
	OptWindowScale   OptionKind = 3  // Window Scale, RFC 7323 section 2.2
	OptSACKPermitted OptionKind = 4  // SACK-Permitted, RFC 2018 section 2
	OptSACK          OptionKind = 5  // SACK blocks, RFC 2018 section 3
	OptTimestamps    OptionKind = 8  // Timestamps, RFC 7323 section 3.2
	OptMPTCP         OptionKind = 30 // Multipath TCP, RFC 8684 section 3 (kept raw)
	OptFastOpen      OptionKind = 34 // TCP Fast Open cookie, RFC 7413 section 4.1.1 (kept raw)
)

// Exact option lengths (kind and length bytes included).
const (
	lenMSS           = 4  // RFC 9293 section 3.2
	lenWindowScale   = 3  // RFC 7323 section 2.2
	lenSACKPermitted = 2  // RFC 2018 section 2
	lenTimestamps    = 10 // RFC 7323 section 3.2
	sackBlockLen     = 8  // RFC 2018 section 3: two 32-bit edges
	maxSACKBlocks    = 4  // 2+8*4 = 34 bytes, the most that fit in 40 option bytes
)

var optionNames = [...]string{
	OptEOL: "eol", OptNOP: "nop", OptMSS: "mss", OptWindowScale: "wscale",
	OptSACKPermitted: "sackOK", OptSACK: "sack", 6: "echo", 7: "echoreply",
	OptTimestamps: "timestamp", OptMPTCP: "mptcp", OptFastOpen: "tfo",
}

func (k OptionKind) String() string {
	if int(k) < len(optionNames) && optionNames[k] != "" {
		return optionNames[k]
	}
	return "kind" + strconv.Itoa(int(k))
}

// Sentinel causes of an *OptionError, for errors.Is.
var (
	// ErrOptionTruncated: the option's length byte, or the bytes its length
	// announces, run past the end of the options area.
	ErrOptionTruncated = errors.New("option truncated")
	// ErrOptionLength: the length byte is invalid for the kind (below 2, or
	// not the fixed length the kind's RFC requires).
	ErrOptionLength = errors.New("bad option length")
)

// OptionError reports a malformed TCP option.
type OptionError struct {
	Offset int        // byte offset of the option's kind byte in the options area
	Kind   OptionKind // the option kind
	Len    int        // the length byte, -1 when missing
	Err    error      // ErrOptionTruncated or ErrOptionLength
}

func (e *OptionError) Error() string {
	return "tcp option " + e.Kind.String() + " at offset " + strconv.Itoa(e.Offset) +
		" (length " + strconv.Itoa(e.Len) + "): " + e.Err.Error()
}

func (e *OptionError) Unwrap() error { return e.Err }

// Option is one decoded TCP option. Data aliases the options area passed to
// the iterator (no copy): it holds the bytes after the kind and length bytes.
type Option struct {
	Kind   OptionKind
	Offset int    // offset of the kind byte in the options area
	Data   []byte // option payload, without kind and length bytes
}

// MSS returns the value of an OptMSS option.
func (o Option) MSS() uint16 { return binary.BigEndian.Uint16(o.Data) }

// Shift returns the shift count of an OptWindowScale option, as sent
// (unclamped; see ClampShift).
func (o Option) Shift() uint8 { return o.Data[0] }

// Timestamps returns TSval and TSecr of an OptTimestamps option.
func (o Option) Timestamps() (tsval, tsecr uint32) {
	return binary.BigEndian.Uint32(o.Data), binary.BigEndian.Uint32(o.Data[4:])
}

// SACKBlocks returns the number of blocks in an OptSACK option.
func (o Option) SACKBlocks() int { return len(o.Data) / sackBlockLen }

// SACKBlock returns the left and right edge of block i of an OptSACK option.
func (o Option) SACKBlock(i int) (left, right uint32) {
	b := o.Data[i*sackBlockLen:]
	return binary.BigEndian.Uint32(b), binary.BigEndian.Uint32(b[4:])
}

// OptionIter walks a raw TCP options area without allocating. The zero
// value iterates over nothing; use Reset or Options to start.
//
//	it := tcpwin.Options(seg.Options)
//	for it.Next() {
//		o := it.Option()
//		...
//	}
//	if err := it.Err(); err != nil { ... }
type OptionIter struct {
	b   []byte
	off int
	cur Option
	err *OptionError
	eol bool
}

// Options returns an iterator over the raw options area b.
func Options(b []byte) OptionIter { return OptionIter{b: b} }

// Reset restarts the iterator on b.
func (it *OptionIter) Reset(b []byte) { *it = OptionIter{b: b} }

// Option returns the option found by the last successful Next.
func (it *OptionIter) Option() Option { return it.cur }

// Err returns the *OptionError that stopped the iteration, or nil. The
// options before the malformed one were returned by Next.
func (it *OptionIter) Err() error {
	if it.err == nil {
		return nil
	}
	return it.err
}

// Next advances to the next option. It returns false at the end of the area,
// after an EOL option (the rest is padding) or on a malformed option (see
// Err).
func (it *OptionIter) Next() bool {
	if it.eol || it.err != nil || it.off >= len(it.b) {
		return false
	}
	off := it.off
	kind := OptionKind(it.b[off])
	if kind == OptEOL || kind == OptNOP {
		it.cur = Option{Kind: kind, Offset: off}
		it.off++
		it.eol = kind == OptEOL
		return true
	}
	if off+1 >= len(it.b) {
		return it.fail(off, kind, -1, ErrOptionTruncated)
	}
	n := int(it.b[off+1])
	if !validLength(kind, n) {
		return it.fail(off, kind, n, ErrOptionLength)
	}
	if off+n > len(it.b) {
		return it.fail(off, kind, n, ErrOptionTruncated)
	}
	it.cur = Option{Kind: kind, Offset: off, Data: it.b[off+2 : off+n : off+n]}
	it.off += n
	return true
}

func (it *OptionIter) fail(off int, kind OptionKind, n int, err error) bool {
	// The error is allocated only on malformed input, never per packet in
	// the normal case.
	it.err = &OptionError{Offset: off, Kind: kind, Len: n, Err: err}
	return false
}

// validLength applies the per-kind length rules.
func validLength(kind OptionKind, n int) bool {
	switch kind {
	case OptMSS:
		return n == lenMSS
	case OptWindowScale:
		return n == lenWindowScale
	case OptSACKPermitted:
		return n == lenSACKPermitted
	case OptSACK:
		blocks := (n - 2) / sackBlockLen
		return n >= 2 && (n-2)%sackBlockLen == 0 && blocks >= 1 && blocks <= maxSACKBlocks
	case OptTimestamps:
		return n == lenTimestamps
	case OptMPTCP:
		return n >= 3 // RFC 8684 section 3: kind, length, subtype nibble
	default:
		return n >= 2 // kind and length bytes at least (RFC 9293 section 3.1)
	}
}

// OptionBits records which options an OptionSet holds.
type OptionBits uint16

// Bits of OptionSet.Present.
const (
	HasMSS OptionBits = 1 << iota
	HasWindowScale
	HasSACKPermitted
	HasSACK
	HasTimestamps
	HasMPTCP
	HasFastOpen
	HasUnknown
)

// OptionSet is the summary of an options area that window analysis needs.
// It holds no references to the packet buffer.
type OptionSet struct {
	Present    OptionBits
	MSS        uint16
	Shift      uint8 // window-scale shift as sent (unclamped)
	TSval      uint32
	TSecr      uint32
	SACKBlocks uint8 // blocks in the last SACK option
}

// Has reports whether all bits in b are present.
func (s OptionSet) Has(b OptionBits) bool { return s.Present&b == b }

// ParseOptions decodes the raw options area b into an OptionSet without
// allocating on valid input. On a malformed option it returns the options
// decoded before it together with an *OptionError.
func ParseOptions(b []byte) (OptionSet, error) {
	var s OptionSet
	switch {
	case len(b) == 0:
		return s, nil
	case len(b) == 12 && b[0] == 1 && b[1] == 1 && b[2] == byte(OptTimestamps) && b[3] == lenTimestamps:
		// Fast path: nop, nop, timestamps, the options of nearly every
		// non-SYN segment between Linux hosts.
		s.Present = HasTimestamps
		s.TSval = binary.BigEndian.Uint32(b[4:])
		s.TSecr = binary.BigEndian.Uint32(b[8:])
		return s, nil
	}
	// The same walk as OptionIter, inlined: ParseOptions runs on every
	// segment.
	for off := 0; off < len(b); {
		kind := OptionKind(b[off])
		if kind == OptEOL {
			break
		}
		if kind == OptNOP {
			off++
			continue
		}
		if off+1 >= len(b) {
			return s, &OptionError{Offset: off, Kind: kind, Len: -1, Err: ErrOptionTruncated}
		}
		n := int(b[off+1])
		if !validLength(kind, n) {
			return s, &OptionError{Offset: off, Kind: kind, Len: n, Err: ErrOptionLength}
		}
		if off+n > len(b) {
			return s, &OptionError{Offset: off, Kind: kind, Len: n, Err: ErrOptionTruncated}
		}
		d := b[off+2 : off+n]
		switch kind {
		case OptMSS:
			s.Present |= HasMSS
			s.MSS = binary.BigEndian.Uint16(d)
		case OptWindowScale:
			s.Present |= HasWindowScale
			s.Shift = d[0]
		case OptSACKPermitted:
			s.Present |= HasSACKPermitted
		case OptSACK:
			s.Present |= HasSACK
			s.SACKBlocks = uint8(len(d) / sackBlockLen)
		case OptTimestamps:
			s.Present |= HasTimestamps
			s.TSval = binary.BigEndian.Uint32(d)
			s.TSecr = binary.BigEndian.Uint32(d[4:])
		case OptMPTCP:
			s.Present |= HasMPTCP
		case OptFastOpen:
			s.Present |= HasFastOpen
		default:
			s.Present |= HasUnknown
		}
		off += n
	}
	return s, nil
}
