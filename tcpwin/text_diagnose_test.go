package tcpwin_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bulletproof-labs/wsvcb/internal/testenv"
	"github.com/bulletproof-labs/wsvcb/tcpwin"
)

// diagnoseText renders a report without its first line (which names the
// input) so that a capture and its tcpdump text can be compared.
func diagnoseText(t *testing.T, src tcpwin.Source) string {
	t.Helper()
	rep, err := tcpwin.Diagnose(context.Background(), src, nil)
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, rep.WriteText(&b, tcpwin.SeverityInfo))
	_, rest, _ := strings.Cut(b.String(), "\n")
	return rest
}

// TestDiagnoseTcpdumpTextLikeCapture pipes every lab capture and every
// shared capture through the installed tcpdump, as a user pastes it:
// tcpdump's default relative sequence numbers (-nn) and absolute ones
// (-nn -S). The text must diagnose exactly like the capture it came from.
func TestDiagnoseTcpdumpTextLikeCapture(t *testing.T) {
	tcpdump := testenv.RequireTool(t, "tcpdump")
	files, err := filepath.Glob(filepath.Join("testdata", "lab", "*.pcap"))
	require.NoError(t, err)
	shared, _ := filepath.Glob(filepath.Join("..", "..", "shared", "captures", "*.pcap*"))
	files = append(files, shared...)
	require.NotEmpty(t, files)
	for _, path := range files {
		src, err := tcpwin.Open(path)
		require.NoError(t, err)
		want := diagnoseText(t, src)
		src.Close()
		for _, flags := range [][]string{{"-nn"}, {"-nn", "-S"}} {
			t.Run(filepath.Base(path)+strings.Join(flags, ""), func(t *testing.T) {
				out, err := exec.Command(tcpdump, append(flags, "-r", path)...).Output()
				require.NoError(t, err)
				src, err := tcpwin.NewReader(bytes.NewReader(out), "-")
				require.NoError(t, err)
				assert.Equal(t, want, diagnoseText(t, src))
			})
		}
	}
}

// TestDiagnosePastedRelativeText reads the committed text of `tcpdump -nn
// -r` (see the .cmd files) for the seed's failure seen from both ends: the
// plateau must be found on tcpdump's default relative numbers.
func TestDiagnosePastedRelativeText(t *testing.T) {
	for _, name := range []string{"lab-rewritten-client.nn.txt", "lab-rewritten-server.nn.txt"} {
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", "text", name))
			require.NoError(t, err)
			defer f.Close()
			src, err := tcpwin.NewReader(f, name)
			require.NoError(t, err)
			rep, err := tcpwin.Diagnose(context.Background(), src, nil)
			require.NoError(t, err)
			assert.Equal(t, []string{"window-plateau/critical/a"}, sigs(rep.Findings))
			var b bytes.Buffer
			require.NoError(t, rep.WriteText(&b, tcpwin.SeverityInfo))
			assert.NotContains(t, b.String(), " 0 bytes", "relative numbers must not read as no data")
		})
	}
}
