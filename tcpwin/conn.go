package tcpwin

import (
	"net/netip"
	"time"
)

// Endpoint is one side of a TCP connection.
type Endpoint struct {
	Addr netip.Addr
	Port uint16
}

func (e Endpoint) compare(o Endpoint) int {
	if c := e.Addr.Compare(o.Addr); c != 0 {
		return c
	}
	switch {
	case e.Port < o.Port:
		return -1
	case e.Port > o.Port:
		return 1
	}
	return 0
}

// String formats the endpoint as addr:port ([addr]:port for IPv6).
func (e Endpoint) String() string { return netip.AddrPortFrom(e.Addr, e.Port).String() }

// ConnKey identifies a connection by its 4-tuple independently of the
// direction: Lo is the smaller endpoint (address, then port). It is
// comparable and allocation-free, usable as a map key.
type ConnKey struct {
	Lo, Hi Endpoint
}

// KeyOf returns the direction-independent key of seg's connection.
func KeyOf(seg *Segment) ConnKey {
	s := Endpoint{seg.Src, seg.SrcPort}
	d := Endpoint{seg.Dst, seg.DstPort}
	if s.compare(d) <= 0 {
		return ConnKey{s, d}
	}
	return ConnKey{d, s}
}

// Dir is the direction of a segment within its connection.
type Dir uint8

// Directions: AtoB is from the connection's initiator (Conn.A) to Conn.B.
const (
	AtoB Dir = 0
	BtoA Dir = 1
)

func (d Dir) String() string {
	if d == AtoB {
		return "a2b"
	}
	return "b2a"
}

// ScaleState is what is known about the window scaling that applies to the
// windows one side sends.
type ScaleState uint8

// Scale states.
const (
	// ScaleUnknown: the handshake was not seen (mid-stream start) or not
	// enough of it to know.
	ScaleUnknown ScaleState = iota
	// ScaleOff: scaling is not in use (a SYN went without the option).
	ScaleOff
	// ScaleOn: both SYNs carried the option; windows are shifted by the
	// sender's own offered shift (RFC 7323 section 2.2).
	ScaleOn
	// ScaleAssumed: the handshake was not seen and Config.AssumeWScale
	// gave the shift (tshark's tcp.default_window_scaling).
	ScaleAssumed
)

func (s ScaleState) String() string {
	switch s {
	case ScaleOff:
		return "off"
	case ScaleOn:
		return "on"
	case ScaleAssumed:
		return "assumed"
	}
	return "unknown"
}

// Wireshark-style scale multipliers (tcp.window_size_scalefactor).
const (
	MultiplierUnknown = -1 // handshake not seen
	MultiplierNotUsed = -2 // window scaling not in use
)

// Multiplier returns the Wireshark-style scale column: MultiplierUnknown,
// MultiplierNotUsed, or 2^shift when scaling is on (or assumed, as tshark
// shows its tcp.default_window_scaling).
func Multiplier(state ScaleState, shift uint8) int {
	switch state {
	case ScaleOff:
		return MultiplierNotUsed
	case ScaleOn, ScaleAssumed:
		return int(ScaleFactor(shift))
	}
	return MultiplierUnknown
}

// CloseReason tells why a connection left the tracker.
type CloseReason uint8

// Close reasons.
const (
	ClosedEnd     CloseReason = iota // end of input (Tracker.Flush)
	ClosedReused                     // a new SYN reused the 4-tuple
	ClosedEvicted                    // least recently used, table at MaxConns
	ClosedIdle                       // idle longer than IdleTimeout (capture time)
)

func (r CloseReason) String() string {
	switch r {
	case ClosedReused:
		return "reused"
	case ClosedEvicted:
		return "evicted"
	case ClosedIdle:
		return "idle"
	}
	return "end"
}

// Side is what the tracker knows about one direction of a connection: the
// SYN it sent, the scale that applies to its windows, and its statistics.
type Side struct {
	// SYNs counts SYN segments sent in this direction (retransmits too).
	SYNs int
	// SYNFrame is the frame of the first SYN, 0 when none was seen.
	SYNFrame int
	// ISN is the sequence number of the last SYN.
	ISN uint32
	// SYN holds the options of the last SYN sent in this direction
	// (retransmits may differ; the last one before the reply counts).
	SYN OptionSet
	// SYNACK reports that the last SYN also had ACK set (a SYN-ACK).
	SYNACK bool
	// Scale and Shift are the negotiated state for windows this side sends.
	// Shift is clamped to MaxShift and valid when Scale is ScaleOn.
	Scale ScaleState
	Shift uint8
	// ShiftClamped reports that the offered shift was above MaxShift.
	ShiftClamped bool
	// FIN reports that this side sent a FIN.
	FIN bool
	// Stats are the per-direction window statistics.
	Stats DirStats
}

// Conn is a tracked connection. A is the initiator: the sender of the first
// SYN (or the receiver of a SYN-ACK when the capture starts there), otherwise
// the sender of the first segment seen.
type Conn struct {
	// ID numbers connections 1, 2, ... in order of first appearance.
	ID   uint64
	A, B Endpoint
	// FirstFrame and LastFrame are the frames of the first and last segment.
	FirstFrame, LastFrame int
	FirstTime, LastTime   time.Time
	// MidStream reports that the first segment seen had no SYN.
	MidStream bool
	// RST reports that a reset was seen.
	RST bool
	// Side holds per-direction state, indexed by Dir.
	Side [2]Side
	// Closed tells why the connection left the tracker (valid in OnClose
	// and in Tracker.Closed).
	Closed CloseReason
}

// Finished reports whether the connection ended: a RST, or FINs both ways.
func (c *Conn) Finished() bool { return c.RST || (c.Side[0].FIN && c.Side[1].FIN) }

// Key returns the connection's key.
func (c *Conn) Key() ConnKey {
	if c.A.compare(c.B) <= 0 {
		return ConnKey{c.A, c.B}
	}
	return ConnKey{c.B, c.A}
}

// Handshake reports whether SYNs from both sides were seen.
func (c *Conn) Handshake() bool { return c.Side[0].SYNs > 0 && c.Side[1].SYNs > 0 }

// has reports whether seg belongs to c's 4-tuple, in either direction.
func (c *Conn) has(seg *Segment) bool {
	if seg.SrcPort == c.A.Port && seg.DstPort == c.B.Port && seg.Src == c.A.Addr && seg.Dst == c.B.Addr {
		return true
	}
	return seg.SrcPort == c.B.Port && seg.DstPort == c.A.Port && seg.Src == c.B.Addr && seg.Dst == c.A.Addr
}

// dirOf returns the direction of seg in c.
func (c *Conn) dirOf(seg *Segment) Dir {
	if seg.SrcPort == c.A.Port && seg.Src == c.A.Addr {
		return AtoB
	}
	return BtoA
}

// negotiate recomputes the scale state of both sides from the SYNs seen
// (RFC 7323 section 2.2 and 1.3: scaling is on only when both SYNs carry
// the option; a SYN without it turns scaling off both ways).
func (c *Conn) negotiate() {
	a, b := &c.Side[0], &c.Side[1]
	switch {
	case a.SYNs > 0 && b.SYNs > 0:
		if a.SYN.Has(HasWindowScale) && b.SYN.Has(HasWindowScale) {
			a.Scale, b.Scale = ScaleOn, ScaleOn
		} else {
			a.Scale, b.Scale = ScaleOff, ScaleOff
		}
	case a.SYNs > 0 || b.SYNs > 0:
		d := 0
		if b.SYNs > 0 {
			d = 1
		}
		s, o := &c.Side[d], &c.Side[1-d]
		switch {
		case !s.SYN.Has(HasWindowScale):
			s.Scale, o.Scale = ScaleOff, ScaleOff
		case s.SYNACK:
			// A SYN-ACK carries the option only when the SYN did
			// (RFC 7323 section 2.2), so this side scales; the
			// initiator's shift was not seen.
			s.Scale, o.Scale = ScaleOn, ScaleUnknown
		default:
			s.Scale, o.Scale = ScaleUnknown, ScaleUnknown
		}
	default:
		a.Scale, b.Scale = ScaleUnknown, ScaleUnknown
	}
	for i := range c.Side {
		s := &c.Side[i]
		s.Shift, s.ShiftClamped = ClampShift(s.SYN.Shift)
		if !s.SYN.Has(HasWindowScale) {
			s.Shift, s.ShiftClamped = 0, false
		}
	}
}
