package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bulletproof-labs/wsvcb/internal/testenv"
)

// TestAssumeWScaleLikeTshark cuts the seed's plateau capture after its
// handshake with editcap (as a user with a mid-stream capture has it) and
// compares `tcpwin windows -assume-wscale 10` with tshark's
// tcp.default_window_scaling:10, frame by frame.
func TestAssumeWScaleLikeTshark(t *testing.T) {
	editcap := testenv.RequireTool(t, "editcap")
	tshark := testenv.RequireTool(t, "tshark")
	mid := filepath.Join(t.TempDir(), "mid.pcap")
	out, err := exec.Command(editcap, "-r", diagFile("lab/rewritten-client.pcap"), mid, "10-200").CombinedOutput()
	require.NoError(t, err, string(out))

	rows := runTSV(t, "windows", "-assume-wscale", "10", mid)
	require.Greater(t, len(rows), 100)
	b, err := exec.Command(tshark, "-r", mid, "-o", "tcp.default_window_scaling:10", "-T", "fields",
		"-e", "tcp.window_size_value", "-e", "tcp.window_size_scalefactor", "-e", "tcp.window_size").Output()
	require.NoError(t, err)
	want := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, rows[1:], len(want))
	for i, r := range rows[1:] {
		assert.Equal(t, want[i], strings.Join(r[3:6], "\t"), "frame %s", r[0])
	}
	// Without the assumption the scale is unknown, as tshark says by default.
	rows = runTSV(t, "windows", mid)
	assert.Equal(t, "-1", rows[1][4])

	code, _, errs := runCmd("windows", "-assume-wscale", "15", mid)
	assert.Equal(t, exitUsage, code, errs)
}
