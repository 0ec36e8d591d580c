package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/bulletproof-labs/wsvcb/tcpwin"
	"github.com/bulletproof-labs/wsvcb/tcpwin/live"
)

const watchUsage = `usage: tcpwin watch (-i IFACE [-syn-only] [-promisc] | -r FILE) [-o text|json] [-n N] [-duration D]
Prints every TCP handshake (negotiated window scaling) and every diagnosis
(see tcpwin diagnose) as it happens. -i captures live on an interface
(AF_PACKET, needs CAP_NET_RAW); -r replays a capture file. -syn-only lets
the kernel pass SYNs only: handshakes and one-sided scaling, no flow
diagnoses. JSON output is one object per line.
`

// watchOpts configures watch.
type watchOpts struct {
	json     bool
	synOnly  bool
	count    int           // stop after this many handshakes (0: never)
	duration time.Duration // stop after this long (0: never)
	idle     time.Duration // tracker idle timeout
}

// cmdWatch is the "watch" subcommand. It returns the exit status.
func cmdWatch(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return watchMain(ctx, args, stdout, stderr, nil)
}

// watchMain is cmdWatch stopping when ctx is done. opened, when not nil, is
// called with the live source once it captures, before the first read:
// traffic from then on is seen, so a test starts its traffic there instead
// of guessing how long opening takes.
func watchMain(ctx context.Context, args []string, stdout, stderr io.Writer, opened func(*live.Source)) int {
	fs := flag.NewFlagSet("watch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, watchUsage); fs.PrintDefaults() }
	iface := fs.String("i", "", "interface to capture on")
	file := fs.String("r", "", "capture file to replay instead of an interface")
	synOnly := fs.Bool("syn-only", false, "kernel filter passes SYN segments only")
	promisc := fs.Bool("promisc", false, "put the interface in promiscuous mode")
	o := fs.String("o", "text", "output: text or json (one object per line)")
	count := fs.Int("n", 0, "stop after N handshakes (0: run until interrupted)")
	duration := fs.Duration("duration", 0, "stop after this long (0: run until interrupted)")
	idle := fs.Duration("idle", 2*time.Minute, "forget (and diagnose) connections idle this long")
	pos, err := parse(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	usageErr := func(msg string) int {
		fmt.Fprintf(stderr, "tcpwin watch: %s\n%s", msg, watchUsage)
		return exitUsage
	}
	switch {
	case err != nil:
		return usageErr(err.Error())
	case len(pos) != 0:
		return usageErr(fmt.Sprintf("unexpected arguments %q", pos))
	case (*iface == "") == (*file == ""):
		return usageErr("want exactly one of -i IFACE and -r FILE")
	case *o != "text" && *o != "json":
		return usageErr(fmt.Sprintf("-o %q: want text or json", *o))
	}
	var src tcpwin.Source
	var ls *live.Source
	if *iface != "" {
		ls, err = live.Open(*iface, &live.Config{SYNOnly: *synOnly, Promisc: *promisc})
		if err != nil {
			fmt.Fprintf(stderr, "tcpwin watch: %v\n", err)
			return exitInput
		}
		defer ls.Close()
		src = ls
		if opened != nil {
			opened(ls)
		}
	} else {
		f, err := tcpwin.Open(*file)
		if err != nil {
			fmt.Fprintf(stderr, "tcpwin watch: %v\n", err)
			return exitInput
		}
		defer f.Close()
		src = f
	}
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	if ls != nil {
		// A blocked Next returns io.EOF once the source is closed.
		go func() { <-ctx.Done(); ls.Close() }()
	}
	opts := watchOpts{json: *o == "json", synOnly: *synOnly, count: *count, duration: *duration, idle: *idle}
	err = watch(ctx, src, opts, stdout)
	if ls != nil {
		ls.Close()
		st, _ := ls.Stats()
		fmt.Fprintf(stderr, "tcpwin watch: %d frames, %d TCP segments, %d malformed; kernel: %d received, %d dropped\n",
			st.Frames, st.Segments, st.BadFrames, st.Received, st.Dropped)
	}
	if err != nil {
		fmt.Fprintf(stderr, "tcpwin watch: %v\n", err)
		return exitInput
	}
	return exitOK
}

// watchEvent is one line of JSON output.
type watchEvent struct {
	Event     string              `json:"event"` // "handshake" or "finding"
	Time      time.Time           `json:"time,omitzero"`
	Handshake *tcpwin.ConnSummary `json:"handshake,omitempty"`
	Finding   *tcpwin.Finding     `json:"finding,omitempty"`
}

// watch runs src through a tracker and a Diagnoser, printing handshakes
// and findings as they happen, until the input ends, ctx is done or
// opts.count handshakes were seen; then it diagnoses what is left.
func watch(ctx context.Context, src tcpwin.Source, opts watchOpts, w io.Writer) error {
	d := tcpwin.NewDiagnoser(nil)
	enc := json.NewEncoder(w)
	var werr error
	emit := func(ev watchEvent) {
		if werr != nil {
			return
		}
		if opts.json {
			werr = enc.Encode(ev)
			return
		}
		switch {
		case ev.Handshake != nil:
			h := ev.Handshake
			_, werr = fmt.Fprintf(w, "%s handshake conn %d %s -> %s: %s, %s: %s\n", stamp(ev.Time), h.ID, h.A, h.B,
				synText(h.SYN[0]), synText(h.SYN[1]), scaleText(h))
		case ev.Finding != nil:
			f := ev.Finding
			_, werr = fmt.Fprintf(w, "%s %s %s conn %d %s -> %s: %s\n  likely cause: %s\n", stamp(ev.Time),
				strings.ToUpper(f.Severity.String()), f.Kind, f.Conn.ID, f.Conn.A, f.Conn.B, f.Summary, f.Cause)
			for _, x := range f.Fixes {
				if werr == nil {
					_, werr = fmt.Fprintf(w, "  fix: %s\n", x)
				}
			}
		}
	}
	findings := func(t time.Time, fs []tcpwin.Finding) {
		for i := range fs {
			emit(watchEvent{Event: "finding", Time: t, Finding: &fs[i]})
		}
	}
	done := map[uint64]bool{} // finished connections already diagnosed
	var now time.Time
	tr := tcpwin.NewTracker(&tcpwin.Config{IdleTimeout: opts.idle, OnClose: func(c *tcpwin.Conn) {
		if !done[c.ID] {
			findings(now, d.Close(c))
		}
		delete(done, c.ID)
	}})
	handshakes := 0
	var err error
	for n := 0; ; n++ {
		if err = ctx.Err(); err != nil {
			err = nil
			break
		}
		var seg *tcpwin.Segment
		seg, err = src.Next()
		if errors.Is(err, tcpwin.ErrBadFrame) {
			continue
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			break
		}
		now = seg.Time
		r := tr.Observe(seg)
		c := r.Conn
		if done[c.ID] {
			continue
		}
		findings(now, d.Observe(r))
		if seg.Flags.Has(tcpwin.FlagSYN) && c.Handshake() && c.Side[r.Dir].SYNs == 1 {
			sum := d.Summary(c)
			emit(watchEvent{Event: "handshake", Time: now, Handshake: &sum})
			if opts.synOnly {
				findings(now, d.HandshakeFindings(c))
			}
			handshakes++
		}
		if c.Finished() {
			done[c.ID] = true
			findings(now, d.Close(c))
		}
		if opts.count > 0 && handshakes >= opts.count {
			break
		}
		if werr != nil {
			break
		}
	}
	tr.Flush()
	if werr != nil {
		return werr
	}
	return err
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format("15:04:05.000000")
}

func synText(s tcpwin.SYNSummary) string {
	if !s.Seen {
		return "no SYN"
	}
	ws := "no wscale"
	if s.WScale >= 0 {
		ws = fmt.Sprintf("wscale %d", s.WScale)
	}
	return fmt.Sprintf("win %d %s mss %d", s.Window, ws, s.MSS)
}

func scaleText(h *tcpwin.ConnSummary) string {
	if h.Scale[0] == "on" {
		return fmt.Sprintf("scaling on (a x%d, b x%d)", h.Multiplier[0], h.Multiplier[1])
	}
	return "scaling " + h.Scale[0]
}
