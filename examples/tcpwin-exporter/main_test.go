package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the exporter's concurrent logging.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %v %s", url, err, resp.Status)
	}
	return string(b)
}

// TestExporterReplay replays the lab capture of the seed (client side,
// wscale rewritten by the middlebox) and scrapes /metrics on a loopback
// listener.
func TestExporterReplay(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	ready := make(chan string, 1)
	done := make(chan int, 1)
	file := filepath.Join("..", "..", "tcpwin", "testdata", "lab", "rewritten-client.pcap")
	go func() { done <- run(ctx, []string{"-r", file, "-listen", "127.0.0.1:0"}, &stderr, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case code := <-done:
		t.Fatalf("exited %d: %s", code, stderr.String())
	}
	url := "http://" + addr + "/metrics"
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), "replayed") {
		if time.Now().After(deadline) {
			t.Fatalf("replay did not finish: %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	body := scrape(t, url)
	for _, want := range []string{
		"tcpwin_segments_total 190\n",
		"tcpwin_connections_total 1\n",
		`tcpwin_handshakes_total{scaling="on"} 1` + "\n",
		`tcpwin_wscale_shift_bucket{side="initiator",le="10"} 1` + "\n",
		`tcpwin_wscale_shift_bucket{side="initiator",le="9"} 0` + "\n",
		`tcpwin_findings_total{kind="window-plateau",severity="critical"} 1` + "\n",
		"tcpwin_suspected_wscale_rewrites_total 1\n",
		`tcpwin_evictions_total{reason="lru"} 0` + "\n",
		"tcpwin_live_connections 0\n",
		"# TYPE tcpwin_conn_max_window_bytes histogram\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", body)
	}
	if !strings.Contains(stderr.String(), "critical window-plateau") {
		t.Errorf("finding not logged: %s", stderr.String())
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
}

func TestExporterUsage(t *testing.T) {
	var stderr syncBuffer
	for _, args := range [][]string{nil, {"-i", "a", "-r", "b"}, {"-r", "b", "extra"}, {"-bogus"}} {
		if code := run(context.Background(), args, &stderr, nil); code != 2 {
			t.Errorf("%q: exit %d", args, code)
		}
	}
	if code := run(context.Background(), []string{"-r", "/nonexistent"}, &stderr, nil); code != 1 {
		t.Errorf("missing file: exit %d", code)
	}
}
