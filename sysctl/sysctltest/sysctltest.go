// Package sysctltest is a test double for programs built on package
// sysctl: a fake /proc/sys tree in a directory, laid out as the kernel lays
// it out (one file per key, dots become directories, a "/" inside a key
// component becomes a "." as procps maps VLAN interface names), each value
// followed by a newline as the kernel prints it. Point sysctl.NewFS at the
// tree and the code under test reads, validates, applies and rolls back
// against it without root and without touching the host.
//
//	fs := sysctltest.New(t, sysctltest.Host) // t.TempDir() based
//	_, err := fs.Apply(ctx, []sysctl.Setting{{Key: "net.ipv4.tcp_window_scaling", Value: "0"}})
//
// Write and New make regular files, so values that the kernel would refuse
// (an out-of-range integer) are accepted by the fake tree: use the kernel
// itself, in a fresh network namespace (sysctl.OpenNetNS), for those.
package sysctltest

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulletproof-labs/wsvcb/sysctl"
)

// Host is a typical Linux 6.x host's window-scaling related settings, in
// the kernel's own format (tab-separated vectors).
var Host = map[string]string{
	"net.ipv4.tcp_window_scaling":     "1",
	"net.ipv4.tcp_rmem":               "4096\t131072\t6291456",
	"net.ipv4.tcp_wmem":               "4096\t16384\t4194304",
	"net.ipv4.tcp_sack":               "1",
	"net.ipv4.tcp_congestion_control": "cubic",
	"net.ipv4.tcp_adv_win_scale":      "1",
	"net.ipv4.tcp_moderate_rcvbuf":    "1",
	"net.core.rmem_max":               "212992",
	"net.core.wmem_max":               "212992",
	"net.core.rmem_default":           "212992",
	"kernel.hostname":                 "vm",
	"vm.swappiness":                   "60",
}

// With returns a copy of base with the given keys added or replaced.
func With(base map[string]string, kv map[string]string) map[string]string {
	m := maps.Clone(base)
	if m == nil {
		m = map[string]string{}
	}
	maps.Copy(m, kv)
	return m
}

// Write creates the keys of kv under root (which need not exist yet).
// Keys are sysctl names ("net.ipv4.conf.eth0/100.rp_filter") or paths
// ("net/ipv4/tcp_rmem"); a key that would leave the tree is an error
// (sysctl.ErrBadKey).
func Write(root string, kv map[string]string) error {
	for k, v := range kv {
		key, err := sysctl.ParseKey(k)
		if err != nil {
			return err
		}
		p := filepath.Join(root, filepath.FromSlash(key.Path()))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(strings.TrimSuffix(v, "\n")+"\n"), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// New writes kv into a fresh t.TempDir() and returns a sysctl.FS rooted
// there. It fails the test if the tree cannot be made.
func New(t testing.TB, kv map[string]string) *sysctl.FS {
	t.Helper()
	root := t.TempDir()
	if err := Write(root, kv); err != nil {
		t.Fatalf("sysctltest: %v", err)
	}
	fs, err := sysctl.NewFS(root)
	if err != nil {
		t.Fatalf("sysctltest: %v", err)
	}
	return fs
}

// Value returns the raw content of key in the tree behind fs, without the
// trailing newline, as a test reads what was written (bypassing fs).
func Value(fs *sysctl.FS, key string) (string, error) {
	k, err := sysctl.ParseKey(key)
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(fs.Root(), filepath.FromSlash(k.Path())))
	if err != nil {
		return "", fmt.Errorf("sysctltest: %w", err)
	}
	return strings.TrimSuffix(string(b), "\n"), nil
}
