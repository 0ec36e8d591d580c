package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bulletproof-labs/wsvcb/internal/testenv"
)

func TestCheckDrift(t *testing.T) {
	root := fakeRoot(t)
	r := "--root=" + root
	// In sync: the kernel's tab-separated tcp_rmem equals the spaced form.
	o, e, rc := runCLI(t, r, "--check", "net.ipv4.tcp_window_scaling=1", "net.ipv4.tcp_rmem=4096 131072 6291456")
	assert.Equal(t, 0, rc, e)
	assert.Equal(t, "in sync: 2 settings checked\n", o)

	o, e, rc = runCLI(t, r, "--check", "net.ipv4.tcp_window_scaling=0", "net.ipv4.tcp_sack=1", "net.ipv4.tcp_rmem=4096 87380 4194304")
	assert.Equal(t, 3, rc, e)
	assert.Equal(t, "drift: net.ipv4.tcp_window_scaling: want 0, have 1\n"+
		"drift: net.ipv4.tcp_rmem: want 4096 87380 4194304, have 4096 131072 6291456\n", o)
	b, err := os.ReadFile(filepath.Join(root, "net/ipv4/tcp_window_scaling"))
	require.NoError(t, err)
	assert.Equal(t, "1\n", string(b), "--check writes nothing")

	// A -p file: drift names file:line; a missing key is an error (1)
	// unless the line has the "-" prefix.
	conf := filepath.Join(t.TempDir(), "90-test.conf")
	require.NoError(t, os.WriteFile(conf, []byte("# test\nnet.ipv4.tcp_sack = 0\n-net.ipv4.no_such = 1\n"), 0o644))
	o, e, rc = runCLI(t, r, "--check", "-p", conf)
	assert.Equal(t, 3, rc, e)
	assert.Equal(t, "drift: net.ipv4.tcp_sack: want 0, have 1 ("+conf+":2)\n", o)
	require.NoError(t, os.WriteFile(conf, []byte("net.ipv4.no_such = 1\n"), 0o644))
	_, e, rc = runCLI(t, r, "--check", "-p", conf)
	assert.Equal(t, 1, rc)
	assert.Contains(t, e, "no_such")
}

func TestSaveUndoAndUndo(t *testing.T) {
	root := fakeRoot(t)
	r := "--root=" + root
	undo := filepath.Join(t.TempDir(), "undo.conf")
	_, e, rc := runCLI(t, r, "--save-undo", undo, "-w", "net.ipv4.tcp_window_scaling=0", "net.ipv4.tcp_sack=1", "net.ipv4.tcp_rmem=4096 87380 4194304")
	require.Equal(t, 0, rc, e)
	st, err := os.Stat(undo)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	b, err := os.ReadFile(undo)
	require.NoError(t, err)
	// Only what changed, with its old value.
	assert.Contains(t, string(b), "\nnet.ipv4.tcp_window_scaling = 1\nnet.ipv4.tcp_rmem = 4096 131072 6291456\n")
	assert.NotContains(t, string(b), "tcp_sack")

	// Another process restores it.
	_, e, rc = runCLI(t, r, "--undo", undo)
	require.Equal(t, 0, rc, e)
	o, _, _ := runCLI(t, r, "net.ipv4.tcp_window_scaling", "net.ipv4.tcp_rmem")
	assert.Equal(t, "net.ipv4.tcp_window_scaling = 1\nnet.ipv4.tcp_rmem = 4096 131072 6291456\n", strings.ReplaceAll(o, "\t", " "))

	// An undo file that cannot be written stops the write before it starts.
	_, e, rc = runCLI(t, r, "--save-undo", filepath.Join(t.TempDir(), "no", "dir", "undo.conf"), "-w", "net.ipv4.tcp_window_scaling=0")
	assert.Equal(t, 1, rc)
	assert.Contains(t, e, "nothing written")
	b, _ = os.ReadFile(filepath.Join(root, "net/ipv4/tcp_window_scaling"))
	assert.Equal(t, "1\n", string(b))
}

// TestUndoFileWithProcps writes in a fresh network namespace with
// --save-undo and restores with procps' own "sysctl -p UNDO".
func TestUndoFileWithProcps(t *testing.T) {
	ns := newNetNS(t)
	procps := testenv.RequireTool(t, "/usr/sbin/sysctl")
	bin := buildCLI(t)
	undo := filepath.Join(t.TempDir(), "undo.conf")
	script := `set -e
echo 1 > /proc/sys/net/ipv4/tcp_window_scaling; echo "4096 131072 33554432" > /proc/sys/net/ipv4/tcp_rmem
"$1" -q --save-undo "$3" -w net.ipv4.tcp_window_scaling=0 "net.ipv4.tcp_rmem=4096 87380 4194304"
cat /proc/sys/net/ipv4/tcp_window_scaling /proc/sys/net/ipv4/tcp_rmem
"$2" -q -p "$3"
cat /proc/sys/net/ipv4/tcp_window_scaling /proc/sys/net/ipv4/tcp_rmem
"$1" --check -p "$3"`
	out, err := exec.Command("ip", "netns", "exec", ns, "sh", "-c", script, "sh", bin, procps, undo).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Equal(t, "0\n4096\t87380\t4194304\n1\n4096\t131072\t33554432\nin sync: 2 settings checked\n", string(out))
}

func TestHelpListsExtras(t *testing.T) {
	o, _, rc := runCLI(t, "--help")
	assert.Equal(t, 0, rc)
	for _, f := range []string{"--netns", "--persist", "--rollback-on-error", "--check", "--save-undo", "--undo", "--root", "--dry-run"} {
		assert.Contains(t, o, f)
	}
}
