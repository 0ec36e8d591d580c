package tcpwin_test

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"testing"

	"github.com/bulletproof-labs/wsvcb/tcpwin"
)

// stalled replays segs, giving segs[from:to] the time of the last of them:
// a live reader that stamps segments when it reads them (not when the
// kernel saw them) and was descheduled while they queued up.
type stalled struct {
	segs     []tcpwin.Segment
	i        int
	from, to int
}

func (s *stalled) Next() (*tcpwin.Segment, error) {
	if s.i >= len(s.segs) {
		return nil, io.EOF
	}
	seg := s.segs[s.i]
	if s.i >= s.from && s.i < s.to {
		seg.Time = s.segs[s.to-1].Time
	}
	s.i++
	return &seg, nil
}

// TestDiagnoseShortPlateauStalledReader pins what examples/tcpwin's
// TestWatchLive relies on: a connection that carries less than one MSS at
// the seed's raw window (here the first 1200 bytes of the client-side lab
// capture, about 40 segments of at most 63 bytes) shows the plateau
// whatever the capture times say, because no flight, however many
// segments a stall bunches together, can exceed the raw window by an MSS.
// (Longer transfers split into flights by time, so a reader stamping
// segments at read time can merge flights and hide the plateau: live
// captures need kernel timestamps.)
func TestDiagnoseShortPlateauStalledReader(t *testing.T) {
	src, err := tcpwin.Open(filepath.Join("testdata", "lab", "rewritten-client.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	const limit = 1200
	var segs []tcpwin.Segment
	bytes := 0
	for {
		s, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes+s.PayloadLen > limit {
			break
		}
		bytes += s.PayloadLen
		c := *s
		c.Options = append([]byte(nil), s.Options...)
		segs = append(segs, c)
	}
	if bytes < 1000 || len(segs) < 20 {
		t.Fatalf("capture too short: %d segments, %d bytes", len(segs), bytes)
	}
	for _, w := range []int{1, 2, 5, 10, 20, 30, len(segs) - 1, len(segs)} {
		for from := 0; from+w <= len(segs); from += max(1, w/2) {
			t.Run(fmt.Sprintf("stall%d-%d", from, from+w), func(t *testing.T) {
				rep, err := tcpwin.Diagnose(context.Background(), &stalled{segs: segs, from: from, to: from + w}, nil)
				if err != nil {
					t.Fatal(err)
				}
				if got := sigs(rep.Findings); len(got) != 1 || got[0] != "window-plateau/critical/a" {
					t.Errorf("findings %q, want the plateau", got)
				}
			})
		}
	}
}
