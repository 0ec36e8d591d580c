package tcpwin_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulletproof-labs/wsvcb/tcpwin"
)

// The seed's own evidence: the five tcpdump lines pasted into the 2006
// blog post (client SYN wscale 6, server SYN-ACK wscale 2, client windows
// of 92 afterwards). Diagnose must name the 2006 failure from them.
func TestDiagnoseSeedText(t *testing.T) {
	src, err := tcpwin.Open(filepath.Join("testdata", "text", "seed-blog.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	rep, err := tcpwin.Diagnose(context.Background(), src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 1 {
		t.Fatalf("findings %q, want one", sigs(rep.Findings))
	}
	f := rep.Findings[0]
	ev := f.Evidence
	if f.Kind != tcpwin.KindScaleExposure || f.Side != "a" {
		t.Errorf("finding %s side %s, want %s about the client", f.Kind, f.Side, tcpwin.KindScaleExposure)
	}
	if ev.Shift != 6 || ev.PeerShift != 2 || ev.RawWindow != 92 || ev.EffectiveWindow != 92<<6 ||
		ev.SYNWindow != 5840 || ev.ImpliedShift != 6 || ev.MSS != 1460 {
		t.Errorf("evidence %+v", ev)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text, tcpwin.SeverityInfo); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{
		"raw windows of at most 92 bytes", "wscale 6", "5888 bytes", "2006",
		"net.ipv4.tcp_window_scaling=0", `net.ipv4.tcp_rmem="4096 87380 174760"`, `net.ipv4.tcp_wmem="4096 16384 131072"`,
	} {
		if !strings.Contains(text.String(), w) {
			t.Errorf("text lacks %q:\n%s", w, text.String())
		}
	}
}

// sliceSource replays synthetic segments.
type sliceSource struct {
	segs []tcpwin.Segment
	i    int
}

func (s *sliceSource) Next() (*tcpwin.Segment, error) {
	if s.i >= len(s.segs) {
		return nil, io.EOF
	}
	s.i++
	seg := s.segs[s.i-1]
	seg.Frame = s.i
	return &seg, nil
}

var (
	cli = netip.MustParseAddr("192.0.2.1")
	srv = netip.MustParseAddr("192.0.2.2")
	t0  = time.Date(2006, 8, 1, 12, 0, 0, 0, time.UTC)
)

// wsOpts is an options area: mss 1460, nop, wscale shift (no wscale when
// shift < 0).
func wsOpts(shift int) []byte {
	o := []byte{2, 4, 5, 180}
	if shift >= 0 {
		o = append(o, 1, 3, 3, byte(shift))
	}
	return o
}

// conv builds a server -> client transfer: handshake (client offers
// cshift, server sshift), then the server sends data and the client acks
// with the windows from wins (raw, one ack per data segment), every step
// ms milliseconds apart.
func conv(cshift, sshift int, step time.Duration, seg int, wins []uint16) []tcpwin.Segment {
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * step) }
	c2s := func(i int, fl tcpwin.Flags, seq, ack uint32, win uint16, n int, o []byte) tcpwin.Segment {
		return tcpwin.Segment{Time: at(i), Src: cli, Dst: srv, SrcPort: 40000, DstPort: 80, Seq: seq, Ack: ack, Flags: fl, Window: win, PayloadLen: n, Options: o}
	}
	s2c := func(i int, fl tcpwin.Flags, seq, ack uint32, win uint16, n int, o []byte) tcpwin.Segment {
		return tcpwin.Segment{Time: at(i), Src: srv, Dst: cli, SrcPort: 80, DstPort: 40000, Seq: seq, Ack: ack, Flags: fl, Window: win, PayloadLen: n, Options: o}
	}
	const ciss, siss = 1000, 5000
	out := []tcpwin.Segment{
		c2s(0, tcpwin.FlagSYN, ciss, 0, 64240, 0, wsOpts(cshift)),
		s2c(1, tcpwin.FlagSYN|tcpwin.FlagACK, siss, ciss+1, 65160, 0, wsOpts(sshift)),
		c2s(2, tcpwin.FlagACK, ciss+1, siss+1, wins[0], 0, nil),
	}
	seq := uint32(siss + 1)
	for i, w := range wins {
		n := seg
		out = append(out, s2c(3+2*i, tcpwin.FlagACK|tcpwin.FlagPSH, seq, ciss+1, 500, n, nil))
		seq += uint32(n)
		out = append(out, c2s(4+2*i, tcpwin.FlagACK, ciss+1, seq, w, 0, nil))
	}
	return out
}

func TestDiagnoseZeroWindow(t *testing.T) {
	wins := []uint16{500, 400, 300, 0, 0, 0, 0, 200, 300, 0, 0, 500}
	src := &sliceSource{segs: conv(7, 7, 10*time.Millisecond, 1000, wins)}
	rep, err := tcpwin.Diagnose(context.Background(), src, nil)
	if err != nil {
		t.Fatal(err)
	}
	var zw *tcpwin.Finding
	for i := range rep.Findings {
		if rep.Findings[i].Kind == tcpwin.KindZeroWindow {
			zw = &rep.Findings[i]
		}
	}
	if zw == nil {
		t.Fatalf("no zero-window finding: %q", sigs(rep.Findings))
	}
	ev := zw.Evidence
	// Zero windows at acks 3..6 (stall from ack 3 to ack 7: 4 acks, 20 ms
	// apart = 80 ms) and 9..10 (40 ms).
	if zw.Side != "a" || ev.ZeroWindows != 6 || ev.Stalls != 2 || ev.StallTotalMS != 120 || ev.StallMaxMS != 80 {
		t.Errorf("zero-window evidence %+v side %s", ev, zw.Side)
	}
	if !strings.Contains(zw.Cause, "application") {
		t.Errorf("cause %q", zw.Cause)
	}
}

// A sender that honours the scale: flights far above the raw window, no
// plateau finding.
func TestDiagnoseHonouredScale(t *testing.T) {
	wins := make([]uint16, 20)
	for i := range wins {
		wins[i] = 20 // 20 << 10 = 20480 bytes
	}
	// 4000 bytes in flight per round trip exceed the raw 20 plus a
	// segment: the server reads the windows scaled.
	src := &sliceSource{segs: conv(10, 10, 10*time.Millisecond, 4000, wins)}
	rep, err := tcpwin.Diagnose(context.Background(), src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 0 {
		t.Errorf("findings %q on a healthy transfer", sigs(rep.Findings))
	}
}

// The plateau built synthetically: the server sends exactly the client's
// raw window each round trip, and the client scales by 2^7.
func TestDiagnoseSyntheticPlateau(t *testing.T) {
	wins := make([]uint16, 12)
	for i := range wins {
		wins[i] = 92
	}
	src := &sliceSource{segs: conv(7, 7, 50*time.Millisecond, 92, wins)}
	rep, err := tcpwin.Diagnose(context.Background(), src, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := sigs(rep.Findings)
	if len(got) != 1 || got[0] != "window-plateau/critical/a" {
		t.Fatalf("findings %q", got)
	}
	fl := rep.Findings[0].Evidence.Flow
	if fl.MaxInFlight != 92 || fl.AtRawWindow != 12 || fl.DataSegments != 12 || fl.Bytes != 12*92 {
		t.Errorf("flow %+v", *fl)
	}
	// Fewer data segments than MinDataSegments: only the exposure.
	src = &sliceSource{segs: conv(7, 7, 50*time.Millisecond, 92, wins[:3])}
	rep, err = tcpwin.Diagnose(context.Background(), src, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The server's raw windows (500 << 7) are below a segment too, and
	// nothing flowed to it: an info for side b.
	if got := sigs(rep.Findings); len(got) != 2 || got[0] != "scale-exposure/warning/a" || got[1] != "scale-exposure/info/b" {
		t.Errorf("thin flow: findings %q", got)
	}
}

// errSource fails after its segments.
type errSource struct {
	sliceSource
	err error
}

func (s *errSource) Next() (*tcpwin.Segment, error) {
	seg, err := s.sliceSource.Next()
	if err == io.EOF {
		return nil, s.err
	}
	return seg, err
}

func TestDiagnoseErrors(t *testing.T) {
	boom := errors.New("boom")
	src := &errSource{sliceSource{segs: conv(7, 7, time.Millisecond, 100, []uint16{1, 2})}, boom}
	rep, err := tcpwin.Diagnose(context.Background(), src, nil)
	if !errors.Is(err, boom) || rep == nil || rep.Captures[0].Segments == 0 {
		t.Errorf("err %v rep %+v", err, rep)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = tcpwin.Diagnose(ctx, &sliceSource{segs: conv(7, 7, time.Millisecond, 100, []uint16{1})}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func FuzzDiagnose(f *testing.F) {
	for _, p := range []string{"lab/rewritten-client.pcap", "text/seed-blog.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata", p))
		if err != nil {
			f.Fatal(err)
		}
		if len(b) > 4096 {
			b = b[:4096]
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		src, err := tcpwin.NewReader(bytes.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		rep, _ := tcpwin.Diagnose(context.Background(), src, nil)
		if rep == nil {
			t.Fatal("nil report")
		}
		var b bytes.Buffer
		if err := rep.WriteText(&b, tcpwin.SeverityInfo); err != nil {
			t.Fatal(err)
		}
		if _, err := rep.JSON(); err != nil {
			t.Fatal(err)
		}
		// Both halves of the input as two captures of one link.
		a, errA := tcpwin.NewReader(bytes.NewReader(data), "a")
		b2, errB := tcpwin.NewReader(bytes.NewReader(data[len(data)/2:]), "b")
		if errA == nil && errB == nil {
			if rep, _ := tcpwin.DiagnosePair(context.Background(), a, b2, nil); rep == nil {
				t.Fatal("nil pair report")
			}
		}
	})
}

// Retransmitted data is counted and rules out the plateau (the seed's
// pathology is loss-free).
func TestDiagnoseRetransmissions(t *testing.T) {
	wins := make([]uint16, 12)
	for i := range wins {
		wins[i] = 92
	}
	segs := conv(7, 7, 50*time.Millisecond, 92, wins)
	// Resend the first data segment (frame 4) at the end, and a partial
	// overlap of the last one.
	re := segs[3]
	re.Time = segs[len(segs)-1].Time.Add(time.Millisecond)
	last := segs[len(segs)-2]
	part := last
	part.Seq += 46
	part.PayloadLen = 92
	part.Time = re.Time.Add(time.Millisecond)
	segs = append(segs, re, part)
	rep, err := tcpwin.Diagnose(context.Background(), &sliceSource{segs: segs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fl := rep.Conns[0][0].Flow[1]
	if fl.Retransmissions != 1 || fl.DataSegments != 14 || fl.Bytes != 12*92+46 {
		t.Errorf("flow %+v", fl)
	}
}

func BenchmarkDiagnose(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "lab", "healthy-server.pcap"))
	if err != nil {
		b.Fatal(err)
	}
	var segs int
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		src, err := tcpwin.NewReader(bytes.NewReader(data), "bench")
		if err != nil {
			b.Fatal(err)
		}
		rep, err := tcpwin.Diagnose(context.Background(), src, nil)
		if err != nil {
			b.Fatal(err)
		}
		segs = int(rep.Captures[0].Segments)
	}
	b.ReportMetric(float64(segs)*float64(b.N)/b.Elapsed().Seconds(), "segments/s")
}
