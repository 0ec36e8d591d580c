package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bulletproof-labs/wsvcb/sysctl"
)

// neighKeys are per-interface neighbour keys that take any value >= 1
// independently of each other (unres_qlen is left out: it rewrites
// unres_qlen_bytes; base_reachable_time/retrans_time alias the _ms keys).
var neighKeys = []string{"anycast_delay", "app_solicit", "base_reachable_time_ms", "delay_first_probe_time",
	"gc_stale_time", "interval_probe_time_ms", "locktime", "mcast_resolicit", "mcast_solicit", "proxy_delay",
	"proxy_qlen", "retrans_time_ms", "ucast_solicit", "unres_qlen_bytes"}

// benchFiles creates veth pairs in ns and writes two 500-key files: one
// with every value +1, one with the original values, so that alternating
// them changes every key on every run.
func benchFiles(b *testing.B, ns string) (up, down string) {
	b.Helper()
	for i := 0; i < 9; i++ {
		if out, err := exec.Command("ip", "-n", ns, "link", "add", fmt.Sprintf("bva%d", i), "type", "veth",
			"peer", "name", fmt.Sprintf("bvb%d", i)).CombinedOutput(); err != nil {
			b.Fatalf("ip link add: %v: %s", err, out)
		}
	}
	fs, err := sysctl.OpenNetNS(ns)
	if err != nil {
		b.Fatal(err)
	}
	defer fs.Close()
	var u, d strings.Builder
	n := 0
	for _, fam := range []string{"ipv4", "ipv6"} {
		for i := 0; i < 9 && n < 500; i++ {
			for _, side := range []string{"bva", "bvb"} {
				for _, k := range neighKeys {
					if n == 500 {
						break
					}
					key := fmt.Sprintf("net.%s.neigh.%s%d.%s", fam, side, i, k)
					v, err := fs.ReadInt(key)
					if err != nil {
						b.Fatal(err)
					}
					fmt.Fprintf(&u, "%s = %d\n", key, v+1)
					fmt.Fprintf(&d, "%s = %d\n", key, v)
					n++
				}
			}
		}
	}
	if n != 500 {
		b.Fatalf("only %d keys", n)
	}
	dir := b.TempDir()
	up, down = filepath.Join(dir, "up.conf"), filepath.Join(dir, "down.conf")
	os.WriteFile(up, []byte(u.String()), 0o644)
	os.WriteFile(down, []byte(d.String()), 0o644)
	return up, down
}

// BenchmarkApply500 applies a 500-key file inside a fresh network namespace:
// with the library (parse + Apply: snapshot, validation, one write(2) and a
// read-back per key, rollback-capable), with this command and with
// procps-ng "sysctl -p". Each iteration alternates two files so every key
// really changes. Run as root: go test -bench Apply500 ./examples/sysctl
func BenchmarkApply500(b *testing.B) {
	ns := newNetNS(b)
	up, down := benchFiles(b, ns)
	files := [2]string{up, down}
	bin := buildCLI(b)
	procps := "/usr/sbin/sysctl"
	nsPath := "/run/netns/" + ns

	b.Run("library-Apply", func(b *testing.B) {
		fs, err := sysctl.OpenNetNS(ns)
		if err != nil {
			b.Fatal(err)
		}
		defer fs.Close()
		ctx := context.Background()
		for i := 0; b.Loop(); i++ {
			s, err := sysctl.ParseConfFile(files[i%2])
			if err != nil {
				b.Fatal(err)
			}
			if _, err := fs.Apply(ctx, s); err != nil {
				b.Fatal(err)
			}
		}
	})
	execBench := func(name string, argv ...string) {
		b.Run(name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				args := append(append([]string{}, argv[1:]...), files[i%2])
				if out, err := exec.Command(argv[0], args...).CombinedOutput(); err != nil {
					b.Fatalf("%v: %v: %s", argv, err, out)
				}
			}
		})
	}
	execBench("cli-netns-flag", bin, "--netns", ns, "-q", "-p")
	execBench("cli-nsenter", "nsenter", "--net="+nsPath, bin, "-q", "-p")
	execBench("procps-nsenter", "nsenter", "--net="+nsPath, procps, "-q", "-p")
	execBench("cli-nsenter-no-rollback", "nsenter", "--net="+nsPath, "env", "SYSCTL_ROLLBACK_ON_ERROR=false", bin, "-q", "-p")
	_ = strconv.Itoa
}
