// Command demo runs the project's main job on embedded defaults: no root,
// no vCenter, no network beyond loopback.
//
// Usage:
//
//	go run ./examples/demo [-only tcpwin|vcb]
//
// Part 1 replays the 2006 failure that motivated package tcpwin: the
// tcpdump text from the seed blog post (client offers wscale 6, the server
// later reads "win 92" unscaled), decoded, tracked and explained; then the
// shift a Linux host offers for the seed's two sysctl fixes. Part 2 runs
// package vcb against an embedded vSphere simulator: back up a VM whose
// disks hold real bytes through a quiesced snapshot, restore it as a copy,
// and show that the restored disks are byte-identical.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/bulletproof-labs/wsvcb/examples/internal/vcbdemo"
	"github.com/bulletproof-labs/wsvcb/tcpwin"
)

// seedText is what tcpdump printed in the seed blog post (2006, Linux
// 2.6.17 client behind a middlebox that reset its window scale to 0),
// pasted as the blog shows it: five packets on one line.
const seedText = `tcpdump: listening on bond0 > S 0:0 win 5840 <mss 1460,sackOK,timestamp 94318 0,nop,wscale 6> (DF) > S 0:0(0) ack 1 win 5840<mss 1460,nop,wscale 2> (DF) > . ack 1 win 92 (DF) > P 1:352(351) ack 1 win 92 (DF) > . ack 352 win 1608 (DF)
`

func main() {
	only := flag.String("only", "", `run only one part: "tcpwin" or "vcb"`)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *only == "" || *only == "tcpwin" {
		if err := tcpwinDemo(ctx, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "demo: tcpwin:", err)
			os.Exit(1)
		}
	}
	if *only == "" || *only == "vcb" {
		fmt.Println("\n== vcb: back up and restore a VM on an embedded vSphere simulator ==")
		if err := vcbdemo.Run(ctx, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "demo: vcb:", err)
			os.Exit(1)
		}
	}
}

func tcpwinDemo(ctx context.Context, w io.Writer) error {
	fmt.Fprintln(w, "== tcpwin: the 2006 seed, from the tcpdump text in the blog post ==")
	fmt.Fprint(w, seedText)
	src, err := tcpwin.NewReader(strings.NewReader(seedText), "seed")
	if err != nil {
		return err
	}
	a := tcpwin.NewAnalyzer(src, nil)
	fmt.Fprintln(w, "\nframe\tdir\tflags\twin\tscale\teffective window (as the sender meant it)")
	for a.Next() {
		r := a.Result()
		s := r.Segment
		flags := "."
		if s.Flags.Has(tcpwin.FlagSYN) {
			flags = "S"
			if s.Flags.Has(tcpwin.FlagACK) {
				flags = "S."
			}
		}
		scale := "-"
		if !s.Flags.Has(tcpwin.FlagSYN) {
			scale = fmt.Sprint(r.Multiplier())
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%s\t%d\n", s.Frame, r.Dir, flags, s.Window, scale, r.Window)
	}
	if err := a.Err(); err != nil {
		return err
	}
	for _, c := range a.Conns() {
		cs, ss := c.Side[0].SYN, c.Side[1].SYN
		fmt.Fprintf(w, "\nclient offered wscale %d, server offered wscale %d: the client's \"win 92\" means %d bytes.\n",
			cs.Shift, ss.Shift, tcpwin.EffectiveWindow(92, cs.Shift))
		fmt.Fprintf(w, "A middlebox that rewrites the client's wscale 6 to 0 makes the server read it as 92 bytes:\n")
		fmt.Fprintf(w, "one 92-byte flight per round trip, the blog's 10 kB/s instead of ~900 kB/s.\n")
	}

	fmt.Fprintln(w, "\n== tcpwin diagnose: the seed's five lines ==")
	src, err = tcpwin.NewReader(strings.NewReader(seedText), "seed")
	if err != nil {
		return err
	}
	rep, err := tcpwin.Diagnose(ctx, src, nil)
	if err != nil {
		return err
	}
	if err := rep.WriteText(w, tcpwin.SeverityInfo); err != nil {
		return err
	}

	// The same failure reproduced on a current kernel by examples/tcpwin-lab
	// (client wscale 6 rewritten to 0 by a middlebox), captured at both ends.
	fmt.Fprintln(w, "\n== tcpwin diagnose: the seed reproduced in network namespaces, captures from both ends ==")
	if err := labPair(ctx, w); err != nil {
		return err
	}

	fmt.Fprintln(w, "\n== tcpwin: what a Linux host offers, before and after the seed's fixes ==")
	for _, p := range []struct {
		what string
		cfg  tcpwin.LinuxConfig
	}{
		{"the seed's 2.6.17 client (tcp_rmem max 3 MiB)", tcpwin.LinuxConfig{TCPRmem: [3]int{4096, 87380, 3 << 20}, RmemMax: 131071, Era: tcpwin.Linux2617}},
		{"fix 1: tcp_window_scaling=0", tcpwin.LinuxConfig{TCPRmem: [3]int{4096, 87380, 3 << 20}, RmemMax: 131071, NoWindowScaling: true, Era: tcpwin.Linux2617}},
		{"fix 2: tcp_rmem \"4096 87380 174760\"", tcpwin.LinuxConfig{TCPRmem: [3]int{4096, 87380, 174760}, RmemMax: 131071, Era: tcpwin.Linux2617}},
		{"current kernel defaults", tcpwin.LinuxConfig{}},
		{"fix 2 on a current kernel", tcpwin.LinuxConfig{TCPRmem: [3]int{4096, 87380, 174760}}},
		{"fix 2 where net.core.rmem_max is 4 MiB", tcpwin.LinuxConfig{TCPRmem: [3]int{4096, 87380, 174760}, RmemMax: 4 << 20}},
		{"  ... plus SO_RCVBUF 87380 on the socket", tcpwin.LinuxConfig{TCPRmem: [3]int{4096, 87380, 174760}, RmemMax: 4 << 20, RcvBuf: 87380}},
	} {
		pred, err := tcpwin.PredictLinux(&p.cfg)
		if err != nil {
			return err
		}
		offer := "no window-scale option (windows capped at 64 KiB)"
		if pred.Offered {
			offer = fmt.Sprintf("wscale %d (up to %d bytes)", pred.WScale, pred.MaxWindow)
		}
		fmt.Fprintf(w, "%-46s -> %s\n", p.what, offer)
	}
	return nil
}

// labPair diagnoses the lab captures shipped in tcpwin/testdata/lab (found
// from the working directory upwards, so `go run ./examples/demo` works
// from anywhere in the checkout).
func labPair(ctx context.Context, w io.Writer) error {
	dir, err := findUp(filepath.Join("tcpwin", "testdata", "lab"))
	if err != nil {
		fmt.Fprintln(w, "(lab captures not found: run the demo inside the checkout)")
		return nil
	}
	server, err := tcpwin.Open(filepath.Join(dir, "rewritten-6to0-server.pcap"))
	if err != nil {
		return err
	}
	defer server.Close()
	client, err := tcpwin.Open(filepath.Join(dir, "rewritten-6to0-client.pcap"))
	if err != nil {
		return err
	}
	defer client.Close()
	rep, err := tcpwin.DiagnosePair(ctx, server, client, nil)
	if err != nil {
		return err
	}
	for _, f := range rep.Findings {
		fmt.Fprintf(w, "%s %s: %s\n", strings.ToUpper(f.Severity.String()), f.Kind, f.Summary)
	}
	return nil
}

func findUp(rel string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, rel)
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}
