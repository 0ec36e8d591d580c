package live_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulletproof-labs/wsvcb/internal/netlab"
	"github.com/bulletproof-labs/wsvcb/internal/testenv"
	"github.com/bulletproof-labs/wsvcb/tcpwin"
	"github.com/bulletproof-labs/wsvcb/tcpwin/live"
	"golang.org/x/sys/unix"
)

// capture drains src into a tracker until src is closed.
type capture struct {
	tr      *tcpwin.Tracker
	nonSYN  int
	synSegs int
	syns    atomic.Int64 // synSegs, readable while capturing
	done    chan error
}

func startCapture(src *live.Source) *capture {
	c := &capture{tr: tcpwin.NewTracker(&tcpwin.Config{KeepClosed: true}), done: make(chan error, 1)}
	go func() {
		for {
			seg, err := src.Next()
			if errors.Is(err, io.EOF) {
				c.done <- nil
				return
			}
			if err != nil {
				if errors.Is(err, tcpwin.ErrBadFrame) {
					continue
				}
				c.done <- err
				return
			}
			if seg.Flags.Has(tcpwin.FlagSYN) {
				c.synSegs++
				c.syns.Add(1)
			} else {
				c.nonSYN++
			}
			c.tr.Observe(seg)
		}
	}()
	return c
}

// waitFor polls cond until it holds, failing the test after a generous
// timeout (a guard against hangs, not a timing assertion).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestLiveLab captures lab traffic inside the client namespace with both
// filters and both receive paths: N connections through the middlebox
// (which rewrites the client's wscale, as in the seed) must show N
// handshakes; the SYN-only filter must deliver SYNs only.
func TestLiveLab(t *testing.T) {
	for _, mode := range []live.Mode{live.ModeRing, live.ModeRecv} {
		t.Run(mode.String(), func(t *testing.T) { testLiveLab(t, mode) })
	}
}

func testLiveLab(t *testing.T, mode live.Mode) {
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "ethtool")
	lab := netlab.NewT(t, &netlab.Config{Prefix: "dgl"})
	mb, err := netlab.StartMiddlebox(lab, &netlab.MiddleboxConfig{Rules: []netlab.Rule{netlab.SeedRule}})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()

	var all, syn *live.Source
	err = lab.Client.Do(func() error {
		var err error
		if all, err = live.Open(lab.ClientIf, &live.Config{Mode: mode}); err != nil {
			return err
		}
		syn, err = live.Open(lab.ClientIf, &live.Config{SYNOnly: true, Mode: mode})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()
	defer syn.Close()
	if all.Link() != tcpwin.LinkEthernet {
		t.Errorf("link %v", all.Link())
	}
	if all.Mode() != mode || syn.Mode() != mode {
		t.Fatalf("modes %v %v, want %v", all.Mode(), syn.Mode(), mode)
	}
	ca, cs := startCapture(all), startCapture(syn)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	addr := lab.ServerAddr.String() + ":5002"
	ln, err := lab.Server.Listen(ctx, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write(make([]byte, 4000))
			c.Close()
		}
	}()
	const n = 5
	for i := 0; i < n; i++ {
		c, err := lab.Client.Dial(ctx, addr, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.Copy(io.Discard, c); err != nil && !errors.Is(err, net.ErrClosed) {
			t.Fatal(err)
		}
		c.Close()
	}
	// Every SYN and SYN-ACK has been sent and received by now; wait until
	// both captures have read them (the ring hands a block over after its
	// timeout).
	for _, c := range []*capture{ca, cs} {
		waitFor(t, "handshakes captured", func() bool { return c.syns.Load() >= 2*n })
	}
	ln.Close()
	wg.Wait()
	if err := all.Close(); err != nil {
		t.Error(err)
	}
	if err := syn.Close(); err != nil {
		t.Error(err)
	}
	for _, c := range []*capture{ca, cs} {
		if err := <-c.done; err != nil {
			t.Fatal(err)
		}
	}
	// After Close and the readers' end: final counters, consistent with
	// what the readers saw.
	sta, _ := all.Stats()
	sts, _ := syn.Stats()
	t.Logf("all-TCP: %+v, %d SYN + %d other segments", sta, ca.synSegs, ca.nonSYN)
	t.Logf("SYN-only: %+v, %d SYN + %d other segments", sts, cs.synSegs, cs.nonSYN)

	handshakes := func(c *capture) (int, []tcpwin.Conn) {
		c.tr.Flush()
		conns := c.tr.Closed()
		h := 0
		for _, cn := range conns {
			if cn.Handshake() {
				h++
			}
		}
		return h, conns
	}
	ha, conns := handshakes(ca)
	hs, _ := handshakes(cs)
	if ha != n || hs != n {
		t.Errorf("handshakes seen: all-TCP %d, SYN-only %d, want %d", ha, hs, n)
	}
	for _, c := range conns {
		// Captured at the client, before the middlebox: the client's own
		// shift (the namespace's tcp_rmem gives 10 here, above the seed
		// rule's threshold of 2).
		if !c.Side[0].SYN.Has(tcpwin.HasWindowScale) || c.Side[0].SYN.Shift <= 2 {
			t.Errorf("conn %d: client SYN %+v", c.ID, c.Side[0].SYN)
		}
	}
	if cs.nonSYN != 0 || cs.synSegs < 2*n {
		t.Errorf("SYN-only filter delivered %d SYN and %d other segments", cs.synSegs, cs.nonSYN)
	}
	if ca.nonSYN == 0 || sta.Segments != uint64(ca.synSegs+ca.nonSYN) {
		t.Errorf("all-TCP counters %+v vs %d+%d segments", sta, ca.synSegs, ca.nonSYN)
	}
	if sta.Received < sta.Segments || sts.Received < sts.Segments {
		t.Errorf("kernel counted fewer frames than were read: %+v %+v", sta, sts)
	}
	// Every client SYN, a retransmitted one too, was rewritten.
	if st := mb.Stats(); st.ClientSYNs < n || st.Rewritten != st.ClientSYNs {
		t.Errorf("middlebox rewrote %d of %d client SYNs, want all of at least %d", st.Rewritten, st.ClientSYNs, n)
	}
}

func TestOpenErrors(t *testing.T) {
	testenv.RequireRoot(t)
	if _, err := live.Open("nonexistent0", nil); err == nil {
		t.Error("no error for a missing interface")
	}
}

// TestModes checks the receive path chosen: the ring by default on this
// kernel, recvfrom when asked.
func TestModes(t *testing.T) {
	testenv.RequireRoot(t)
	v := newVeth(t)
	if src := v.Open(t, nil); src.Mode() != live.ModeRing || src.RingError() != nil {
		t.Errorf("default: mode %v, ring error %v", src.Mode(), src.RingError())
	}
	if src := v.Open(t, &live.Config{Mode: live.ModeRecv}); src.Mode() != live.ModeRecv {
		t.Errorf("ModeRecv: mode %v", src.Mode())
	}
	err := v.NS.Do(func() error { _, err := live.Open(v.Rx, &live.Config{Mode: live.Mode(9)}); return err })
	var oe *live.OpenError
	if !errors.As(err, &oe) || oe.Op != "config" {
		t.Errorf("bad mode: %v", err)
	}
}

// TestCloseWakesNext: with an hour-long poll interval, a blocked Next
// must still return io.EOF when Close runs (the eventfd wakes the poll),
// in both modes. A hang here fails by the test binary's timeout.
func TestCloseWakesNext(t *testing.T) {
	testenv.RequireRoot(t)
	v := newVeth(t)
	for _, mode := range []live.Mode{live.ModeRing, live.ModeRecv} {
		src := v.Open(t, &live.Config{Mode: mode, PollInterval: time.Hour})
		res := make(chan error, 1)
		started := make(chan struct{})
		go func() {
			close(started)
			_, err := src.Next()
			res <- err
		}()
		<-started
		if err := src.Close(); err != nil {
			t.Errorf("%v: close: %v", mode, err)
		}
		if err := <-res; !errors.Is(err, io.EOF) {
			t.Errorf("%v: Next after Close: %v", mode, err)
		}
		if err := src.Close(); err != nil {
			t.Errorf("%v: second close: %v", mode, err)
		}
	}
}

// TestRingDrops fills a tiny ring (2 blocks of one page) with frames while
// nobody reads: the kernel must count drops and freezes, and reading
// afterwards must deliver exactly the frames it kept, in order, with
// their bytes intact.
func TestRingDrops(t *testing.T) {
	testenv.RequireRoot(t)
	v := newVeth(t)
	for _, mode := range []live.Mode{live.ModeRing, live.ModeRecv} {
		t.Run(mode.String(), func(t *testing.T) {
			cfg := &live.Config{Mode: mode, BlockSize: 4096, BufferSize: 8192, BlockTimeout: time.Millisecond}
			if mode == live.ModeRecv {
				cfg.BufferSize = 1 // the kernel's minimum socket buffer
			}
			src := v.Open(t, cfg)
			const n = 500
			frames := make([][]byte, n)
			for i := range frames {
				frames[i] = live.BuildFrame(live.FrameSpec{Flags: 0x10, Port: uint16(1000 + i)})
			}
			if err := v.Send(frames); err != nil {
				t.Fatal(err)
			}
			var st live.Stats
			waitFor(t, "kernel counted every frame", func() bool {
				s, err := src.Stats()
				if err != nil {
					t.Fatal(err)
				}
				st = s
				return s.Received >= n
			})
			if st.Received != n || st.Dropped == 0 || st.Dropped >= n {
				t.Fatalf("stats %+v: want %d received, some dropped", st, n)
			}
			if mode == live.ModeRing && st.Freezes == 0 {
				t.Errorf("ring full but no freeze counted: %+v", st)
			}
			kept := n - st.Dropped
			last := -1
			for i := uint64(0); i < kept; i++ {
				seg, err := src.Next()
				if err != nil {
					t.Fatalf("segment %d of %d: %v", i+1, kept, err)
				}
				port := int(seg.SrcPort) - 1000
				if port <= last || port >= n || seg.DstPort != 5001 || seg.Window != 502 {
					t.Fatalf("segment %d: %+v after port offset %d", i+1, seg, last)
				}
				last = port
			}
			st, _ = src.Stats()
			if st.Frames != kept || st.Segments != kept || st.BadFrames != 0 {
				t.Errorf("after reading: %+v, want %d frames", st, kept)
			}
			t.Logf("%v: %+v", mode, st)
		})
	}
}

// TestRingFallback makes the ring's setup fail (a block size the kernel
// rejects: PACKET_RX_RING with tp_block_size >= 2^31 is EINVAL before any
// allocation): the default mode falls back to recvfrom and says why;
// ModeRing fails.
func TestRingFallback(t *testing.T) {
	testenv.RequireRoot(t)
	v := newVeth(t)
	huge := 1 << 30
	huge *= 2
	src := v.Open(t, &live.Config{BlockSize: huge})
	if src.Mode() != live.ModeRecv || !errors.Is(src.RingError(), unix.EINVAL) {
		t.Errorf("mode %v, ring error %v", src.Mode(), src.RingError())
	}
	// The fallback captures.
	if err := v.Send([][]byte{live.BuildFrame(live.FrameSpec{Flags: 0x02})}); err != nil {
		t.Fatal(err)
	}
	if seg, err := src.Next(); err != nil || seg.DstPort != 5001 {
		t.Errorf("fallback capture: %+v %v", seg, err)
	}
	err := v.NS.Do(func() error {
		_, err := live.Open(v.Rx, &live.Config{Mode: live.ModeRing, BlockSize: huge})
		return err
	})
	var oe *live.OpenError
	if !errors.As(err, &oe) || oe.Op != "TPACKET_V3 ring" || !errors.Is(err, unix.EINVAL) {
		t.Errorf("ModeRing with a bad ring: %v", err)
	}
}
