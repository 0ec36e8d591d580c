// Command tcpwin-exporter serves Prometheus metrics about TCP window
// scaling (see package tcpwin/promwin): negotiated shifts, connections with
// scaling off or one-sided, suspected wscale rewriting, window statistics,
// tracker evictions and capture drops, from a live interface or a replayed
// capture file.
//
//	tcpwin-exporter -i eth0 [-syn-only] [-vlan ID] [-listen 127.0.0.1:9712]
//	tcpwin-exporter -r capture.pcap [-listen 127.0.0.1:9712]
//
// With -i the capture reads a TPACKET_V3 ring (recvfrom when the ring
// cannot be set up; the start-up line says which). With -r the file is
// replayed once, then the metrics stay served until
// the process is interrupted. Findings are also logged to standard error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/bulletproof-labs/wsvcb/tcpwin"
	"github.com/bulletproof-labs/wsvcb/tcpwin/live"
	"github.com/bulletproof-labs/wsvcb/tcpwin/promwin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stderr, nil))
}

// run is the whole command; ready, when not nil, receives the listening
// address once metrics are served.
func run(ctx context.Context, args []string, stderr io.Writer, ready chan<- string) int {
	fs := flag.NewFlagSet("tcpwin-exporter", flag.ContinueOnError)
	fs.SetOutput(stderr)
	iface := fs.String("i", "", "interface to capture on (AF_PACKET, needs CAP_NET_RAW)")
	file := fs.String("r", "", "capture file to replay instead of an interface")
	synOnly := fs.Bool("syn-only", false, "kernel filter passes SYN segments only (handshake metrics only)")
	vlan := fs.Int("vlan", 0, "kernel filter passes only frames of this VLAN ID (outermost tag, offloaded or in-band)")
	listen := fs.String("listen", "127.0.0.1:9712", "address to serve /metrics on")
	idle := fs.Duration("idle", 2*time.Minute, "forget (and diagnose) connections idle this long")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if (*iface == "") == (*file == "") || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "tcpwin-exporter: want exactly one of -i IFACE and -r FILE, and no arguments")
		return 2
	}
	opts := &promwin.Options{
		Tracker: &tcpwin.Config{IdleTimeout: *idle},
		OnFinding: func(f tcpwin.Finding) {
			fmt.Fprintf(stderr, "%s %s conn %s -> %s: %s\n", f.Severity, f.Kind, f.Conn.A, f.Conn.B, f.Summary)
		},
	}
	var src tcpwin.Source
	if *iface != "" {
		ls, err := live.Open(*iface, &live.Config{SYNOnly: *synOnly, VLAN: *vlan})
		if err != nil {
			fmt.Fprintf(stderr, "tcpwin-exporter: %v\n", err)
			return 1
		}
		defer ls.Close()
		if err := ls.RingError(); err != nil {
			fmt.Fprintf(stderr, "tcpwin-exporter: capturing on %s with %v (no ring: %v)\n", *iface, ls.Mode(), err)
		} else {
			fmt.Fprintf(stderr, "tcpwin-exporter: capturing on %s with %v\n", *iface, ls.Mode())
		}
		opts.CaptureStats = func() (uint64, uint64) {
			st, _ := ls.Stats()
			return st.Received, st.Dropped
		}
		go func() { <-ctx.Done(); ls.Close() }()
		src = ls
	} else {
		f, err := tcpwin.Open(*file)
		if err != nil {
			fmt.Fprintf(stderr, "tcpwin-exporter: %v\n", err)
			return 1
		}
		defer f.Close()
		src = f
	}
	m := promwin.NewMonitor(opts)
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "tcpwin-exporter: %v\n", err)
		return 1
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	fmt.Fprintf(stderr, "tcpwin-exporter: serving http://%s/metrics\n", ln.Addr())
	if ready != nil {
		ready <- ln.Addr().String()
	}
	if err := m.Run(ctx, src); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "tcpwin-exporter: %v\n", err)
		return 1
	}
	if *file != "" {
		fmt.Fprintf(stderr, "tcpwin-exporter: replayed %s\n", *file)
	}
	<-ctx.Done()
	return 0
}
