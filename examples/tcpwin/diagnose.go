package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/bulletproof-labs/wsvcb/tcpwin"
)

const diagnoseUsage = `usage: tcpwin diagnose [-o text|json] [-min info|warning|critical] FILE [PEERFILE]
Diagnoses window-scaling problems in FILE (one-sided scaling, windows
plateauing at the raw unscaled window, zero-window stalls). With PEERFILE,
a capture of the same connections taken at the other end, also reports the
SYN options a middlebox changed in between.
Exit status: 0 no warning or critical finding, 3 at least one, 1 input
error, 2 usage error.
`

// exitFindings is the exit status of diagnose when something was found.
const exitFindings = 3

// cmdDiagnose is the "diagnose" subcommand. It returns the exit status.
func cmdDiagnose(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("diagnose", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, diagnoseUsage); fs.PrintDefaults() }
	o := fs.String("o", "text", "output format: text or json")
	minSev := fs.String("min", "info", "text output: least severity shown (info, warning, critical)")
	maxConns := fs.Int("max-conns", tcpwin.DefaultMaxConns, "connections tracked at once (LRU eviction beyond)")
	assume := fs.Int("assume-wscale", -1, "shift to assume for connections whose handshake the capture lacks (mid-stream), as tshark's tcp.default_window_scaling; -1: not known")
	pos, err := parse(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	usageErr := func(msg string) int {
		fmt.Fprintf(stderr, "tcpwin diagnose: %s\n%s", msg, diagnoseUsage)
		return exitUsage
	}
	if err != nil {
		return usageErr(err.Error())
	}
	if *o != "text" && *o != "json" {
		return usageErr(fmt.Sprintf("-o %q: want text or json", *o))
	}
	var min tcpwin.Severity
	if err := min.UnmarshalText([]byte(*minSev)); err != nil {
		return usageErr(fmt.Sprintf("-min %q: want info, warning or critical", *minSev))
	}
	if len(pos) < 1 || len(pos) > 2 {
		return usageErr(fmt.Sprintf("want FILE [PEERFILE], got %d arguments", len(pos)))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var srcs []tcpwin.FileSource
	for _, p := range pos {
		s, err := tcpwin.Open(p)
		if err != nil {
			fmt.Fprintf(stderr, "tcpwin diagnose: %v\n", err)
			return exitInput
		}
		defer s.Close()
		srcs = append(srcs, s)
	}
	cfg := &tcpwin.DiagnoseConfig{Tracker: &tcpwin.Config{MaxConns: *maxConns}}
	if *assume >= 0 {
		if *assume > 14 {
			return usageErr(fmt.Sprintf("-assume-wscale %d: want -1 (not known) or 0-14", *assume))
		}
		cfg.Tracker.AssumeWScale = assume
	}
	var rep *tcpwin.Report
	if len(srcs) == 1 {
		rep, err = tcpwin.Diagnose(ctx, srcs[0], cfg)
	} else {
		rep, err = tcpwin.DiagnosePair(ctx, srcs[0], srcs[1], cfg)
	}
	for i := range rep.Captures {
		rep.Captures[i].Name = pos[i]
	}
	if *o == "json" {
		b, jerr := rep.JSON()
		if jerr == nil {
			_, jerr = fmt.Fprintf(stdout, "%s\n", b)
		}
		if jerr != nil {
			fmt.Fprintf(stderr, "tcpwin diagnose: %v\n", jerr)
			return exitInput
		}
	} else if werr := rep.WriteText(stdout, min); werr != nil {
		fmt.Fprintf(stderr, "tcpwin diagnose: %v\n", werr)
		return exitInput
	}
	if err != nil {
		fmt.Fprintf(stderr, "tcpwin diagnose: %v\n", err)
		return exitInput
	}
	for _, c := range rep.Captures {
		// Nothing decoded but something was there: an input error, as a
		// bad frame is for the other subcommands, not "no problems".
		if c.Segments == 0 && c.BadFrames > 0 {
			fmt.Fprintf(stderr, "tcpwin diagnose: %s: no TCP segment could be read (%d malformed frames): %s\n", c.Name, c.BadFrames, c.FirstBad)
			return exitInput
		}
	}
	if w, ok := rep.Worst(); ok && w >= tcpwin.SeverityWarning {
		return exitFindings
	}
	return exitOK
}
