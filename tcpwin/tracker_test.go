package tcpwin

import (
	"net/netip"
	"testing"
	"time"
)

var (
	trkCli = netip.MustParseAddr("10.0.0.1")
	trkSrv = netip.MustParseAddr("10.0.0.2")
	trkT0  = time.Date(2006, 6, 1, 12, 0, 0, 0, time.UTC)
)

// trkSYNOpts builds a SYN options area: mss 1460, sackOK, TS, nop, wscale shift
// (no wscale when shift < 0).
func trkSYNOpts(shift int) []byte {
	b := []byte{2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0}
	if shift >= 0 {
		b = append(b, 1, 3, 3, byte(shift))
	}
	return b
}

// trkSim builds segments of one connection between cli:40000 and srv:80.
type trkSim struct {
	frame int
	now   time.Time
	cport uint16
}

func (s *trkSim) seg(fromCli bool, flags Flags, win uint16, payload int, opts []byte) *Segment {
	s.frame++
	s.now = s.now.Add(time.Millisecond)
	if s.now.IsZero() || s.now.Before(trkT0) {
		s.now = trkT0
	}
	port := s.cport
	if port == 0 {
		port = 40000
	}
	g := &Segment{Frame: s.frame, Time: s.now, Src: trkCli, Dst: trkSrv, SrcPort: port, DstPort: 80,
		Flags: flags, Window: win, PayloadLen: payload, Options: opts, Seq: 1000}
	if !fromCli {
		g.Src, g.Dst, g.SrcPort, g.DstPort = g.Dst, g.Src, g.DstPort, g.SrcPort
		g.Seq = 5000
	}
	return g
}

type trkWant struct {
	mult   int
	window uint32
}

func trkCheck(t *testing.T, r *Result, w trkWant) {
	t.Helper()
	if r.Multiplier() != w.mult || r.Window != w.window {
		t.Errorf("frame %d: multiplier %d window %d, want %d %d", r.Segment.Frame, r.Multiplier(), r.Window, w.mult, w.window)
	}
}

func TestTrackerHandshakeScaled(t *testing.T) {
	tr := NewTracker(nil)
	s := &trkSim{}
	r := tr.Observe(s.seg(true, FlagSYN, 64240, 0, trkSYNOpts(7)))
	if !r.New || r.Dir != AtoB || r.Scale != ScaleUnknown || r.Window != 64240 {
		t.Fatalf("SYN: %+v", r)
	}
	r = tr.Observe(s.seg(false, FlagSYN|FlagACK, 65160, 0, trkSYNOpts(2)))
	trkCheck(t, r, trkWant{4, 65160}) // SYN windows never scaled
	trkCheck(t, tr.Observe(s.seg(true, FlagACK, 502, 0, nil)), trkWant{128, 502 * 128})
	trkCheck(t, tr.Observe(s.seg(false, FlagACK|FlagPSH, 1000, 100, nil)), trkWant{4, 4000})
	trkCheck(t, tr.Observe(s.seg(true, FlagACK, 0, 0, nil)), trkWant{128, 0})
	tr.Flush()
	st := tr.Stats()
	if st.Conns != 1 || st.Live != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestTrackerOneSideWithoutOption(t *testing.T) {
	// The 2006 case: the SYN has wscale, the SYN-ACK does not.
	tr := NewTracker(nil)
	s := &trkSim{}
	tr.Observe(s.seg(true, FlagSYN, 5840, 0, trkSYNOpts(6)))
	tr.Observe(s.seg(false, FlagSYN|FlagACK, 5792, 0, trkSYNOpts(-1)))
	trkCheck(t, tr.Observe(s.seg(true, FlagACK, 92, 0, nil)), trkWant{-2, 92})
	trkCheck(t, tr.Observe(s.seg(false, FlagACK, 5792, 0, nil)), trkWant{-2, 5792})
}

func TestTrackerSYNWithoutOption(t *testing.T) {
	// A SYN without the option means no scaling, even before the reply.
	tr := NewTracker(nil)
	s := &trkSim{}
	r := tr.Observe(s.seg(true, FlagSYN, 5840, 0, trkSYNOpts(-1)))
	if r.Scale != ScaleOff {
		t.Errorf("scale %v", r.Scale)
	}
}

func TestTrackerMidStream(t *testing.T) {
	tr := NewTracker(nil)
	s := &trkSim{}
	r := tr.Observe(s.seg(false, FlagACK, 300, 1448, nil))
	trkCheck(t, r, trkWant{-1, 300})
	if !r.Conn.MidStream || r.Dir != AtoB || r.Conn.A.Port != 80 {
		t.Errorf("conn %+v dir %v", r.Conn, r.Dir)
	}
	trkCheck(t, tr.Observe(s.seg(true, FlagACK, 301, 0, nil)), trkWant{-1, 301})
	// A SYN after a mid-stream start is a new connection.
	r = tr.Observe(s.seg(true, FlagSYN, 64240, 0, trkSYNOpts(7)))
	if !r.New || r.Conn.ID != 2 || r.Dir != AtoB || r.Conn.A.Port != 40000 {
		t.Errorf("new SYN: %+v", r.Conn)
	}
	if st := tr.Stats(); st.Reused != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestTrackerSYNACKFirst(t *testing.T) {
	tr := NewTracker(nil)
	s := &trkSim{}
	r := tr.Observe(s.seg(false, FlagSYN|FlagACK, 65160, 0, trkSYNOpts(9)))
	if r.Dir != BtoA || r.Conn.A.Port != 40000 {
		t.Errorf("SYN-ACK first: dir %v conn %+v", r.Dir, r.Conn)
	}
	trkCheck(t, tr.Observe(s.seg(false, FlagACK, 10, 0, nil)), trkWant{512, 5120})
	trkCheck(t, tr.Observe(s.seg(true, FlagACK, 10, 0, nil)), trkWant{-1, 10})
}

func TestTrackerSYNRetransmit(t *testing.T) {
	tr := NewTracker(nil)
	s := &trkSim{}
	tr.Observe(s.seg(true, FlagSYN, 64240, 0, trkSYNOpts(7)))
	r := tr.Observe(s.seg(true, FlagSYN, 64240, 0, trkSYNOpts(7)))
	if r.New || r.Conn.Side[AtoB].SYNs != 2 || r.Conn.Side[AtoB].SYNFrame != 1 {
		t.Errorf("retransmit: %+v", r.Conn.Side[AtoB])
	}
	tr.Observe(s.seg(false, FlagSYN|FlagACK, 65160, 0, trkSYNOpts(2)))
	// A retransmitted SYN-ACK is not a new connection either.
	r = tr.Observe(s.seg(false, FlagSYN|FlagACK, 65160, 0, trkSYNOpts(2)))
	if r.New || r.Conn.Side[BtoA].SYNs != 2 {
		t.Error("SYN-ACK retransmit")
	}
	// Retransmit of the first SYN (same ISN) after the handshake.
	r = tr.Observe(s.seg(true, FlagSYN, 64240, 0, trkSYNOpts(7)))
	if r.New {
		t.Error("late SYN retransmit started a new connection")
	}
	trkCheck(t, tr.Observe(s.seg(true, FlagACK, 10, 0, nil)), trkWant{128, 1280})
}

func TestTrackerSimultaneousOpen(t *testing.T) {
	tr := NewTracker(nil)
	s := &trkSim{}
	tr.Observe(s.seg(true, FlagSYN, 1000, 0, trkSYNOpts(3)))
	r := tr.Observe(s.seg(false, FlagSYN, 1000, 0, trkSYNOpts(5)))
	if r.New || !r.Conn.Handshake() {
		t.Fatalf("simultaneous open: %+v", r.Conn)
	}
	tr.Observe(s.seg(true, FlagSYN|FlagACK, 1000, 0, trkSYNOpts(3)))
	tr.Observe(s.seg(false, FlagSYN|FlagACK, 1000, 0, trkSYNOpts(5)))
	trkCheck(t, tr.Observe(s.seg(true, FlagACK, 10, 0, nil)), trkWant{8, 80})
	trkCheck(t, tr.Observe(s.seg(false, FlagACK, 10, 0, nil)), trkWant{32, 320})
}

func TestTrackerReuseAfterFIN(t *testing.T) {
	tr := NewTracker(&Config{KeepClosed: true})
	s := &trkSim{}
	tr.Observe(s.seg(true, FlagSYN, 64240, 0, trkSYNOpts(7)))
	tr.Observe(s.seg(false, FlagSYN|FlagACK, 65160, 0, trkSYNOpts(2)))
	tr.Observe(s.seg(true, FlagACK|FlagFIN, 10, 0, nil))
	tr.Observe(s.seg(false, FlagACK|FlagFIN, 10, 0, nil))
	tr.Observe(s.seg(true, FlagACK, 10, 0, nil))
	r := tr.Observe(s.seg(true, FlagSYN, 64240, 0, trkSYNOpts(-1)))
	if !r.New || r.Conn.ID != 2 || r.Scale != ScaleOff {
		t.Fatalf("reuse: %+v", r.Conn)
	}
	tr.Observe(s.seg(false, FlagSYN|FlagACK, 65160, 0, trkSYNOpts(2)))
	trkCheck(t, tr.Observe(s.seg(false, FlagACK, 10, 0, nil)), trkWant{-2, 10})
	tr.Flush()
	cl := tr.Closed()
	if len(cl) != 2 || cl[0].Closed != ClosedReused || cl[1].Closed != ClosedEnd {
		t.Errorf("closed: %+v", cl)
	}
	// After a RST too.
	tr = NewTracker(nil)
	tr.Observe(s.seg(true, FlagSYN, 64240, 0, trkSYNOpts(7)))
	tr.Observe(s.seg(false, FlagRST|FlagACK, 0, 0, nil))
	if r := tr.Observe(s.seg(true, FlagSYN, 64240, 0, trkSYNOpts(7))); !r.New {
		t.Error("SYN after RST did not start a new connection")
	}
}

func TestTrackerNewISNAfterHandshake(t *testing.T) {
	tr := NewTracker(nil)
	s := &trkSim{}
	tr.Observe(s.seg(true, FlagSYN, 64240, 0, trkSYNOpts(7)))
	tr.Observe(s.seg(false, FlagSYN|FlagACK, 65160, 0, trkSYNOpts(2)))
	g := s.seg(true, FlagSYN, 64240, 0, trkSYNOpts(7))
	g.Seq = 99999
	if r := tr.Observe(g); !r.New {
		t.Error("SYN with a new ISN after a complete handshake is a new connection")
	}
}

func TestTrackerWScaleOnNonSYN(t *testing.T) {
	// nmap's OS probes: wscale options on non-SYN segments are ignored.
	tr := NewTracker(nil)
	s := &trkSim{}
	tr.Observe(s.seg(true, FlagSYN, 64240, 0, trkSYNOpts(7)))
	tr.Observe(s.seg(false, FlagSYN|FlagACK, 65160, 0, trkSYNOpts(2)))
	r := tr.Observe(s.seg(true, FlagACK, 10, 0, []byte{3, 3, 15, 1}))
	trkCheck(t, r, trkWant{128, 1280})
	r = tr.Observe(s.seg(false, FlagACK, 10, 0, []byte{3, 3, 10, 1}))
	trkCheck(t, r, trkWant{4, 40})
	if st := tr.Stats(); st.WScaleNonSYN != 2 {
		t.Errorf("WScaleNonSYN = %d", st.WScaleNonSYN)
	}
	if r.Conn.Side[AtoB].Stats.WScaleNonSYN != 1 {
		t.Error("per-side count")
	}
}

func TestTrackerShiftClamped(t *testing.T) {
	tr := NewTracker(nil)
	s := &trkSim{}
	tr.Observe(s.seg(true, FlagSYN, 64240, 0, trkSYNOpts(15)))
	tr.Observe(s.seg(false, FlagSYN|FlagACK, 65160, 0, trkSYNOpts(2)))
	r := tr.Observe(s.seg(true, FlagACK, 65535, 0, nil))
	trkCheck(t, r, trkWant{1 << 14, MaxScaledWindow})
	if !r.Conn.Side[AtoB].ShiftClamped || tr.Stats().ShiftClamped != 1 {
		t.Error("clamp not reported")
	}
}

func TestTrackerBadOptions(t *testing.T) {
	tr := NewTracker(nil)
	s := &trkSim{}
	r := tr.Observe(s.seg(true, FlagSYN, 64240, 0, []byte{2, 4, 5, 0xb4, 3, 4, 7, 0}))
	if r.OptionErr == nil || !r.Options.Has(HasMSS) || r.Options.Has(HasWindowScale) || tr.Stats().OptionErrors != 1 {
		t.Errorf("%+v", r)
	}
}

func TestTrackerStats(t *testing.T) {
	tr := NewTracker(nil)
	s := &trkSim{}
	tr.Observe(s.seg(true, FlagSYN, 64240, 0, trkSYNOpts(7)))
	tr.Observe(s.seg(false, FlagSYN|FlagACK, 65160, 0, trkSYNOpts(2)))
	tr.Observe(s.seg(true, FlagACK, 502, 100, nil))
	tr.Observe(s.seg(true, FlagACK, 0, 0, nil))
	r := tr.Observe(s.seg(true, FlagACK, 400, 50, nil))
	side := &r.Conn.Side[AtoB]
	st := side.Stats
	if st.Packets != 4 || st.Bytes != 150 || st.SYNWin.N != 1 || st.SYNWin.Max != 64240 {
		t.Errorf("stats %+v", st)
	}
	w := side.Windows() // scaled: the SYN window is left out
	if w.Max != 64256 || w.Min != 51200 || w.Zero != 1 || w.N != 3 || w.Sum != 64256+0+51200 {
		t.Errorf("windows %+v", w)
	}
	if avg := w.Avg(); avg != float64(64256+51200)/3 {
		t.Errorf("avg %v", avg)
	}
	// Unscaled: the SYN window counts; RST windows never do.
	tr = NewTracker(nil)
	s = &trkSim{}
	tr.Observe(s.seg(true, FlagSYN, 5840, 0, trkSYNOpts(-1)))
	tr.Observe(s.seg(false, FlagSYN|FlagACK, 5792, 0, trkSYNOpts(-1)))
	tr.Observe(s.seg(true, FlagACK, 6000, 0, nil))
	r = tr.Observe(s.seg(true, FlagRST, 0, 0, nil))
	w = r.Conn.Side[AtoB].Windows()
	if w.Max != 6000 || w.Min != 5840 || w.N != 2 || w.Zero != 0 {
		t.Errorf("unscaled windows %+v", w)
	}
}

func TestTrackerLRU(t *testing.T) {
	var closed []uint64
	tr := NewTracker(&Config{MaxConns: 2, OnClose: func(c *Conn) { closed = append(closed, c.ID) }})
	s1, s2, s3 := &trkSim{cport: 1}, &trkSim{cport: 2}, &trkSim{cport: 3}
	tr.Observe(s1.seg(true, FlagSYN, 1, 0, nil))
	tr.Observe(s2.seg(true, FlagSYN, 1, 0, nil))
	tr.Observe(s1.seg(true, FlagACK, 1, 0, nil)) // conn 1 now most recent
	tr.Observe(s3.seg(true, FlagSYN, 1, 0, nil)) // evicts conn 2
	if len(closed) != 1 || closed[0] != 2 {
		t.Fatalf("closed %v", closed)
	}
	st := tr.Stats()
	if st.Evicted != 1 || st.Live != 2 {
		t.Errorf("stats %+v", st)
	}
	// Conn 2 comes back mid-stream as a new connection.
	r := tr.Observe(s2.seg(true, FlagACK, 1, 0, nil))
	if !r.New || r.Conn.ID != 4 || r.Scale != ScaleUnknown {
		t.Errorf("%+v", r.Conn)
	}
}

func TestTrackerIdle(t *testing.T) {
	tr := NewTracker(&Config{IdleTimeout: time.Second})
	s1, s2 := &trkSim{cport: 1}, &trkSim{cport: 2}
	tr.Observe(s1.seg(true, FlagSYN, 1, 0, nil))
	s2.now = trkT0.Add(2 * time.Second)
	tr.Observe(s2.seg(true, FlagSYN, 1, 0, nil))
	if st := tr.Stats(); st.Expired != 1 || st.Live != 1 {
		t.Errorf("stats %+v", st)
	}
	// Disabled.
	tr = NewTracker(&Config{IdleTimeout: -1})
	s1, s2 = &trkSim{cport: 1}, &trkSim{cport: 2}
	tr.Observe(s1.seg(true, FlagSYN, 1, 0, nil))
	s2.now = trkT0.Add(time.Hour)
	tr.Observe(s2.seg(true, FlagSYN, 1, 0, nil))
	if st := tr.Stats(); st.Expired != 0 || st.Live != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestTrackerIPv6Key(t *testing.T) {
	a := netip.MustParseAddr("2001:db8::1")
	b := netip.MustParseAddr("2001:db8::2")
	s1 := &Segment{Src: a, Dst: b, SrcPort: 1, DstPort: 2}
	s2 := &Segment{Src: b, Dst: a, SrcPort: 2, DstPort: 1}
	if KeyOf(s1) != KeyOf(s2) {
		t.Error("key not direction independent")
	}
	s3 := &Segment{Src: a, Dst: b, SrcPort: 2, DstPort: 1}
	if KeyOf(s1) == KeyOf(s3) {
		t.Error("ports ignored")
	}
}

func TestTrackerNoAllocSteadyState(t *testing.T) {
	tr := NewTracker(nil)
	s := &trkSim{}
	tr.Observe(s.seg(true, FlagSYN, 64240, 0, trkSYNOpts(7)))
	tr.Observe(s.seg(false, FlagSYN|FlagACK, 65160, 0, trkSYNOpts(2)))
	ack := s.seg(true, FlagACK, 502, 1448, []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2})
	back := s.seg(false, FlagACK, 502, 0, []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2})
	n := testing.AllocsPerRun(1000, func() {
		ack.Time = ack.Time.Add(time.Millisecond)
		back.Time = ack.Time
		tr.Observe(ack)
		tr.Observe(back)
	})
	if n != 0 {
		t.Errorf("Observe allocates %v times per run", n)
	}
}

func TestTrackerMemoryBounded(t *testing.T) {
	tr := NewTracker(&Config{MaxConns: 100})
	for i := 0; i < 10000; i++ {
		s := &trkSim{cport: uint16(i + 1)}
		tr.Observe(s.seg(true, FlagSYN, 1, 0, trkSYNOpts(7)))
		tr.Observe(s.seg(false, FlagSYN|FlagACK, 1, 0, trkSYNOpts(7)))
	}
	st := tr.Stats()
	if st.Live != 100 || st.Evicted != 9900 || len(tr.slab) != 100 || len(tr.index) != 100 {
		t.Errorf("stats %+v, slab %d", st, len(tr.slab))
	}
}
