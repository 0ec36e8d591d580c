package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulletproof-labs/wsvcb/internal/netlab"
	"github.com/bulletproof-labs/wsvcb/internal/testenv"
)

// parseMetrics reads the text exposition format into "name{labels}" ->
// value.
func parseMetrics(body string) (map[string]float64, error) {
	m := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			return nil, fmt.Errorf("bad metrics line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("bad metrics line %q: %w", line, err)
		}
		m[line[:i]] = v
	}
	return m, sc.Err()
}

// TestExporterLive runs the exporter on the client's interface inside a
// netlab client namespace while connections go through a middlebox that
// rewrites the client's wscale (netlab.SeedRule, the 2006 failure), and
// scrapes /metrics over the namespace's loopback until the counters show
// every handshake with the client's own shift (captured before the
// middlebox) and the rewrite diagnosed. Conditions are polled with a
// generous timeout; nothing waits on a fixed sleep.
func TestExporterLive(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "ethtool")
	lab := netlab.NewT(t, &netlab.Config{Prefix: "live"})
	mb, err := netlab.StartMiddlebox(lab, &netlab.MiddleboxConfig{Rules: []netlab.Rule{netlab.SeedRule}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mb.Close() })

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	ready := make(chan string, 1)
	done := make(chan int, 1)
	go func() {
		// run opens the capture and the metrics listener on this
		// goroutine's thread, which Do placed in the client namespace.
		err := lab.Client.Do(func() error {
			done <- run(ctx, []string{"-i", lab.ClientIf, "-listen", "127.0.0.1:0", "-idle", "10s"}, &stderr, ready)
			return nil
		})
		if err != nil {
			stderr.Write([]byte(err.Error()))
			done <- -1
		}
	}()
	var addr string
	select {
	case addr = <-ready:
	case code := <-done:
		t.Fatalf("exporter exited %d: %s", code, stderr.String())
	}
	// The listener lives in the client namespace: dial it from there.
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			return lab.Client.Dial(ctx, addr, nil)
		},
	}}
	scrape := func() (map[string]float64, string) {
		t.Helper()
		resp, err := client.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("scrape: %v %s", err, resp.Status)
		}
		m, err := parseMetrics(string(b))
		if err != nil {
			t.Fatal(err)
		}
		return m, string(b)
	}

	// Server: each connection gets payload bytes, then FIN. As in
	// examples/tcpwin's TestWatchLive, nothing depends on the host: the
	// client's shift is pinned to 10 (tcp_rmem max 32 MiB in its
	// namespace and TCP_WINDOW_CLAMP), so the server, reading the windows
	// unscaled, sends one 63-byte segment per round trip (19 segments,
	// MinDataSegments is 8) on every machine, and the payload is below
	// one MSS, so no bunching of capture times by a stalled reader can
	// make a flight look as if it honoured the scale.
	const payload = 1200
	if err := lab.Client.SetSysctl("net.ipv4.tcp_rmem", "4096 131072 33554432"); err != nil {
		t.Fatal(err)
	}
	clientOpts := &netlab.SockOpts{WindowClamp: 32 << 20}
	tctx, tcancel := context.WithTimeout(ctx, 2*time.Minute)
	defer tcancel()
	srvAddr := lab.ServerAddr.String() + ":5011"
	ln, err := lab.Server.Listen(tctx, srvAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer ln.Close()
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, payload)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(time.Minute))
			c.Write(buf)
			c.Close()
		}
	}()
	const (
		plateaus = `tcpwin_findings_total{kind="window-plateau",severity="critical"}`
		rewrites = "tcpwin_suspected_wscale_rewrites_total"
		// Counted when a connection ends and has been diagnosed.
		finished = `tcpwin_conn_max_window_bytes_count{side="initiator"}`
	)
	// poll scrapes until cond holds, or fails after a generous timeout.
	poll := func(what string, cond func(map[string]float64) bool) (map[string]float64, string) {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for {
			m, body := scrape()
			if cond(m) {
				return m, body
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; metrics:\n%s\nstderr:\n%s", what, body, stderr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// One connection at a time, each diagnosed before the next.
	const n = 3
	var m map[string]float64
	var body string
	for i := 1; i <= n; i++ {
		c, err := lab.Client.Dial(tctx, srvAddr, clientOpts)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(time.Minute)) // a guard
		got, err := io.Copy(io.Discard, c)
		c.Close()
		if err != nil && !errors.Is(err, net.ErrClosed) || got != payload {
			t.Fatalf("connection %d: %v after %d bytes, want %d", i, err, got, payload)
		}
		m, body = poll(fmt.Sprintf("connection %d diagnosed", i), func(m map[string]float64) bool { return m[finished] == float64(i) })
	}
	// Every SYN the client sent (a retransmitted one too) was rewritten.
	st := mb.Stats()
	if st.ClientSYNs < n || st.Rewritten != st.ClientSYNs {
		t.Fatalf("middlebox rewrote %d of %d client SYNs, want all of at least %d", st.Rewritten, st.ClientSYNs, n)
	}
	shift := -1
	for _, e := range mb.Edits() {
		if e.Rewritten {
			shift = e.OldShift
		}
	}
	le := func(s int) string { return fmt.Sprintf(`tcpwin_wscale_shift_bucket{side="initiator",le="%d"}`, s) }
	// Capture counters must be exact: every handshake, with the client's
	// own shift (captured before the middlebox rewrote it), no drops.
	want := map[string]float64{
		`tcpwin_handshakes_total{scaling="on"}`:       float64(n),
		`tcpwin_wscale_shift_count{side="initiator"}`: float64(n),
		le(shift):                      float64(n),
		le(shift - 1):                  0,
		"tcpwin_capture_dropped_total": 0,
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	if m[plateaus] != n || m[rewrites] != n {
		t.Errorf("%s = %v, %s = %v: want %d plateaus, each a suspected rewrite", plateaus, m[plateaus], rewrites, m[rewrites], n)
	}
	if shift != 10 {
		t.Errorf("the client offered wscale %d, want the pinned 10", shift)
	}
	if m["tcpwin_capture_received_total"] == 0 || m["tcpwin_segments_total"] == 0 {
		t.Errorf("capture counters: received %v, segments %v", m["tcpwin_capture_received_total"], m["tcpwin_segments_total"])
	}
	if t.Failed() {
		t.Logf("metrics:\n%s\nstderr:\n%s", body, stderr.String())
	}
	if !strings.Contains(stderr.String(), "capturing on "+lab.ClientIf+" with ring") {
		t.Errorf("capture mode not logged: %s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "critical window-plateau") {
		t.Errorf("finding not logged: %s", stderr.String())
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exporter exit %d: %s", code, stderr.String())
	}
}
