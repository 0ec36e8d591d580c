package tcpwin

import (
	"errors"
	"io"
	"time"
)

func isBadFrame(err error) bool { return errors.Is(err, ErrBadFrame) }
func isEOF(err error) bool      { return errors.Is(err, io.EOF) }

// seqLT reports a < b in sequence space (RFC 9293 section 3.4).
func seqLT(a, b uint32) bool { return int32(a-b) < 0 }

// sideDiag is what a Diagnoser accumulates about one side of a connection:
// the data it sends and the windows it advertises.
type sideDiag struct {
	// As a sender.
	seqInit bool
	sndNxt  uint32 // highest sequence number sent + 1
	una     uint32 // highest ack received from the peer
	unaOK   bool
	flow    FlowStats
	first   time.Time // first data segment
	last    time.Time // last data segment
	// The flight being sent: its bytes and the peer's raw window when
	// it began (flightOK: a raw window was known).
	flightBytes uint64
	flightRaw   uint16
	flightOK    bool

	// As a receiver: the windows it advertises.
	synWin   uint16
	synSeen  bool
	mss      uint16 // MSS announced in its SYN, 0 if none
	rawSeen  bool
	firstRaw uint16
	rawMax   uint16
	lastRaw  uint16
	effMax   uint32

	// Passive round-trip probes on TCP timestamps (RFC 7323 section 4,
	// the method of Kathleen Nichols' pping): the first time this side's
	// TSval tsProbe was seen (tsProbeAt) until the peer echoes it, and the
	// shortest such echo delay, which is the round trip from the capture
	// point through the peer and back.
	tsLast    uint32
	tsSeen    bool
	tsProbe   uint32
	tsProbeAt time.Time
	tsProbing bool
	echoMin   time.Duration

	zeroWins  uint64
	inZero    bool
	zeroStart time.Time
	stalls    uint64
	stallSum  time.Duration
	stallMax  time.Duration
}

// connDiag is a Diagnoser's state for one connection.
type connDiag struct {
	side                [2]sideDiag
	tSYN, tSYNACK, tACK time.Time // A's SYN, B's SYN-ACK, A's first ACK after it
	hsReported          bool
}

// rtt is the connection's round trip as seen from the capture point: the
// smaller of the handshake's (A's SYN to A's ACK of the SYN-ACK, which is
// the full round trip wherever the capture was taken) and the sum of the
// shortest timestamp echo delays of both directions. One slow handshake
// (a SYN queued at a busy server, a neighbour lookup) must not make every
// later flight look like one: an echo can never come before the segment
// it echoes, so neither estimate errs low. 0 when unknown.
func (cd *connDiag) rtt() time.Duration {
	var hs time.Duration
	if !cd.tSYN.IsZero() && !cd.tACK.IsZero() {
		hs = max(cd.tACK.Sub(cd.tSYN), 0)
	}
	a, b := cd.side[0].echoMin, cd.side[1].echoMin
	if a > 0 && b > 0 && (hs == 0 || a+b < hs) {
		return a + b
	}
	return hs
}

// timestamps runs the timestamp probes for a segment from s to o: it
// closes o's probe when the segment echoes it (or a later value) and
// opens a probe on s's TSval when that value is new.
func timestamps(s, o *sideDiag, opts *OptionSet, t time.Time) {
	if !opts.Has(HasTimestamps) || t.IsZero() {
		return
	}
	if o.tsProbing && int32(opts.TSecr-o.tsProbe) >= 0 && opts.TSecr != 0 {
		if opts.TSecr == o.tsProbe {
			if d := t.Sub(o.tsProbeAt); d > 0 && (o.echoMin == 0 || d < o.echoMin) {
				o.echoMin = d
			}
		}
		o.tsProbing = false
	}
	if !s.tsSeen || int32(opts.TSval-s.tsLast) > 0 {
		// First sight of this TSval (values only grow; the very first one
		// may predate the capture): a probe if none is open.
		if !s.tsProbing && s.tsSeen {
			s.tsProbe, s.tsProbeAt, s.tsProbing = opts.TSval, t, true
		}
		s.tsLast, s.tsSeen = opts.TSval, true
	}
}

// vantage says where the capture was taken: near A when the SYN to
// SYN-ACK gap holds the round trip, near B when the SYN-ACK to ACK gap
// does.
func (cd *connDiag) vantage() string {
	if cd.tSYN.IsZero() || cd.tSYNACK.IsZero() || cd.tACK.IsZero() {
		return "unknown"
	}
	syn, ack := cd.tSYNACK.Sub(cd.tSYN), cd.tACK.Sub(cd.tSYNACK)
	switch {
	case syn < 0 || ack < 0:
		return "unknown"
	case syn > 2*ack:
		return "near a"
	case ack > 2*syn:
		return "near b"
	}
	return "unknown"
}

// Diagnoser accumulates per-connection evidence from a Tracker's results
// and turns it into findings. Feed it every Result (Observe) and each
// connection leaving the tracker (Close, from Config.OnClose). It is not
// safe for concurrent use. Diagnose wraps it for whole captures; use it
// directly for live sources.
type Diagnoser struct {
	cfg   DiagnoseConfig
	conns map[uint64]*connDiag
	// Capture is copied into every finding's ConnRef.
	Capture int
}

// NewDiagnoser returns a Diagnoser; cfg may be nil.
func NewDiagnoser(cfg *DiagnoseConfig) *Diagnoser {
	return &Diagnoser{cfg: cfg.withDefaults(), conns: make(map[uint64]*connDiag)}
}

// Observe records one segment's result. It returns the handshake findings
// (one-sided scaling, scaling off) when this segment completes a handshake,
// otherwise nil.
func (d *Diagnoser) Observe(r *Result) []Finding {
	c := r.Conn
	cd := d.conns[c.ID]
	if cd == nil {
		cd = &connDiag{}
		d.conns[c.ID] = cd
	}
	seg := r.Segment
	s, o := &cd.side[r.Dir], &cd.side[1-r.Dir]
	syn, ack := seg.Flags.Has(FlagSYN), seg.Flags.Has(FlagACK)
	timestamps(s, o, &r.Options, seg.Time)
	if seg.Flags.Has(FlagACK) && (!o.unaOK || seqLT(o.una, seg.Ack)) {
		o.una, o.unaOK = seg.Ack, true
	}
	if syn {
		switch {
		case !ack && r.Dir == AtoB:
			cd.tSYN = seg.Time
		case ack && r.Dir == BtoA:
			cd.tSYNACK = seg.Time
		}
		s.synWin, s.synSeen = seg.Window, true
		if r.Options.Has(HasMSS) {
			s.mss = r.Options.MSS
		}
		s.sndNxt, s.seqInit = seg.Seq+1, true
		return nil
	}
	var out []Finding
	if ack && r.Dir == AtoB && !cd.tSYNACK.IsZero() && cd.tACK.IsZero() {
		cd.tACK = seg.Time
		if c.Handshake() && !cd.hsReported {
			cd.hsReported = true
			out = d.handshakeFindings(c, cd)
		}
	}
	if ack && !seg.Flags.Has(FlagRST) {
		s.window(seg, r.Window)
	}
	if seg.PayloadLen > 0 {
		d.data(cd, s, o, seg)
	}
	return out
}

// window records a window advertised by s.
func (s *sideDiag) window(seg *Segment, eff uint32) {
	raw := seg.Window
	if !s.rawSeen {
		s.firstRaw, s.rawSeen = raw, true
	}
	s.rawMax = max(s.rawMax, raw)
	s.lastRaw = raw
	s.effMax = max(s.effMax, eff)
	if raw == 0 {
		s.zeroWins++
		if !s.inZero {
			s.inZero, s.zeroStart = true, seg.Time
		}
	} else if s.inZero {
		s.endStall(seg.Time)
	}
}

func (s *sideDiag) endStall(t time.Time) {
	s.inZero = false
	s.stalls++
	if !t.IsZero() && !s.zeroStart.IsZero() {
		d := t.Sub(s.zeroStart)
		s.stallSum += d
		s.stallMax = max(s.stallMax, d)
	}
}

// data records a data segment sent by s to o.
func (d *Diagnoser) data(cd *connDiag, s, o *sideDiag, seg *Segment) {
	n := uint32(seg.PayloadLen)
	end := seg.Seq + n
	f := &s.flow
	if !s.seqInit {
		s.sndNxt, s.seqInit = seg.Seq, true
	}
	f.DataSegments++
	retrans := false
	switch {
	case !seqLT(s.sndNxt, end):
		retrans = true
		f.Retransmissions++
	case seqLT(seg.Seq, s.sndNxt):
		f.Bytes += uint64(end - s.sndNxt)
		s.sndNxt = end
	default:
		f.Bytes += uint64(n)
		s.sndNxt = end
	}
	if !seg.Time.IsZero() {
		rtt := cd.rtt()
		if s.first.IsZero() {
			s.first = seg.Time
		}
		if rtt > 0 && (s.last.IsZero() || seg.Time.Sub(s.last) > rtt/2) {
			s.endFlight(f, mssTo(o))
			f.Flights++
			s.flightRaw, s.flightOK = o.lastRaw, o.rawSeen
		}
		if rtt > 0 && !retrans {
			s.flightBytes += uint64(n)
		}
		s.last = seg.Time
	}
	if retrans || !s.unaOK || !o.rawSeen {
		return
	}
	inflight := s.sndNxt - s.una
	if int32(inflight) < 0 {
		return
	}
	f.MaxInFlight = max(f.MaxInFlight, inflight)
	raw := uint32(o.lastRaw)
	switch {
	case inflight > raw+uint32(mssTo(o)):
		f.AboveRawWindow++
	case inflight <= raw && inflight*10 >= raw*9:
		f.AtRawWindow++
	}
}

// endFlight classifies the flight in progress against the peer's raw
// window and starts a new one.
func (s *sideDiag) endFlight(f *FlowStats, mss int) {
	b := s.flightBytes
	s.flightBytes = 0
	if b == 0 {
		return
	}
	f.MaxFlightBytes = max(f.MaxFlightBytes, b)
	if !s.flightOK {
		return
	}
	raw := uint64(s.flightRaw)
	switch {
	case b > raw+uint64(mss):
		f.FlightsAboveRawWindow++
	case b <= raw && b*10 >= raw*9:
		f.FlightsAtRawWindow++
	}
}

// mssTo returns the largest segment the peer may send to s: the MSS s
// announced in its SYN, else the RFC 9293 default 536.
func mssTo(s *sideDiag) int {
	if s.mss > 0 {
		return int(s.mss)
	}
	return 536
}

// mssOf returns the MSS side i of c announced (536 when absent).
func mssOf(c *Conn, i int) int {
	if c.Side[i].SYNs > 0 && c.Side[i].SYN.Has(HasMSS) && c.Side[i].SYN.MSS > 0 {
		return int(c.Side[i].SYN.MSS)
	}
	return 536
}

// Close returns the findings for a connection leaving the tracker (call it
// from Config.OnClose) and forgets the connection.
func (d *Diagnoser) Close(c *Conn) []Finding {
	cd := d.conns[c.ID]
	delete(d.conns, c.ID)
	if cd == nil {
		cd = &connDiag{}
	}
	var out []Finding
	if !cd.hsReported && c.Handshake() {
		cd.hsReported = true
		out = append(out, d.handshakeFindings(c, cd)...)
	}
	for ri := range 2 {
		rs := &cd.side[ri]
		if rs.inZero {
			rs.endStall(c.LastTime)
		}
		out = append(out, d.flowFindings(c, cd, ri)...)
		if rs.zeroWins > 0 {
			out = append(out, d.zeroFinding(c, cd, ri)...)
		}
	}
	return out
}

// HandshakeFindings returns the handshake findings of c (one-sided
// scaling, scaling off) once both SYNs were seen, without waiting for the
// ACK that completes the handshake (which a SYN-only capture never sees).
// Findings are reported once per connection: Observe and Close leave them
// out afterwards.
func (d *Diagnoser) HandshakeFindings(c *Conn) []Finding {
	cd := d.conns[c.ID]
	if cd == nil || cd.hsReported || !c.Handshake() {
		return nil
	}
	cd.hsReported = true
	return d.handshakeFindings(c, cd)
}

// Pending returns the number of connections the Diagnoser holds state for.
func (d *Diagnoser) Pending() int { return len(d.conns) }

func (d *Diagnoser) ref(c *Conn) ConnRef {
	return ConnRef{Capture: d.Capture, ID: c.ID, A: c.A.String(), B: c.B.String(), FirstFrame: c.FirstFrame}
}

func sideName(i int) string {
	if i == 0 {
		return "a"
	}
	return "b"
}

func offered(s *Side) int {
	if s.SYNs > 0 && s.SYN.Has(HasWindowScale) {
		return int(s.SYN.Shift)
	}
	return -1
}

// evidence fills the window evidence of side ri.
func (cd *connDiag) evidence(c *Conn, ri int) Evidence {
	rs := &cd.side[ri]
	e := Evidence{
		Shift:           offered(&c.Side[ri]),
		PeerShift:       offered(&c.Side[1-ri]),
		SYNWindow:       uint32(rs.synWin),
		FirstRawWindow:  uint32(rs.firstRaw),
		RawWindow:       uint32(rs.rawMax),
		EffectiveWindow: rs.effMax,
		ImpliedShift:    impliedShift(rs),
		MSS:             mssOf(c, ri),
	}
	return e
}

// impliedShift is round(log2(SYN window / first raw window)), 0 when either
// is missing or the window did not shrink.
func impliedShift(s *sideDiag) int {
	if !s.synSeen || !s.rawSeen || s.firstRaw == 0 || s.synWin <= s.firstRaw {
		return 0
	}
	ratio := float64(s.synWin) / float64(s.firstRaw)
	k := 0
	for ratio >= 1.4142135 { // round to the nearest power of two
		ratio /= 2
		k++
	}
	return k
}

// flow returns the finished flow statistics of side si's data.
func (cd *connDiag) flowStats(si int) *FlowStats {
	s := &cd.side[si]
	f := s.flow
	// Count the flight in progress on a copy.
	pending := *s
	pending.endFlight(&f, mssTo(&cd.side[1-si]))
	if rtt := cd.rtt(); rtt > 0 {
		f.RTTms = ms(rtt)
	}
	if !s.first.IsZero() && s.last.After(s.first) {
		dur := s.last.Sub(s.first)
		f.DurationMS = ms(dur)
		f.Throughput = float64(f.Bytes) / dur.Seconds()
		if f.RTTms > 0 {
			f.FlightsPerRTT = float64(f.Flights) / (f.DurationMS / f.RTTms)
		}
	}
	return &f
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
