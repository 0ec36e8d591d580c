package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulletproof-labs/wsvcb/internal/netlab"
	"github.com/bulletproof-labs/wsvcb/internal/testenv"
	"github.com/bulletproof-labs/wsvcb/tcpwin/live"
)

func runWatch(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := cmdWatch(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestWatchReplay(t *testing.T) {
	code, out, errs := runWatch("-r", diagFile("lab/rewritten-client.pcap"))
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, w := range []string{
		"handshake conn 1 10.66.0.1:46990 -> 10.66.0.2:5001: win 64240 wscale 10 mss 1460, win 65160 wscale 10 mss 1460: scaling on (a x1024, b x1024)",
		"CRITICAL window-plateau conn 1",
		"fix: on 10.66.0.1: sysctl -w net.ipv4.tcp_window_scaling=0",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}

	code, out, _ = runWatch("-o", "json", "-r", diagFile("lab/strip-client-client.pcap"))
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var events []watchEvent
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var ev watchEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		events = append(events, ev)
	}
	if len(events) != 2 || events[0].Event != "handshake" || events[1].Event != "finding" ||
		events[1].Finding.Kind != "one-sided-scaling" || events[0].Handshake.SYN[1].WScale != -1 {
		t.Errorf("events %s", out)
	}
}

func TestWatchUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"-i", "x", "-r", "y"}, {"-r", "y", "extra"}, {"-r", "y", "-o", "xml"}} {
		if code, _, _ := runWatch(args...); code != exitUsage {
			t.Errorf("%q: exit %d", args, code)
		}
	}
	if code, _, errs := runWatch("-r", "/nonexistent"); code != exitInput || !strings.Contains(errs, "no such file") {
		t.Errorf("missing file: %d %s", code, errs)
	}
}

// TestWatchLive runs tcpwin watch on the client's interface of a lab whose
// middlebox rewrites the client's wscale (the seed), while the client makes
// n connections that each receive a little data: watch must print n
// handshakes and diagnose the window plateau on each.
//
// Nothing here depends on timing or on the host's settings:
//   - traffic starts once watch's socket captures (watchMain's opened hook),
//     and watch is stopped only after it has read every frame the kernel
//     queued for it (its counters), not after a fixed duration;
//   - the client's shift is pinned to 10 (tcp_rmem max 32 MiB in its
//     namespace, TCP_WINDOW_CLAMP 32 MiB against a larger global
//     net.core.rmem_max), so the server, reading the windows unscaled, sends
//     one 63-byte segment per round trip on every machine; with the
//     kernel's default tcp_rmem max of 6 MiB the shift would be 7, the raw
//     window 502 bytes and too few segments for a diagnosis;
//   - each connection carries payload bytes, fewer than one MSS: no flight,
//     however the capture times of a stalled reader bunch the segments
//     together, can exceed the raw window by an MSS and look honoured.
func TestWatchLive(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "ethtool")
	lab := netlab.NewT(t, &netlab.Config{Prefix: "dgw"})
	mb, err := netlab.StartMiddlebox(lab, &netlab.MiddleboxConfig{Rules: []netlab.Rule{netlab.SeedRule}, Delay: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	const (
		n       = 3
		payload = 1200 // < MSS 1460; 19 segments at the raw window 63 (MinDataSegments is 8)
		shift   = 10
	)
	if err := lab.Client.SetSysctl("net.ipv4.tcp_rmem", "4096 131072 33554432"); err != nil {
		t.Fatal(err)
	}
	clientOpts := &netlab.SockOpts{WindowClamp: 32 << 20}
	for _, synOnly := range []bool{false, true} {
		// The duration is only a guard: watch is cancelled once drained.
		args := []string{"-i", lab.ClientIf, "-duration", "2m"}
		if synOnly {
			args = append(args, "-syn-only", "-n", "3")
		}
		var out, errb bytes.Buffer
		wctx, stopWatch := context.WithCancel(context.Background())
		t.Cleanup(stopWatch) // also on a t.Fatal below
		opened := make(chan *live.Source, 1)
		res := make(chan int, 1)
		go func() {
			err := lab.Client.Do(func() error {
				res <- watchMain(wctx, args, &out, &errb, func(s *live.Source) { opened <- s })
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
		var src *live.Source
		select {
		case src = <-opened:
		case code := <-res:
			stopWatch()
			t.Fatalf("watch exited %d before capturing: %s", code, errb.String())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		addr := lab.ServerAddr.String() + ":5003"
		ln, err := lab.Server.Listen(ctx, addr, nil)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Write(make([]byte, payload))
				c.Close()
			}
		}()
		for i := 0; i < n; i++ {
			c, err := lab.Client.Dial(ctx, addr, clientOpts)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(30 * time.Second)) // a guard
			got, err := io.Copy(io.Discard, c)
			if err != nil && !errors.Is(err, net.ErrClosed) {
				t.Fatal(err)
			}
			if got != payload {
				t.Fatalf("connection %d received %d bytes, want %d", i+1, got, payload)
			}
			c.Close()
		}
		ln.Close()
		wg.Wait()
		cancel()
		// The client has read every connection to its end, so each data
		// segment has passed the capture point and sits in watch's socket
		// (or was read, or dropped): wait until watch has read them all.
		drained := drain(t, src, res)
		stopWatch()
		var code int
		if drained >= 0 {
			code = drained
		} else {
			code = <-res
		}
		text := out.String()
		t.Logf("syn-only %v: exit %d\n%s\n%s", synOnly, code, text, errb.String())
		if code != exitOK {
			t.Fatalf("exit %d", code)
		}
		if got := strings.Count(text, " handshake conn "); got != n {
			t.Errorf("syn-only %v: %d handshakes printed, want %d", synOnly, got, n)
		}
		if got := strings.Count(text, "wscale "+strconv.Itoa(shift)+" mss"); got < n {
			t.Errorf("syn-only %v: the client's SYN offered no wscale %d in %d handshakes", synOnly, shift, n)
		}
		if !strings.Contains(errb.String(), "dropped") || strings.Contains(errb.String(), "kernel: 0 received") {
			t.Errorf("no drop counters on stderr: %s", errb.String())
		}
		if !synOnly {
			if got := strings.Count(text, "CRITICAL window-plateau"); got != n {
				t.Errorf("%d window plateaus diagnosed, want %d", got, n)
			}
		}
	}
}

// drain waits until src's reader has taken every frame the kernel queued
// (read or dropped), or until watch has exited, whose status it then
// returns (-1 otherwise). The 30 s limit is a guard, not a pace.
func drain(t *testing.T, src *live.Source, res <-chan int) int {
	t.Helper()
	guard := time.After(30 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := src.Stats()
		if err != nil {
			t.Errorf("live stats: %v", err)
			return -1
		}
		if st.Frames+st.Dropped >= st.Received {
			return -1
		}
		select {
		case code := <-res:
			return code
		case <-guard:
			t.Errorf("watch read %d of %d queued frames in 30 s", st.Frames, st.Received)
			return -1
		case <-tick.C:
		}
	}
}
