package sysctl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeTree builds a fake /proc/sys in a temp dir: keys are dotted names,
// values are written with a trailing newline like the kernel prints them.
func fakeTree(t testing.TB, kv map[string]string) *FS {
	t.Helper()
	root := t.TempDir()
	for k, v := range kv {
		p := filepath.Join(root, filepath.FromSlash(MustParseKey(k).Path()))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fs, err := NewFS(root)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func readFake(t testing.TB, fs *FS, key string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fs.Root(), MustParseKey(key).Path()))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(string(b), "\n")
}

var seedTree = map[string]string{
	"net.ipv4.tcp_window_scaling":      "1",
	"net.ipv4.tcp_rmem":                "4096\t131072\t6291456",
	"net.ipv4.tcp_wmem":                "4096\t16384\t4194304",
	"net.ipv4.tcp_sack":                "1",
	"net.ipv4.tcp_congestion_control":  "cubic",
	"net.ipv4.conf.eth0/100.rp_filter": "0",
	"net.ipv4.conf.lo.rp_filter":       "0",
	"net.core.rmem_max":                "212992",
	"net.core.wmem_max":                "212992",
	"kernel.hostname":                  "vm",
	"vm.swappiness":                    "60",
}
