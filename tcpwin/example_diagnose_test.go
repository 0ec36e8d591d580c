package tcpwin_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/bulletproof-labs/wsvcb/tcpwin"
)

// The tcpdump lines pasted in the 2006 blog post: the client offers wscale 6
// and then advertises raw windows of 92 (5888 bytes scaled). Too short to
// see the server's sending, Diagnose reports the failure's signature.
func ExampleDiagnose() {
	const paste = `tcpdump: listening on bond0
> S 0:0 win 5840 <mss 1460,sackOK,timestamp 94318 0,nop,wscale 6> (DF)
> S 0:0(0) ack 1 win 5840<mss 1460,nop,wscale 2> (DF)
> . ack 1 win 92 (DF)
> P 1:352(351) ack 1 win 92 (DF)
> . ack 352 win 1608 (DF)
`
	src, err := tcpwin.NewReader(strings.NewReader(paste), "paste")
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := tcpwin.Diagnose(context.Background(), src, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range rep.Findings {
		e := f.Evidence
		fmt.Printf("%s %s side %s: wscale %d, raw window %d = %d bytes, implied shift %d\n",
			f.Severity, f.Kind, f.Side, e.Shift, e.RawWindow, e.EffectiveWindow, e.ImpliedShift)
		fmt.Println(f.Fixes[1])
	}
	// Output:
	// info scale-exposure side a: wscale 6, raw window 92 = 5888 bytes, implied shift 6
	// if confirmed, on 192.0.2.1: sysctl -w net.ipv4.tcp_window_scaling=0 (no scaling either way: windows cap at 64 KiB, so at most 64 KiB per round trip)
}

// The same handshake captured at the client and at the server: a
// middlebox in between rewrote the client's wscale 10 to 0.
func ExampleDiagnosePair() {
	const client = `12:00:00.000000 IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [S], seq 1000, win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 10], length 0
12:00:00.040000 IP 10.0.0.2.80 > 10.0.0.1.40000: Flags [S.], seq 5000, ack 1001, win 65160, options [mss 1460,sackOK,TS val 2 ecr 1,nop,wscale 10], length 0
12:00:00.040100 IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [.], ack 5001, win 63, length 0
`
	const server = `12:00:00.020000 IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [S], seq 1000, win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 0], length 0
12:00:00.020050 IP 10.0.0.2.80 > 10.0.0.1.40000: Flags [S.], seq 5000, ack 1001, win 65160, options [mss 1460,sackOK,TS val 2 ecr 1,nop,wscale 10], length 0
12:00:00.060100 IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [.], ack 5001, win 63, length 0
`
	a, _ := tcpwin.NewReader(strings.NewReader(client), "client")
	b, _ := tcpwin.NewReader(strings.NewReader(server), "server")
	rep, err := tcpwin.DiagnosePair(context.Background(), a, b, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("matched", rep.Matched)
	for _, f := range rep.Findings {
		if f.Kind == tcpwin.KindSYNOptionChanged {
			fmt.Println(f.Severity, f.Summary)
		}
	}
	// Output:
	// matched 1
	// critical 10.0.0.1:40000's SYN: window scale rewritten (wscale 10 -> 0), capture 0 -> capture 1
}

// A Diagnoser next to a Tracker, for sources that never end (live
// capture): handshake findings come from Observe, the rest when a
// connection leaves the tracker.
func ExampleDiagnoser() {
	const capture = `12:00:00.000000 IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [S], seq 1000, win 64240, options [mss 1460,nop,wscale 7], length 0
12:00:00.040000 IP 10.0.0.2.80 > 10.0.0.1.40000: Flags [S.], seq 5000, ack 1001, win 65160, options [mss 1460], length 0
12:00:00.040100 IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [.], ack 5001, win 64240, length 0
`
	d := tcpwin.NewDiagnoser(nil)
	print := func(fs []tcpwin.Finding) {
		for _, f := range fs {
			fmt.Println(f.Severity, f.Kind, "side", f.Side)
		}
	}
	tr := tcpwin.NewTracker(&tcpwin.Config{OnClose: func(c *tcpwin.Conn) { print(d.Close(c)) }})
	src, _ := tcpwin.NewReader(strings.NewReader(capture), "capture")
	for {
		seg, err := src.Next()
		if err != nil {
			break
		}
		print(d.Observe(tr.Observe(seg)))
	}
	tr.Flush()
	// Output:
	// warning one-sided-scaling side b
}
