package tcpwin_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bulletproof-labs/wsvcb/internal/testenv"
	"github.com/bulletproof-labs/wsvcb/tcpwin"
)

// TestDiagnoseMidStreamCuts cuts every lab capture after its handshake
// with editcap (frames 10-200, as a capture started late has them) and
// diagnoses the cut: plateaus are still found, as WARNING "scale unknown",
// or CRITICAL with -assume-wscale 10 (the lab client's shift); healthy and
// fixed cases stay silent.
func TestDiagnoseMidStreamCuts(t *testing.T) {
	editcap := testenv.RequireTool(t, "editcap")
	ten := 10
	for _, tc := range []struct {
		name        string
		want, wantA string // findings without and with -assume-wscale 10
	}{
		{"healthy-client", "", ""}, {"healthy-server", "", ""},
		{"fix-noscaling-client", "", ""}, {"fix-smallbufs+rcvbuf-server", "", ""},
		{"strip-server-server", "", ""}, {"rewritten-6to0-bigbuf-client", "", ""},
		{"rewritten-client", "window-plateau/warning/b", "window-plateau/critical/b"},
		{"rewritten-server", "window-plateau/warning/b", "window-plateau/critical/b"},
		{"fix-smallbufs-server", "window-plateau/warning/b", ""},
		// Missed mid-stream: the 6-to-0 client side (raw window 1004,
		// flights below it once the handshake's context is gone).
		{"rewritten-6to0-client", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cut := filepath.Join(t.TempDir(), "cut.pcap")
			out, err := exec.Command(editcap, "-r", filepath.Join("testdata", "lab", tc.name+".pcap"), cut, "10-200").CombinedOutput()
			require.NoError(t, err, string(out))
			for i, cfg := range []*tcpwin.DiagnoseConfig{nil, {Tracker: &tcpwin.Config{AssumeWScale: &ten}}} {
				want := []string{tc.want, tc.wantA}[i]
				if i == 1 && want == "" && tc.want != "" {
					continue // not asserted with the assumption
				}
				src, err := tcpwin.Open(cut)
				require.NoError(t, err)
				rep, err := tcpwin.Diagnose(context.Background(), src, cfg)
				src.Close()
				require.NoError(t, err)
				assert.Equal(t, want, strings.Join(sigs(rep.Findings), ","), "assume=%v", i == 1)
			}
		})
	}
}
