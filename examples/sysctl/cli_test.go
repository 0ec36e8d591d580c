package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func fakeRoot(t *testing.T) string { return fakeRootTB(t) }

func fakeRootTB(t testing.TB) string {
	t.Helper()
	root := t.TempDir()
	for k, v := range map[string]string{
		"net/ipv4/tcp_window_scaling":      "1",
		"net/ipv4/tcp_rmem":                "4096\t131072\t6291456",
		"net/ipv4/tcp_sack":                "1",
		"net/ipv4/conf/eth0.100/rp_filter": "0",
		"net/ipv4/conf/lo/rp_filter":       "0",
		"kernel/hostname":                  "vm",
	} {
		p := filepath.Join(root, k)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var o, e bytes.Buffer
	rc := run(context.Background(), append([]string{"sysctl"}, args...), &o, &e, strings.NewReader(""))
	return o.String(), e.String(), rc
}

func TestCLIFakeTree(t *testing.T) {
	root := fakeRoot(t)
	r := "--root=" + root
	for _, tc := range []struct {
		args         []string
		stdout, errs string
		rc           int
	}{
		{[]string{r, "net.ipv4.tcp_rmem"}, "net.ipv4.tcp_rmem = 4096\t131072\t6291456\n", "", 0},
		{[]string{r, "net.ipv4.conf.eth0/100.rp_filter"}, "net.ipv4.conf.eth0/100.rp_filter = 0\n", "", 0},
		{[]string{r, "-N", "net.ipv4.conf"}, "net.ipv4.conf.eth0/100.rp_filter\nnet.ipv4.conf.lo.rp_filter\n", "", 0},
		{[]string{r, "net.ipv4.nope"}, "", "sysctl: cannot stat " + root + "/net/ipv4/nope: No such file or directory\n", 1},
		{[]string{r, "net/../etc"}, "", "sysctl: refusing key \"net/../etc\": bad key: component .. would leave the sysctl tree\n", 1},
		{[]string{r, "--dry-run", "-w", "net.ipv4.tcp_window_scaling=0", "net.ipv4.tcp_rmem=8192 4096 2048"},
			"net.ipv4.tcp_window_scaling: 1 -> 0\nnet.ipv4.tcp_rmem: 4096 131072 6291456 -> 8192 4096 2048\n",
			"sysctl: net.ipv4.tcp_rmem: warning: min 8192 > default 4096\nsysctl: net.ipv4.tcp_rmem: warning: default 4096 > max 2048\nsysctl: net.ipv4.tcp_rmem: warning: min 8192 > max 2048\n", 0},
		{[]string{r, "-w", "net.ipv4.tcp_rmem=010 87380 4194304"}, "", "sysctl: setting key \"net.ipv4.tcp_rmem\": Invalid argument\n", 1},
		{[]string{r, "--verbose", "-w", "net.ipv4.tcp_window_scaling=2"}, "",
			"sysctl: setting key \"net.ipv4.tcp_window_scaling\": Invalid argument (invalid value: field 1: 2 out of range [0, 1])\n", 1},
	} {
		o, e, rc := runCLI(t, tc.args...)
		if o != tc.stdout || e != tc.errs || rc != tc.rc {
			t.Errorf("%q:\n got %q %q %d\nwant %q %q %d", tc.args, o, e, rc, tc.stdout, tc.errs, tc.rc)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(root, "net/ipv4/tcp_window_scaling")); string(b) != "1\n" {
		t.Fatalf("dry run wrote: %q", b)
	}
}

func TestCLIPersistAndSystem(t *testing.T) {
	root := fakeRoot(t)
	prefix := t.TempDir()
	dropin := filepath.Join(prefix, "etc/sysctl.d/90-wsvcb.conf")
	os.MkdirAll(filepath.Dir(dropin), 0o755)
	o, e, rc := runCLI(t, "--root", root, "--persist", dropin, "-w", "net.ipv4.tcp_window_scaling=0", "net.ipv4.tcp_rmem=4096 87380 4194304")
	if rc != 0 || e != "" || o != "net.ipv4.tcp_window_scaling = 0\nnet.ipv4.tcp_rmem = 4096 87380 4194304\n" {
		t.Fatalf("write: %q %q %d", o, e, rc)
	}
	b, _ := os.ReadFile(dropin)
	want := "# written by sysctl --persist (wsvcb)\nnet.ipv4.tcp_window_scaling = 0\nnet.ipv4.tcp_rmem = 4096 87380 4194304\n"
	if string(b) != want {
		t.Fatalf("drop-in:\n%s", b)
	}
	// Reset the tree and re-apply with --system from the prefix.
	os.WriteFile(filepath.Join(root, "net/ipv4/tcp_window_scaling"), []byte("1\n"), 0o644)
	o, e, rc = runCLI(t, "--root", root, "--conf-prefix", prefix, "--system")
	if rc != 0 || !strings.HasPrefix(o, "* Applying "+dropin+" ...\nnet.ipv4.tcp_window_scaling = 0\n") {
		t.Fatalf("--system: %q %q %d", o, e, rc)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "net/ipv4/tcp_window_scaling")); string(b) != "0\n" {
		t.Fatalf("--system did not apply: %q", b)
	}
}

func TestCLIRollback(t *testing.T) {
	root := fakeRoot(t)
	// A key that exists but fails validation at plan time: nothing written.
	o, e, rc := runCLI(t, "--root", root, "-w", "net.ipv4.tcp_window_scaling=0", "net.ipv4.tcp_sack=7")
	if rc != 1 || o != "" || !strings.Contains(e, "nothing written") {
		t.Fatalf("%q %q %d", o, e, rc)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "net/ipv4/tcp_window_scaling")); string(b) != "1\n" {
		t.Fatalf("written despite rollback: %q", b)
	}
	// Without rollback, the good key is written, procps style.
	o, _, rc = runCLI(t, "--root", root, "--rollback-on-error=false", "-w", "net.ipv4.tcp_window_scaling=0", "net.ipv4.tcp_sack=7")
	if rc != 1 || o != "net.ipv4.tcp_window_scaling = 0\n" {
		t.Fatalf("%q %d", o, rc)
	}
}
