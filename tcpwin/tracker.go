package tcpwin

import (
	"encoding/binary"
	"slices"
	"time"
)

// Defaults for a nil or zero Config.
const (
	DefaultMaxConns = 1 << 16
	// DefaultIdleTimeout is the TCP keep-alive interval's lower bound
	// (RFC 1122 section 4.2.3.6: no less than two hours): a connection
	// silent for longer has probably ended unseen.
	DefaultIdleTimeout = 2 * time.Hour
)

// Config configures a Tracker. The zero value (or nil) gives the defaults.
type Config struct {
	// MaxConns caps the connections tracked at once; when full, the least
	// recently used one is evicted. 0 means DefaultMaxConns.
	MaxConns int
	// IdleTimeout evicts connections without a segment for this long, in
	// capture time. 0 means DefaultIdleTimeout; negative disables it.
	IdleTimeout time.Duration
	// OnClose, when set, is called with every connection that leaves the
	// tracker. The *Conn is valid only during the call.
	OnClose func(c *Conn)
	// KeepClosed keeps a copy of every connection that left the tracker,
	// for Closed. Memory then grows with the number of connections.
	KeepClosed bool
	// AssumeWScale, when set, is the shift assumed for both sides of a
	// connection whose handshake the capture does not hold (it starts
	// mid-stream), as tshark's tcp.default_window_scaling preference: their
	// windows are scaled by it, with Scale ScaleAssumed. A SYN seen later
	// replaces the assumption. Values above MaxShift are clamped.
	AssumeWScale *int
}

func (c *Config) withDefaults() Config {
	var r Config
	if c != nil {
		r = *c
	}
	if r.MaxConns <= 0 {
		r.MaxConns = DefaultMaxConns
	}
	if r.IdleTimeout == 0 {
		r.IdleTimeout = DefaultIdleTimeout
	}
	return r
}

// Result is the analysis of one segment. The tracker reuses it: it is valid
// until the next call to Observe.
type Result struct {
	Segment *Segment
	// Conn is the segment's connection (valid until the next Observe).
	Conn *Conn
	Dir  Dir
	// New reports that this segment started a new connection.
	New bool
	// Options is the decoded options area; OptionErr is set when it was
	// malformed (the options before the damage are in Options).
	Options   OptionSet
	OptionErr error
	// Scale and Shift are the scale state of the sending side when the
	// segment was sent (Shift valid when Scale is ScaleOn).
	Scale ScaleState
	Shift uint8
	// Window is the effective window: the raw window shifted when Scale is
	// ScaleOn and the segment is not a SYN (RFC 7323 section 2.2: windows
	// in SYN segments are never scaled), else the raw window.
	Window uint32
}

// Multiplier returns the Wireshark-style scale column for the segment:
// see the package function Multiplier.
func (r *Result) Multiplier() int { return Multiplier(r.Scale, r.Shift) }

type entry struct {
	conn       Conn
	prev, next int32 // LRU list; -1 terminates
}

// Tracker follows TCP connections segment by segment and knows, for every
// segment, the window scale in effect. It allocates only when a connection
// is created beyond its previous high-water mark. It is not safe for
// concurrent use.
type Tracker struct {
	cfg        Config
	index      map[mapKey]int32
	slab       []entry
	free       []int32
	head, tail int32 // most / least recently used
	nextID     uint64
	stats      TrackerStats
	res        Result
	closed     []Conn
	// One-entry lookup cache: consecutive segments mostly belong to the
	// same connection.
	lastIdx int32
	// nextExpire is the earliest capture time at which the LRU tail can
	// be idle for longer than IdleTimeout.
	nextExpire time.Time
}

// mapKey is the direction-independent, pointer-free form of ConnKey used
// for the index (cheaper to hash than netip.Addr; zones do not occur in
// captures).
type mapKey struct {
	lo, hi       [16]byte
	lport, hport uint16
}

func makeMapKey(a [16]byte, ap uint16, b [16]byte, bp uint16) mapKey {
	if c := compare16(a, b); c < 0 || (c == 0 && ap <= bp) {
		return mapKey{a, b, ap, bp}
	}
	return mapKey{b, a, bp, ap}
}

func compare16(a, b [16]byte) int {
	x, y := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8])
	if x == y {
		x, y = binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:])
	}
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func segMapKey(seg *Segment) mapKey {
	return makeMapKey(seg.Src.As16(), seg.SrcPort, seg.Dst.As16(), seg.DstPort)
}

func connMapKey(c *Conn) mapKey {
	return makeMapKey(c.A.Addr.As16(), c.A.Port, c.B.Addr.As16(), c.B.Port)
}

// NewTracker returns a tracker; cfg may be nil.
func NewTracker(cfg *Config) *Tracker {
	return &Tracker{
		cfg:     cfg.withDefaults(),
		index:   make(map[mapKey]int32),
		head:    -1,
		tail:    -1,
		lastIdx: -1,
	}
}

// Stats returns the tracker's counters.
func (t *Tracker) Stats() TrackerStats {
	s := t.stats
	s.Live = len(t.index)
	return s
}

// Observe analyses one segment and returns its result, valid until the next
// call.
func (t *Tracker) Observe(seg *Segment) *Result {
	t.stats.Segments++
	t.expire(seg.Time)

	r := &t.res
	*r = Result{Segment: seg}
	var err error
	r.Options, err = ParseOptions(seg.Options)
	if err != nil {
		r.OptionErr = err
		t.stats.OptionErrors++
	}

	syn := seg.Flags.Has(FlagSYN)
	ack := seg.Flags.Has(FlagACK)
	var key mapKey
	idx, ok := t.lastIdx, t.lastIdx >= 0 && t.slab[t.lastIdx].conn.has(seg)
	if !ok {
		key = segMapKey(seg)
		idx, ok = t.index[key]
	}
	var c *Conn
	if ok {
		c = &t.slab[idx].conn
		d := c.dirOf(seg)
		if syn && !ack && t.startsNew(c, d, seg) {
			t.close(idx, ClosedReused)
			ok = false
		} else {
			t.touch(idx)
		}
	}
	if !ok {
		idx = t.create(segMapKey(seg), seg)
		c = &t.slab[idx].conn
		r.New = true
	}
	t.lastIdx = idx
	d := c.dirOf(seg)
	s := &c.Side[d]
	r.Conn, r.Dir = c, d
	c.LastFrame, c.LastTime = seg.Frame, seg.Time

	if syn {
		if s.SYNs == 0 {
			s.SYNFrame = seg.Frame
		}
		s.SYNs++
		s.ISN = seg.Seq
		s.SYN = r.Options
		s.SYNACK = ack
		c.negotiate()
		if s.ShiftClamped {
			t.stats.ShiftClamped++
		}
	} else if r.Options.Has(HasWindowScale) {
		// RFC 7323 section 2.2: the option is ignored on non-SYN segments.
		s.Stats.WScaleNonSYN++
		t.stats.WScaleNonSYN++
	}

	r.Scale, r.Shift = s.Scale, s.Shift
	r.Window = uint32(seg.Window)
	if !syn {
		switch s.Scale {
		case ScaleOn, ScaleAssumed:
			r.Window = EffectiveWindow(seg.Window, s.Shift)
		case ScaleUnknown:
			s.Stats.UnknownScale++
		}
	}

	st := &s.Stats
	st.Packets++
	if seg.PayloadLen > 0 {
		st.Bytes += uint64(seg.PayloadLen)
	}
	switch {
	case seg.Flags.Has(FlagRST):
	case syn:
		st.SYNWin.add(r.Window, ack)
	case ack:
		st.Win.add(r.Window, ack)
	}
	if seg.Flags.Has(FlagFIN) {
		s.FIN = true
	}
	if seg.Flags.Has(FlagRST) {
		c.RST = true
	}
	return r
}

// startsNew reports whether a SYN without ACK from direction d begins a new
// connection on c's 4-tuple rather than continuing c (a SYN retransmit or
// the second SYN of a simultaneous open).
func (t *Tracker) startsNew(c *Conn, d Dir, seg *Segment) bool {
	switch {
	case c.Finished():
		return true // the old one ended with FINs or a RST
	case c.MidStream && c.Side[0].SYNs == 0 && c.Side[1].SYNs == 0:
		return true // the old one was picked up mid-stream
	case c.Side[d].SYNs > 0 && seg.Seq != c.Side[d].ISN && c.Handshake():
		return true // new ISN after a complete handshake
	}
	return false
}

func (t *Tracker) create(key mapKey, seg *Segment) int32 {
	if len(t.index) >= t.cfg.MaxConns && t.tail >= 0 {
		t.stats.Evicted++
		t.close(t.tail, ClosedEvicted)
	}
	var idx int32
	if n := len(t.free); n > 0 {
		idx = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		t.slab = append(t.slab, entry{})
		idx = int32(len(t.slab) - 1)
	}
	t.nextID++
	t.stats.Conns++
	e := &t.slab[idx]
	e.conn = Conn{
		ID:         t.nextID,
		A:          Endpoint{seg.Src, seg.SrcPort},
		B:          Endpoint{seg.Dst, seg.DstPort},
		FirstFrame: seg.Frame,
		FirstTime:  seg.Time,
		MidStream:  !seg.Flags.Has(FlagSYN),
	}
	if e.conn.MidStream && t.cfg.AssumeWScale != nil {
		shift, _ := ClampShift(uint8(min(max(*t.cfg.AssumeWScale, 0), 255)))
		for i := range e.conn.Side {
			e.conn.Side[i].Scale, e.conn.Side[i].Shift = ScaleAssumed, shift
		}
	}
	if seg.Flags.Has(FlagSYN | FlagACK) {
		// The capture starts at the SYN-ACK: the receiver initiated.
		e.conn.A, e.conn.B = e.conn.B, e.conn.A
	}
	t.index[key] = idx
	e.prev, e.next = -1, t.head
	if t.head >= 0 {
		t.slab[t.head].prev = idx
	}
	t.head = idx
	if t.tail < 0 {
		t.tail = idx
	}
	return idx
}

// touch moves idx to the front of the LRU list.
func (t *Tracker) touch(idx int32) {
	if t.head == idx {
		return
	}
	t.unlink(idx)
	e := &t.slab[idx]
	e.prev, e.next = -1, t.head
	t.slab[t.head].prev = idx
	t.head = idx
	if t.tail < 0 {
		t.tail = idx
	}
}

func (t *Tracker) unlink(idx int32) {
	e := &t.slab[idx]
	if e.prev >= 0 {
		t.slab[e.prev].next = e.next
	} else {
		t.head = e.next
	}
	if e.next >= 0 {
		t.slab[e.next].prev = e.prev
	} else {
		t.tail = e.prev
	}
	e.prev, e.next = -1, -1
}

// expire evicts connections idle for longer than IdleTimeout at capture
// time now. The LRU tail is the least recently touched connection.
func (t *Tracker) expire(now time.Time) {
	if t.cfg.IdleTimeout < 0 || now.IsZero() || now.Before(t.nextExpire) {
		return
	}
	for t.tail >= 0 {
		c := &t.slab[t.tail].conn
		if c.LastTime.IsZero() || now.Sub(c.LastTime) <= t.cfg.IdleTimeout {
			// Nothing can expire before the tail does.
			t.nextExpire = c.LastTime.Add(t.cfg.IdleTimeout)
			return
		}
		t.stats.Expired++
		t.close(t.tail, ClosedIdle)
	}
	t.nextExpire = now.Add(t.cfg.IdleTimeout)
}

func (t *Tracker) close(idx int32, why CloseReason) {
	e := &t.slab[idx]
	e.conn.Closed = why
	if why == ClosedReused {
		t.stats.Reused++
	}
	if t.cfg.OnClose != nil {
		t.cfg.OnClose(&e.conn)
	}
	if t.cfg.KeepClosed {
		t.closed = append(t.closed, e.conn)
	}
	delete(t.index, connMapKey(&e.conn))
	if t.lastIdx == idx {
		t.lastIdx = -1
	}
	t.unlink(idx)
	t.free = append(t.free, idx)
}

// Flush closes every tracked connection (reason ClosedEnd) in order of ID,
// calling OnClose for each. Call it at the end of the input.
func (t *Tracker) Flush() {
	idx := make([]int32, 0, len(t.index))
	for _, i := range t.index {
		idx = append(idx, i)
	}
	slices.SortFunc(idx, func(a, b int32) int {
		ia, ib := t.slab[a].conn.ID, t.slab[b].conn.ID
		switch {
		case ia < ib:
			return -1
		case ia > ib:
			return 1
		}
		return 0
	})
	for _, i := range idx {
		t.close(i, ClosedEnd)
	}
}

// Closed returns copies of the connections that left the tracker, in order
// of ID, when Config.KeepClosed is set.
func (t *Tracker) Closed() []Conn {
	out := slices.Clone(t.closed)
	slices.SortFunc(out, func(a, b Conn) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out
}

// Range calls fn for each tracked connection, in no particular order, until
// fn returns false.
func (t *Tracker) Range(fn func(c *Conn) bool) {
	for _, i := range t.index {
		if !fn(&t.slab[i].conn) {
			return
		}
	}
}
