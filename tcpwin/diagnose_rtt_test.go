package tcpwin_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/bulletproof-labs/wsvcb/tcpwin"
)

// delayed shifts the time of every segment from the at-th on by d, as if
// that segment had been held up (a SYN-ACK from a busy server) and
// everything after it came d later.
type delayed struct {
	src tcpwin.Source
	n   int
	at  int
	d   time.Duration
}

func (p *delayed) Next() (*tcpwin.Segment, error) {
	s, err := p.src.Next()
	if err != nil {
		return nil, err
	}
	if p.n++; p.n >= p.at {
		s.Time = s.Time.Add(p.d)
	}
	return s, nil
}

// TestDiagnoseSlowHandshake: a handshake that took far longer than the
// path's round trip (here up to 2 s against 5 ms) must not hide the seed's
// plateau. Before the timestamp probes, the handshake alone set the round
// trip, all flights merged into one and the diagnosis vanished (seen in
// CI, where a loaded machine delayed one lab handshake).
func TestDiagnoseSlowHandshake(t *testing.T) {
	for _, name := range []string{"rewritten-client", "rewritten-server", "rewritten-6to0-client", "rewritten-6to0-server"} {
		base := plateau(t, name, 0, 0)
		for _, at := range []int{2, 3} { // delay the SYN-ACK, or the handshake's ACK
			for _, d := range []time.Duration{40 * time.Millisecond, 200 * time.Millisecond, 2 * time.Second} {
				t.Run(fmt.Sprintf("%s/at%d/%v", name, at, d), func(t *testing.T) {
					f := plateau(t, name, at, d)
					if f == nil {
						t.Fatal("no window-plateau finding")
					}
					// The timestamp probes find the same round trip as an
					// undisturbed handshake, within the 1 ms TSval tick.
					if got, want := f.Evidence.Flow.RTTms, base.Evidence.Flow.RTTms; got > want+1 || got < want/2 {
						t.Errorf("RTT %.2f ms, undisturbed %.2f ms", got, want)
					}
				})
			}
		}
	}
}

func plateau(t *testing.T, name string, at int, d time.Duration) *tcpwin.Finding {
	t.Helper()
	src, err := tcpwin.Open(filepath.Join("testdata", "lab", name+".pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var s tcpwin.Source = src
	if d > 0 {
		s = &delayed{src: src, at: at, d: d}
	}
	rep, err := tcpwin.Diagnose(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rep.Findings {
		if rep.Findings[i].Kind == tcpwin.KindWindowPlateau {
			return &rep.Findings[i]
		}
	}
	if d == 0 {
		t.Fatalf("%s: no window-plateau finding", name)
	}
	return nil
}

// TestDiagnoseOneRetransmission: recorded by TestWatchLive on a loaded
// machine (three connections receiving 3000 bytes through the seed's
// middlebox); the third connection's server retransmitted one segment
// after a timeout. One spurious retransmission in 48 segments does not
// make the flow loss-limited: all three plateaus must be found.
func TestDiagnoseOneRetransmission(t *testing.T) {
	rep := diagnoseFile(t, "rewritten-retrans-client.pcap")
	var n int
	for _, f := range rep.Findings {
		if f.Kind != tcpwin.KindWindowPlateau {
			continue
		}
		n++
		if f.Conn.ID == 3 && f.Evidence.Flow.Retransmissions != 1 {
			t.Errorf("conn 3: %d retransmissions, want 1", f.Evidence.Flow.Retransmissions)
		}
	}
	if n != 3 {
		t.Errorf("%d window plateaus, want 3", n)
	}
}
