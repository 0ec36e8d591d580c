package tcpwin

import (
	"net/netip"
	"time"
)

// Flags holds the TCP header flag bits (RFC 9293 section 3.1, RFC 3168 for ECE/CWR).
type Flags uint16

// TCP flag bits, in header order.
const (
	FlagFIN Flags = 1 << iota
	FlagSYN
	FlagRST
	FlagPSH
	FlagACK
	FlagURG
	FlagECE
	FlagCWR
)

// Has reports whether all bits in m are set.
func (f Flags) Has(m Flags) bool { return f&m == m }

// Segment is one TCP segment as decoded from any source (capture file, live
// interface or tcpdump text). Sources reuse one Segment between calls: the
// Segment and its Options slice are valid only until the next call to Next.
type Segment struct {
	// Frame is the 1-based index of the frame in its source, counting every
	// frame (also the non-TCP ones).
	Frame int
	// Time is the capture timestamp (zero when the source has none).
	Time time.Time
	// Src and Dst are the IP addresses (IPv4 or IPv6, never 4-in-6 mapped).
	Src, Dst netip.Addr
	// SrcPort and DstPort are the TCP ports.
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            Flags
	// Window is the raw 16-bit window field, as on the wire (never scaled).
	Window uint16
	// PayloadLen is the TCP payload length in bytes, from the IP length when
	// the capture was truncated.
	PayloadLen int
	// Options is the raw TCP options area (header bytes 20..data offset). It
	// aliases the source's buffer.
	Options []byte
}

// Source yields the TCP segments of a capture in order. Next returns io.EOF
// at the end. Errors other than io.EOF are *InputError values naming the
// input, frame and byte offset; segments returned before an error stay valid
// results (a truncated file still reports everything before the damage).
type Source interface {
	Next() (*Segment, error)
}

// InputError reports bad input: a file that is truncated, garbage, has an
// unknown link type or malformed headers.
type InputError struct {
	Name   string // file name, "-" for stdin
	Frame  int    // 1-based frame index, 0 when not inside a frame
	Offset int64  // byte offset in the input (or line number for text, see Line)
	Line   int    // 1-based line for text input, 0 otherwise
	Err    error  // underlying cause, usable with errors.Is
}

func (e *InputError) Error() string {
	s := e.Name
	switch {
	case e.Line > 0:
		s += ":" + itoa(e.Line)
	case e.Frame > 0:
		s += ": frame " + itoa(e.Frame) + " (offset " + itoa(int(e.Offset)) + ")"
	default:
		s += ": offset " + itoa(int(e.Offset))
	}
	return s + ": " + e.Err.Error()
}

func (e *InputError) Unwrap() error { return e.Err }

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
