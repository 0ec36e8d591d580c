package live_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/bulletproof-labs/wsvcb/internal/netlab"
	"github.com/bulletproof-labs/wsvcb/internal/testenv"
	"github.com/bulletproof-labs/wsvcb/tcpwin"
	"github.com/bulletproof-labs/wsvcb/tcpwin/live"
)

// capture drains src into a tracker until src is closed.
type capture struct {
	tr      *tcpwin.Tracker
	nonSYN  int
	synSegs int
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
			} else {
				c.nonSYN++
			}
			c.tr.Observe(seg)
		}
	}()
	return c
}

// TestLiveLab captures lab traffic inside the client namespace with both
// filters: N connections through the middlebox (which rewrites the client's
// wscale, as in the seed) must show N handshakes; the SYN-only filter must
// deliver SYNs only.
func TestLiveLab(t *testing.T) {
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
		if all, err = live.Open(lab.ClientIf, nil); err != nil {
			return err
		}
		syn, err = live.Open(lab.ClientIf, &live.Config{SYNOnly: true, PollInterval: 20 * time.Millisecond})
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
	time.Sleep(200 * time.Millisecond)
	ln.Close()
	wg.Wait()
	sta, _ := all.Stats()
	sts, _ := syn.Stats()
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
	if st := mb.Stats(); st.Rewritten != n {
		t.Errorf("middlebox rewrote %d SYNs, want %d", st.Rewritten, n)
	}
}

func TestOpenErrors(t *testing.T) {
	testenv.RequireRoot(t)
	if _, err := live.Open("nonexistent0", nil); err == nil {
		t.Error("no error for a missing interface")
	}
}
