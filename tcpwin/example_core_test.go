package tcpwin_test

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/bulletproof-labs/wsvcb/tcpwin"
)

// The 2006 case: a window field of 92 from a side that offered shift 6.
func ExampleEffectiveWindow() {
	fmt.Println(tcpwin.EffectiveWindow(92, 6))
	fmt.Println(tcpwin.EffectiveWindow(16022, 6))
	fmt.Println(tcpwin.EffectiveWindow(65535, 15)) // shift clamped to 14
	// Output:
	// 5888
	// 1025408
	// 1073725440
}

func ExampleShiftForBuffer() {
	shift, ok := tcpwin.ShiftForBuffer(4 << 20) // 4 MiB receive buffer
	fmt.Println(shift, ok, tcpwin.MaxWindow(shift))
	// Output: 7 true 8388480
}

func ExampleClampShift() {
	s, clamped := tcpwin.ClampShift(15)
	fmt.Println(s, clamped)
	// Output: 14 true
}

func ExampleOptions() {
	// mss 1460, sackOK, timestamps, nop, wscale 7: a Linux SYN.
	raw := []byte{2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 48, 57, 0, 0, 0, 0, 1, 3, 3, 7}
	it := tcpwin.Options(raw)
	for it.Next() {
		o := it.Option()
		switch o.Kind {
		case tcpwin.OptMSS:
			fmt.Println("mss", o.MSS())
		case tcpwin.OptWindowScale:
			fmt.Println("wscale", o.Shift())
		case tcpwin.OptTimestamps:
			val, ecr := o.Timestamps()
			fmt.Println("timestamps", val, ecr)
		default:
			fmt.Println(o.Kind)
		}
	}
	fmt.Println(it.Err())
	// Output:
	// mss 1460
	// sackOK
	// timestamps 12345 0
	// nop
	// wscale 7
	// <nil>
}

func ExampleParseOptions() {
	// A window-scale option with a bad length after a valid MSS.
	s, err := tcpwin.ParseOptions([]byte{2, 4, 5, 180, 3, 4, 7, 0})
	fmt.Println(s.Has(tcpwin.HasMSS), s.MSS, s.Has(tcpwin.HasWindowScale))
	fmt.Println(err, errors.Is(err, tcpwin.ErrOptionLength))
	// Output:
	// true 1460 false
	// tcp option wscale at offset 4 (length 4): bad option length true
}

func ExampleTracker() {
	cli, srv := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	seg := func(fromCli bool, f tcpwin.Flags, win uint16, opts []byte) *tcpwin.Segment {
		s := &tcpwin.Segment{Src: cli, Dst: srv, SrcPort: 40000, DstPort: 80, Flags: f, Window: win, Options: opts}
		if !fromCli {
			s.Src, s.Dst, s.SrcPort, s.DstPort = srv, cli, 80, 40000
		}
		return s
	}
	tr := tcpwin.NewTracker(nil)
	for _, s := range []*tcpwin.Segment{
		seg(true, tcpwin.FlagSYN, 5840, []byte{1, 3, 3, 6}),                 // SYN, wscale 6
		seg(false, tcpwin.FlagSYN|tcpwin.FlagACK, 5792, []byte{1, 3, 3, 2}), // SYN-ACK, wscale 2
		seg(true, tcpwin.FlagACK, 92, nil),
		seg(false, tcpwin.FlagACK, 1448, nil),
	} {
		r := tr.Observe(s)
		fmt.Println(r.Dir, r.Scale, r.Multiplier(), r.Window)
	}
	// Output:
	// a2b unknown -1 5840
	// b2a on 4 5792
	// a2b on 64 5888
	// b2a on 4 5792
}

func ExampleAnalyzer() {
	text := `12:00:00.000000 IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [S], seq 1, win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0
12:00:00.000100 IP 10.0.0.2.80 > 10.0.0.1.40000: Flags [S.], seq 5, ack 2, win 65160, options [mss 1460,sackOK,TS val 2 ecr 1,nop,wscale 2], length 0
12:00:00.000200 IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [.], ack 6, win 502, length 0
12:00:00.000300 IP 10.0.0.2.80 > 10.0.0.1.40000: Flags [P.], seq 6:106, ack 2, win 509, length 100
`
	src, err := tcpwin.NewReader(strings.NewReader(text), "example.txt")
	if err != nil {
		fmt.Println(err)
		return
	}
	a := tcpwin.NewAnalyzer(src, nil)
	for a.Next() {
		r := a.Result()
		fmt.Println(r.Segment.Frame, r.Dir, r.Multiplier(), r.Window)
	}
	fmt.Println("error:", a.Err())
	for _, c := range a.Conns() {
		fmt.Println(c.ID, c.A, c.B, c.Side[0].Stats.Packets, c.Side[1].Stats.Bytes, c.Side[1].Windows().Max)
	}
	// Output:
	// 1 a2b -1 64240
	// 2 b2a 4 65160
	// 3 a2b 128 64256
	// 4 b2a 4 2036
	// error: <nil>
	// 1 10.0.0.1:40000 10.0.0.2:80 2 100 2036
}
