// Package seedlab runs the 2006 seed scenarios through internal/netlab:
// middlebox rules, the seed's fixes applied with package sysctl in the
// client's namespace, and a measured bulk transfer (examples/tcpwin-lab).
// It sits above the public packages, so it lives under examples/.
package seedlab

import (
	"context"
	"errors"
	"fmt"
	"github.com/bulletproof-labs/wsvcb/internal/netlab"
	"path/filepath"
	"time"

	"github.com/bulletproof-labs/wsvcb/sysctl"
)

// Sysctl is one net.* setting applied to a namespace.
type Sysctl struct{ Key, Value string }

// Case is one scenario of the seed reproduction: middlebox rules plus
// settings applied on the client (the receiver of the bulk transfer).
type Case struct {
	Name          string
	Description   string
	Rules         []netlab.Rule
	ClientSysctls []Sysctl
	ClientOpts    *netlab.SockOpts
}

// The seed's two fixes, verbatim.
var (
	FixNoScaling = []Sysctl{{"net.ipv4.tcp_window_scaling", "0"}}
	FixSmallBufs = []Sysctl{
		{"net.ipv4.tcp_wmem", "4096 16384 131072"},
		{"net.ipv4.tcp_rmem", "4096 87380 174760"},
	}
)

// SeedCases are the scenarios of the lab's throughput table.
func SeedCases() []Case {
	return []Case{
		{Name: "healthy", Description: "no rewriting"},
		{Name: "rewritten", Description: "client SYN wscale >2 rewritten to 0 (the seed)", Rules: []netlab.Rule{netlab.SeedRule}},
		{Name: "rewritten-6to0", Description: "client offers exactly 6 (TCP_WINDOW_CLAMP 3 MiB), middlebox rewrites 6 to 0 (the seed verbatim)", Rules: []netlab.Rule{netlab.Rewrite(netlab.ClientToServer, 6, 0)}, ClientOpts: &netlab.SockOpts{WindowClamp: 3 << 20}},
		{Name: "rewritten-6to0-bigbuf", Description: "client offers 6 via SO_RCVBUF 3 MiB (locked, large initial window), 6 rewritten to 0", Rules: []netlab.Rule{netlab.Rewrite(netlab.ClientToServer, 6, 0)}, ClientOpts: &netlab.SockOpts{RcvBuf: 3 << 20}},
		{Name: "strip-client", Description: "wscale stripped from the client's SYN", Rules: []netlab.Rule{netlab.Strip(netlab.ClientToServer)}},
		{Name: "strip-server", Description: "wscale stripped from the server's SYN-ACK", Rules: []netlab.Rule{netlab.Strip(netlab.ServerToClient)}},
		{Name: "strip-both", Description: "wscale stripped both ways", Rules: []netlab.Rule{netlab.Strip(netlab.BothDirections)}},
		{Name: "fix-noscaling", Description: "rewritten + client tcp_window_scaling=0", Rules: []netlab.Rule{netlab.SeedRule}, ClientSysctls: FixNoScaling},
		{Name: "fix-smallbufs", Description: "rewritten + client tcp_rmem/tcp_wmem max 174760/131072 (seed fix 2 verbatim)", Rules: []netlab.Rule{netlab.SeedRule}, ClientSysctls: FixSmallBufs},
		{Name: "fix-smallbufs+rcvbuf", Description: "fix-smallbufs + SO_RCVBUF 87380 on the client socket", Rules: []netlab.Rule{netlab.SeedRule}, ClientSysctls: FixSmallBufs, ClientOpts: &netlab.SockOpts{RcvBuf: 87380}},
	}
}

// RunConfig is the link emulated by RunCase.
type RunConfig struct {
	Delay      time.Duration // one way (default 20ms: 40 ms round trip)
	Rate       int64         // bytes/s each way (default 1.25e6: 10 Mbit/s); <0 unlimited
	Duration   time.Duration // bulk transfer length (default 3s)
	CaptureDir string        // if set, NAME-client.pcap and NAME-server.pcap are written there
	MaxPackets int           // per capture (default 20000)
	LabConfig  *netlab.Config
}

// CaseResult is the measurement of one Case.
type CaseResult struct {
	Case      Case
	Bulk      netlab.BulkResult
	Stats     netlab.Stats
	Edits     []netlab.Edit
	Captures  []string
	ClientSYN int // shift in the client's SYN as the middlebox received it (-1 none)
}

// RunCase builds a fresh lab, applies the case and measures one bulk
// transfer server -> client through the middlebox.
func RunCase(ctx context.Context, c Case, cfg *RunConfig) (res CaseResult, err error) {
	rc := RunConfig{Delay: 20 * time.Millisecond, Rate: 1250000, Duration: 3 * time.Second, MaxPackets: 20000}
	if cfg != nil {
		if cfg.Delay != 0 {
			rc.Delay = max(cfg.Delay, 0)
		}
		if cfg.Rate != 0 {
			rc.Rate = max(cfg.Rate, 0)
		}
		if cfg.Duration > 0 {
			rc.Duration = cfg.Duration
		}
		if cfg.MaxPackets > 0 {
			rc.MaxPackets = cfg.MaxPackets
		}
		rc.CaptureDir = cfg.CaptureDir
		rc.LabConfig = cfg.LabConfig
	}
	res = CaseResult{Case: c, ClientSYN: -1}
	lab, err := netlab.New(rc.LabConfig)
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, lab.Close()) }()
	if len(c.ClientSysctls) > 0 {
		// The seed's fixes, applied with package sysctl in the client's
		// namespace (validated, written, read back).
		fs, err := SysctlFS(lab.Client)
		if err != nil {
			return res, err
		}
		settings := make([]sysctl.Setting, len(c.ClientSysctls))
		for i, s := range c.ClientSysctls {
			settings[i] = sysctl.Setting{Key: s.Key, Value: s.Value}
		}
		_, err = fs.Apply(ctx, settings)
		fs.Close()
		if err != nil {
			return res, fmt.Errorf("seedlab: client sysctls: %w", err)
		}
	}
	if rc.CaptureDir != "" {
		for _, side := range []struct {
			ns *netlab.NS
			If string
			n  string
		}{{lab.Client, lab.ClientIf, "client"}, {lab.Server, lab.ServerIf, "server"}} {
			p := filepath.Join(rc.CaptureDir, fmt.Sprintf("%s-%s.pcap", c.Name, side.n))
			cp, err := netlab.StartCapture(side.ns, side.If, p, &netlab.CaptureConfig{MaxPackets: rc.MaxPackets})
			if err != nil {
				return res, err
			}
			defer func() { err = errors.Join(err, cp.Close()) }()
			res.Captures = append(res.Captures, p)
		}
	}
	mb, err := netlab.StartMiddlebox(lab, &netlab.MiddleboxConfig{Rules: c.Rules, Delay: rc.Delay, Rate: rc.Rate})
	if err != nil {
		return res, err
	}
	defer mb.Close()
	res.Bulk, err = lab.Bulk(ctx, &netlab.BulkConfig{Duration: rc.Duration, ClientOpts: c.ClientOpts})
	// Let the FIN exchange reach the captures.
	time.Sleep(2*rc.Delay + 50*time.Millisecond)
	res.Stats = mb.Stats()
	res.Edits = mb.Edits()
	for _, e := range res.Edits {
		if e.SYN && res.ClientSYN == -1 {
			res.ClientSYN = e.OldShift
			break
		}
	}
	return res, err
}

// SysctlFS opens the sysctl tree of a lab namespace with package sysctl
// (validated, read-back-verified, all-or-nothing writes of net.* keys).
// Close it when done.
func SysctlFS(ns *netlab.NS) (*sysctl.FS, error) {
	fs, err := sysctl.OpenNetNS(fmt.Sprintf("/proc/self/fd/%d", ns.Fd()))
	if err != nil {
		return nil, fmt.Errorf("seedlab: sysctl scope of %s: %w", ns.Name, err)
	}
	return fs, nil
}
