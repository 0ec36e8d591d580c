package tcpwin_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bulletproof-labs/wsvcb/internal/testenv"
	"github.com/bulletproof-labs/wsvcb/tcpwin"
)

// TestDiagnoseHealthyBulkNoAlarm captures healthy bulk transfers between
// two fresh network namespaces with tcpdump (the project's benchmark
// script, scaled down: 24 connections of 3 MB, IPv4 and IPv6, three
// receive-buffer sizes) and diagnoses them: a healthy capture must give no
// WARNING or CRITICAL. Receivers briefly behind do advertise zero windows
// here (a few ms in all); those may be INFO, never a warning.
func TestDiagnoseHealthyBulkNoAlarm(t *testing.T) {
	testenv.RequireRoot(t)
	for _, tool := range []string{"ip", "tcpdump", "ethtool"} {
		testenv.RequireTool(t, tool)
	}
	out := filepath.Join(t.TempDir(), "bulk.pcap")
	cmd := exec.Command("bash", filepath.Join("..", "scripts", "gen-bench-capture.sh"), out)
	cmd.Env = append(cmd.Environ(), "CONNS=24", "BYTES=3000000", "PARALLEL=8")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, string(b))
	src, err := tcpwin.Open(out)
	require.NoError(t, err)
	defer src.Close()
	rep, err := tcpwin.Diagnose(context.Background(), src, nil)
	require.NoError(t, err)
	require.Len(t, rep.Conns[0], 24)
	for _, f := range rep.Findings {
		assert.Less(t, f.Severity, tcpwin.SeverityWarning, "%s %s: %s", f.Severity, f.Kind, f.Summary)
		assert.Equal(t, tcpwin.KindZeroWindow, f.Kind, f.Summary)
	}
}
