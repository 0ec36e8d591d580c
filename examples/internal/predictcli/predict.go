// Package predictcli implements `tcpwin predict`: the window-scale shift a
// Linux host offers for given tcp_rmem, net.core.rmem_max, SO_RCVBUF and
// tcp_window_scaling (tcpwin.PredictLinux). It lives outside package main so
// the tcpwin command (examples/tcpwin) can dispatch to it with one line.
package predictcli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"

	"github.com/bulletproof-labs/wsvcb/sysctl"
	"github.com/bulletproof-labs/wsvcb/tcpwin"
)

// Exit statuses.
const (
	ExitOK    = 0
	ExitInput = 1
	ExitUsage = 2
)

// Usage is the command's synopsis.
const Usage = `usage: tcpwin predict [-rmem "MIN DEF MAX"] [-rmem-max N] [-rcvbuf N] [-window-clamp N]
                      [-no-scaling] [-era current|2.6.17] [-ratio N] [-local] [-o text|json]
Prints the TCP window-scale shift a Linux host offers in its SYN/SYN-ACK.
Defaults are a current kernel's (tcp_rmem "4096 131072 6291456", rmem_max 212992);
-local starts from this host's /proc/sys/net values instead.
`

// Output is the JSON document printed with -o json.
type Output struct {
	tcpwin.LinuxPrediction
	Input Input `json:"input"`
}

// Input echoes the configuration used.
type Input struct {
	TCPRmem       [3]int `json:"tcp_rmem"`
	RmemMax       int    `json:"rmem_max"`
	RcvBuf        int    `json:"rcvbuf,omitempty"`
	WindowClamp   int    `json:"window_clamp,omitempty"`
	WindowScaling bool   `json:"tcp_window_scaling"`
	ScalingRatio  int    `json:"scaling_ratio,omitempty"`
}

// procRoot is where -local reads sysctls (a test may point it at a fake tree).
var procRoot = sysctl.DefaultRoot

// Run executes the command and returns its exit status.
func Run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("predict", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	rmem := fs.String("rmem", "", `net.ipv4.tcp_rmem "MIN DEFAULT MAX"`)
	rmemMax := fs.Int("rmem-max", 0, "net.core.rmem_max in bytes")
	rcvbuf := fs.Int("rcvbuf", 0, "SO_RCVBUF set before connect/listen (0: none)")
	clamp := fs.Int("window-clamp", 0, "TCP_WINDOW_CLAMP (0: none)")
	noScaling := fs.Bool("no-scaling", false, "net.ipv4.tcp_window_scaling=0")
	era := fs.String("era", "current", "kernel behaviour: current or 2.6.17")
	ratio := fs.Int("ratio", 0, "initial scaling_ratio in 1/256 (0: era default)")
	local := fs.Bool("local", false, "start from this host's /proc/sys/net values")
	out := fs.String("o", "text", "output format: text or json")
	usage := func(msg string) int {
		fmt.Fprintf(stderr, "tcpwin predict: %s\n%s", msg, Usage)
		return ExitUsage
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, Usage)
			return ExitOK
		}
		return usage(err.Error())
	}
	if fs.NArg() > 0 {
		return usage(fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	if *out != "text" && *out != "json" {
		return usage(fmt.Sprintf("-o %q: want text or json", *out))
	}
	cfg := tcpwin.LinuxConfig{RcvBuf: *rcvbuf, WindowClamp: *clamp, NoWindowScaling: *noScaling, ScalingRatio: *ratio}
	var err error
	if cfg.Era, err = tcpwin.ParseLinuxEra(*era); err != nil {
		return usage(err.Error())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *local {
		if err := readLocal(&cfg, set); err != nil {
			fmt.Fprintf(stderr, "tcpwin predict: %v\n", err)
			return ExitInput
		}
	}
	if *rmem != "" {
		if cfg.TCPRmem, err = tcpwin.ParseTCPRmem(*rmem); err != nil {
			return usage(err.Error())
		}
	}
	if set["rmem-max"] {
		if *rmemMax <= 0 {
			return usage("-rmem-max must be positive")
		}
		cfg.RmemMax = *rmemMax
	}
	if cfg.TCPRmem == [3]int{} {
		cfg.TCPRmem = tcpwin.LinuxDefaultTCPRmem
	}
	if cfg.RmemMax == 0 {
		cfg.RmemMax = tcpwin.LinuxDefaultRmemMax
	}
	p, err := tcpwin.PredictLinux(&cfg)
	if err != nil {
		return usage(err.Error())
	}
	o := Output{LinuxPrediction: p, Input: Input{
		TCPRmem: cfg.TCPRmem, RmemMax: cfg.RmemMax, RcvBuf: cfg.RcvBuf, WindowClamp: cfg.WindowClamp,
		WindowScaling: !cfg.NoWindowScaling, ScalingRatio: cfg.ScalingRatio,
	}}
	if *out == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(o); err != nil {
			fmt.Fprintf(stderr, "tcpwin predict: %v\n", err)
			return ExitInput
		}
		return ExitOK
	}
	writeText(stdout, o)
	return ExitOK
}

func writeText(w io.Writer, o Output) {
	in := o.Input
	fmt.Fprintf(w, "tcp_rmem %d %d %d, rmem_max %d", in.TCPRmem[0], in.TCPRmem[1], in.TCPRmem[2], in.RmemMax)
	if in.RcvBuf > 0 {
		fmt.Fprintf(w, ", SO_RCVBUF %d (sk_rcvbuf %d)", in.RcvBuf, o.RcvBuf)
	}
	if in.WindowClamp > 0 {
		fmt.Fprintf(w, ", TCP_WINDOW_CLAMP %d", in.WindowClamp)
	}
	fmt.Fprintf(w, ", Linux %s\n", o.Era)
	if !o.Offered {
		fmt.Fprintln(w, "no window-scale option (tcp_window_scaling=0): windows cap at 65535 bytes")
		return
	}
	fmt.Fprintf(w, "wscale %d (multiplier %d, windows up to %d bytes), sized for %d bytes by %s\n",
		o.WScale, 1<<o.WScale, o.MaxWindow, o.Space, o.Limit)
	if o.WScale > 2 {
		fmt.Fprintln(w, "a middlebox that resets large shifts (the 2006 failure) would cut this host's windows by", 1<<o.WScale)
	}
}

// readLocal fills cfg from the sysctl tree at procRoot (package sysctl:
// validated keys, typed reads) for the values not given as flags.
func readLocal(cfg *tcpwin.LinuxConfig, set map[string]bool) error {
	fs, err := sysctl.NewFS(procRoot)
	if err != nil {
		return err
	}
	defer fs.Close()
	if !set["rmem"] {
		s, err := fs.Read("net.ipv4.tcp_rmem")
		if err != nil {
			return err
		}
		if cfg.TCPRmem, err = tcpwin.ParseTCPRmem(s); err != nil {
			return err
		}
	}
	if !set["rmem-max"] {
		n, err := fs.ReadInt("net.core.rmem_max")
		if err != nil {
			return err
		}
		if n <= 0 || n > math.MaxInt32 {
			return fmt.Errorf("net.core.rmem_max %d is not a positive 32-bit integer", n)
		}
		cfg.RmemMax = int(n)
	}
	if !set["no-scaling"] {
		on, err := fs.ReadBool("net.ipv4.tcp_window_scaling")
		if err != nil {
			return err
		}
		cfg.NoWindowScaling = !on
	}
	return nil
}
