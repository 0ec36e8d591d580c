package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulletproof-labs/wsvcb/internal/netlab"
	"github.com/bulletproof-labs/wsvcb/internal/testenv"
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
		"fix: on 10.66.0.1:46990: sysctl -w net.ipv4.tcp_window_scaling=0",
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
// n connections that each receive a few kilobytes: watch must print n
// handshakes and diagnose the window plateau on each.
func TestWatchLive(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "ethtool")
	lab := netlab.NewT(t, &netlab.Config{Prefix: "dgw"})
	mb, err := netlab.StartMiddlebox(lab, &netlab.MiddleboxConfig{Rules: []netlab.Rule{netlab.SeedRule}, Delay: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	const n = 3
	for _, synOnly := range []bool{false, true} {
		args := []string{"-i", lab.ClientIf, "-duration", "6s"}
		if synOnly {
			args = append(args, "-syn-only", "-n", "3")
		}
		var out, errb bytes.Buffer
		started := make(chan struct{})
		res := make(chan int, 1)
		go func() {
			err := lab.Client.Do(func() error {
				close(started)
				res <- cmdWatch(args, &out, &errb)
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
		<-started
		time.Sleep(300 * time.Millisecond) // let watch open its socket
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
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
				c.Write(make([]byte, 3000))
				c.Close()
			}
		}()
		for i := 0; i < n; i++ {
			c, err := lab.Client.Dial(ctx, addr, nil)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.Copy(io.Discard, c); err != nil && !errors.Is(err, net.ErrClosed) {
				t.Fatal(err)
			}
			c.Close()
		}
		ln.Close()
		wg.Wait()
		cancel()
		code := <-res
		text := out.String()
		t.Logf("syn-only %v: exit %d\n%s\n%s", synOnly, code, text, errb.String())
		if code != exitOK {
			t.Fatalf("exit %d", code)
		}
		if got := strings.Count(text, " handshake conn "); got != n {
			t.Errorf("syn-only %v: %d handshakes printed, want %d", synOnly, got, n)
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
