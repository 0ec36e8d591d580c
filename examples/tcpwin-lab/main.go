// Command tcpwin-lab reproduces the 2006 window-scaling failure in network
// namespaces: a bulk transfer server -> client through a userspace middlebox
// that rewrites the client's SYN window-scale shift, measured healthy, broken
// and with each of the seed's fixes. Needs root; touches nothing outside the
// namespaces it creates.
//
//	sudo go run ./examples/tcpwin-lab -duration 3s -delay 20ms -rate 1250000 -out /tmp/lab
//	sudo go run ./examples/tcpwin-lab -cases healthy,rewritten -o json
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bulletproof-labs/wsvcb/examples/internal/seedlab"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tcpwin-lab", flag.ContinueOnError)
	fs.SetOutput(stderr)
	duration := fs.Duration("duration", 3*time.Second, "bulk transfer length per case")
	delay := fs.Duration("delay", 20*time.Millisecond, "one-way delay added by the middlebox")
	rate := fs.Int64("rate", 1250000, "link rate in bytes/s each way (-1: unlimited)")
	out := fs.String("out", "", "directory for pcap captures (client and server side per case)")
	only := fs.String("cases", "", "comma-separated case names (default: all)")
	maxPkts := fs.Int("max-packets", 20000, "frames recorded per capture")
	format := fs.String("o", "text", "output: text (table) or json")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(stderr, "tcpwin-lab: -o %q: want text or json\n", *format)
		return 2
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(stderr, "tcpwin-lab: needs root (network namespaces)")
		return 1
	}
	if *out != "" {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			fmt.Fprintln(stderr, "tcpwin-lab:", err)
			return 1
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	want := map[string]bool{}
	for _, n := range strings.Split(*only, ",") {
		if n != "" {
			want[n] = true
		}
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "case\tKB/s\tvs healthy\tclient SYN\tmiddlebox\tclient rcv/snd wscale\tserver rcv/snd wscale\tretrans\n")
	var healthy float64
	var rows []row
	code := 0
	for _, c := range seedlab.SeedCases() {
		if len(want) > 0 && !want[c.Name] {
			continue
		}
		fmt.Fprintf(stderr, "running %s: %s\n", c.Name, c.Description)
		r, err := seedlab.RunCase(ctx, c, &seedlab.RunConfig{Delay: *delay, Rate: *rate, Duration: *duration, CaptureDir: *out, MaxPackets: *maxPkts})
		if err != nil {
			fmt.Fprintf(stderr, "tcpwin-lab: %s: %v\n", c.Name, err)
			code = 1
			continue
		}
		bps := r.Bulk.BytesPerSec()
		if c.Name == "healthy" {
			healthy = bps
		}
		ratio := "-"
		if healthy > 0 && bps > 0 {
			ratio = fmt.Sprintf("1/%.1f", healthy/bps)
		}
		rows = append(rows, row{
			Case: c.Name, Description: c.Description, BytesPerSec: bps, ClientSYNShift: r.ClientSYN,
			Rewritten: r.Stats.Rewritten, Stripped: r.Stats.Stripped,
			ClientRcvWScale: r.Bulk.Client.RcvWScale, ClientSndWScale: r.Bulk.Client.SndWScale,
			ServerRcvWScale: r.Bulk.Server.RcvWScale, ServerSndWScale: r.Bulk.Server.SndWScale,
			Retransmits: r.Bulk.Server.TotalRetrans, Captures: r.Captures,
		})
		if healthy > 0 {
			rows[len(rows)-1].VsHealthy = bps / healthy
		}
		mbx := fmt.Sprintf("rw %d strip %d", r.Stats.Rewritten, r.Stats.Stripped)
		fmt.Fprintf(tw, "%s\t%.1f\t%s\t%d\t%s\t%d/%d\t%d/%d\t%d\n", c.Name, bps/1000, ratio, r.ClientSYN, mbx,
			r.Bulk.Client.RcvWScale, r.Bulk.Client.SndWScale, r.Bulk.Server.RcvWScale, r.Bulk.Server.SndWScale, r.Bulk.Server.TotalRetrans)
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rows); err != nil {
			fmt.Fprintln(stderr, "tcpwin-lab:", err)
			return 1
		}
		return code
	}
	tw.Flush()
	return code
}

// row is one case in -o json output.
type row struct {
	Case            string   `json:"case"`
	Description     string   `json:"description"`
	BytesPerSec     float64  `json:"bytes_per_sec"`
	VsHealthy       float64  `json:"vs_healthy,omitempty"`
	ClientSYNShift  int      `json:"client_syn_shift"`
	Rewritten       uint64   `json:"rewritten"`
	Stripped        uint64   `json:"stripped"`
	ClientRcvWScale int      `json:"client_rcv_wscale"`
	ClientSndWScale int      `json:"client_snd_wscale"`
	ServerRcvWScale int      `json:"server_rcv_wscale"`
	ServerSndWScale int      `json:"server_snd_wscale"`
	Retransmits     uint32   `json:"retransmits"`
	Captures        []string `json:"captures,omitempty"`
}
