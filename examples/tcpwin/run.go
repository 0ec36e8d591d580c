package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/bulletproof-labs/wsvcb/tcpwin"
)

// Exit statuses.
const (
	exitOK    = 0
	exitInput = 1
	exitUsage = 2
)

const usage = `usage:
  tcpwin handshakes [-o tsv|json] FILE
  tcpwin windows    [-o tsv|json] [-assume-wscale N] FILE
  tcpwin conns      [-o tsv|json] [-assume-wscale N] FILE
  tcpwin calc [-o tsv|json] -win N -shift S
  tcpwin calc [-o tsv|json] -buf BYTES
  tcpwin predict [-rmem "MIN DEF MAX"] [-rmem-max N] [-rcvbuf N] [-o json]
  tcpwin diagnose [-o text|json] [-min SEV] [-assume-wscale N] FILE [PEERFILE]
  tcpwin watch (-i IFACE [-syn-only] | -r FILE) [-o text|json] [-n N] [-duration D]
FILE is a pcap, pcapng or tcpdump text file, "-" for standard input.
`

// errUsage marks usage errors (exit status 2).
type errUsage struct{ msg string }

func (e errUsage) Error() string { return e.msg }

// run is the whole command: it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmd, args := args[0], args[1:]
	var err error
	switch cmd {
	case "handshakes", "windows", "conns":
		err = runCapture(cmd, args, stdout, stderr)
	case "calc":
		err = runCalc(args, stdout, stderr)
	case "predict":
		return cmdPredict(args, stdout, stderr)
	case "diagnose":
		return cmdDiagnose(args, stdout, stderr)
	case "watch":
		return cmdWatch(args, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		err = errUsage{fmt.Sprintf("unknown command %q", cmd)}
	}
	var ue errUsage
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "tcpwin: %v\n%s", err, usage)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "tcpwin: %v\n", err)
		return exitInput
	}
}

// parse parses flags interspersed with positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errUsage{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func newFlags(name string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := fs.String("o", "tsv", "output format: tsv or json")
	return fs, o
}

func checkFormat(o string) error {
	if o != "tsv" && o != "json" {
		return errUsage{fmt.Sprintf("-o %q: want tsv or json", o)}
	}
	return nil
}

func runCapture(cmd string, args []string, stdout, stderr io.Writer) error {
	fs, o := newFlags(cmd, stderr)
	maxConns := fs.Int("max-conns", tcpwin.DefaultMaxConns, "connections tracked at once (LRU eviction beyond)")
	assume := fs.Int("assume-wscale", -1, "shift to assume for connections whose handshake the capture lacks (mid-stream), as tshark's tcp.default_window_scaling; -1: not known")
	idle := fs.Duration("idle", tcpwin.DefaultIdleTimeout, "evict connections idle this long in capture time (negative: never)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := checkFormat(*o); err != nil {
		return err
	}
	if len(pos) != 1 {
		return errUsage{fmt.Sprintf("%s needs exactly one FILE, got %d arguments", cmd, len(pos))}
	}
	src, err := tcpwin.Open(pos[0])
	if err != nil {
		return err
	}
	defer src.Close()
	cfg := &tcpwin.Config{MaxConns: *maxConns, IdleTimeout: *idle}
	if *assume >= 0 {
		if *assume > 14 {
			return errUsage{fmt.Sprintf("-assume-wscale %d: want -1 (not known) or 0-14", *assume)}
		}
		cfg.AssumeWScale = assume
	}
	if cmd != "conns" {
		cfg.OnClose = func(*tcpwin.Conn) {} // keep no summaries: memory stays bounded
	}
	a := tcpwin.NewAnalyzer(src, cfg)
	var t *table
	switch cmd {
	case "handshakes":
		t = newTable(stdout, *o, "frame", "src", "dst", "sport", "dport", "syn", "ack", "win", "mss", "wscale", "sackok", "tsval")
		for a.Next() {
			r := a.Result()
			s := r.Segment
			if !s.Flags.Has(tcpwin.FlagSYN) {
				continue
			}
			op := r.Options
			mss, ws, ts := none(), none(), none()
			if op.Has(tcpwin.HasMSS) {
				mss = num(op.MSS)
			}
			if op.Has(tcpwin.HasWindowScale) {
				ws = num(op.Shift)
			}
			if op.Has(tcpwin.HasTimestamps) {
				ts = num(op.TSval)
			}
			t.row(num(s.Frame), str(s.Src.String()), str(s.Dst.String()), num(s.SrcPort), num(s.DstPort),
				bit(true), bit(s.Flags.Has(tcpwin.FlagACK)), num(s.Window), mss, ws,
				bit(op.Has(tcpwin.HasSACKPermitted)), ts)
		}
	case "windows":
		t = newTable(stdout, *o, "frame", "syn", "ack", "win", "scale", "window")
		for a.Next() {
			r := a.Result()
			s := r.Segment
			syn := s.Flags.Has(tcpwin.FlagSYN)
			scale := none()
			if !syn {
				scale = num(r.Multiplier())
			}
			t.row(num(s.Frame), bit(syn), bit(s.Flags.Has(tcpwin.FlagACK)), num(s.Window), scale, num(r.Window))
		}
	case "conns":
		for a.Next() {
		}
		t = newTable(stdout, *o, connCols...)
		for _, c := range a.Conns() {
			t.row(connRow(&c)...)
		}
	}
	if err := t.close(); err != nil {
		return err
	}
	skipped, n := a.Skipped()
	for _, e := range skipped {
		if e != a.Err() || n > 1 {
			fmt.Fprintf(stderr, "tcpwin: skipped: %v\n", e)
		}
	}
	if n > len(skipped) {
		fmt.Fprintf(stderr, "tcpwin: %d more malformed frames skipped\n", n-len(skipped))
	}
	return a.Err()
}

var connCols = []string{
	"conn", "src", "sport", "dst", "dport", "first_frame", "last_frame", "handshake",
	"a2b_mss", "a2b_wscale", "b2a_mss", "b2a_wscale", "a2b_scale", "b2a_scale",
	"a2b_packets", "a2b_bytes", "a2b_win_max", "a2b_win_min", "a2b_win_avg", "a2b_win_zero",
	"b2a_packets", "b2a_bytes", "b2a_win_max", "b2a_win_min", "b2a_win_avg", "b2a_win_zero",
	"wscale_nonsyn", "end",
}

func connRow(c *tcpwin.Conn) []cell {
	row := []cell{
		num(c.ID), str(c.A.Addr.String()), num(c.A.Port), str(c.B.Addr.String()), num(c.B.Port),
		num(c.FirstFrame), num(c.LastFrame), bit(c.Handshake()),
	}
	for _, s := range c.Side {
		mss, ws := none(), none()
		if s.SYNs > 0 && s.SYN.Has(tcpwin.HasMSS) {
			mss = num(s.SYN.MSS)
		}
		if s.SYNs > 0 && s.SYN.Has(tcpwin.HasWindowScale) {
			ws = num(s.SYN.Shift)
		}
		row = append(row, mss, ws)
	}
	for _, s := range c.Side {
		row = append(row, num(tcpwin.Multiplier(s.Scale, s.Shift)))
	}
	for _, s := range c.Side {
		w := s.Windows()
		row = append(row, num(s.Stats.Packets), num(s.Stats.Bytes), num(w.Max), num(w.Min), flt(w.Avg()), num(w.Zero))
	}
	end := "live"
	switch {
	case c.RST:
		end = "rst"
	case c.Finished():
		end = "fin"
	case c.Closed != tcpwin.ClosedEnd:
		end = c.Closed.String()
	}
	return append(row, num(c.Side[0].Stats.WScaleNonSYN+c.Side[1].Stats.WScaleNonSYN), str(end))
}

func runCalc(args []string, stdout, stderr io.Writer) error {
	fs, o := newFlags("calc", stderr)
	win := fs.String("win", "", "raw 16-bit window field")
	shift := fs.String("shift", "", "window-scale shift count (values above 14 are used as 14)")
	buf := fs.String("buf", "", "receive buffer size in bytes")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := checkFormat(*o); err != nil {
		return err
	}
	if len(pos) != 0 {
		return errUsage{fmt.Sprintf("calc takes no arguments, got %q", pos)}
	}
	switch {
	case *buf != "" && *win == "" && *shift == "":
		b, err := strconv.ParseUint(*buf, 10, 64)
		if err != nil {
			return errUsage{fmt.Sprintf("-buf %q: want a byte count", *buf)}
		}
		s, ok := tcpwin.ShiftForBuffer(b)
		t := newTable(stdout, *o, "buf", "shift", "scale", "max_window", "fits")
		t.row(num(b), num(s), num(tcpwin.ScaleFactor(s)), num(tcpwin.MaxWindow(s)), bit(ok))
		if err := t.close(); err != nil {
			return err
		}
		if !ok {
			fmt.Fprintf(stderr, "tcpwin: %d bytes exceed the largest scaled window %d (RFC 7323 section 2.3)\n", b, uint32(tcpwin.MaxScaledWindow))
		}
		return nil
	case *buf == "" && *win != "" && *shift != "":
		w, err := strconv.ParseUint(*win, 10, 16)
		if err != nil {
			return errUsage{fmt.Sprintf("-win %q: want 0..65535", *win)}
		}
		s, err := strconv.ParseUint(*shift, 10, 8)
		if err != nil {
			return errUsage{fmt.Sprintf("-shift %q: want 0..14 (up to 255, clamped to 14)", *shift)}
		}
		cs, clamped := tcpwin.ClampShift(uint8(s))
		t := newTable(stdout, *o, "win", "shift", "clamped", "scale", "window")
		t.row(num(w), num(cs), bit(clamped), num(tcpwin.ScaleFactor(cs)), num(tcpwin.EffectiveWindow(uint16(w), cs)))
		if err := t.close(); err != nil {
			return err
		}
		if clamped {
			fmt.Fprintf(stderr, "tcpwin: shift %d above %d, used as %d (RFC 7323 section 2.3)\n", s, tcpwin.MaxShift, tcpwin.MaxShift)
		}
		return nil
	}
	return errUsage{"calc needs either -win N -shift S or -buf BYTES"}
}
