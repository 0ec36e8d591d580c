package netlab

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulletproof-labs/wsvcb/internal/testenv"
)

// TestLabCapturesTcpdump checks the committed lab captures
// (tcpwin/testdata/lab) with tcpdump (tshark agrees, but starts slowly): the shifts in the SYN and SYN-ACK of
// each case, on each side of the middlebox ("" = no option).
func TestLabCapturesTcpdump(t *testing.T) {
	tcpdump := testenv.RequireTool(t, "tcpdump")
	dir := filepath.Join(testenv.ModuleRoot(t), "tcpwin", "testdata", "lab")
	want := map[string][2]string{
		"healthy-client": {"10", "10"}, "healthy-server": {"10", "10"},
		"rewritten-client": {"10", "10"}, "rewritten-server": {"0", "10"},
		"rewritten-6to0-client": {"6", "10"}, "rewritten-6to0-server": {"0", "10"},
		"rewritten-6to0-bigbuf-client": {"6", "10"}, "rewritten-6to0-bigbuf-server": {"0", "10"},
		"strip-client-client": {"10", ""}, "strip-client-server": {"", ""},
		"strip-server-client": {"10", ""}, "strip-server-server": {"10", "10"},
		"strip-both-client": {"10", ""}, "strip-both-server": {"", ""},
		"fix-noscaling-client": {"", ""}, "fix-noscaling-server": {"", ""},
		"fix-smallbufs-client": {"7", "10"}, "fix-smallbufs-server": {"0", "10"},
		"fix-smallbufs+rcvbuf-client": {"1", "10"}, "fix-smallbufs+rcvbuf-server": {"1", "10"},
	}
	for name, w := range want {
		out, err := exec.Command(tcpdump, "-nn", "-r", filepath.Join(dir, name+".pcap"), "tcp[tcpflags] & tcp-syn != 0").Output()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got [2]string
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			shift := ""
			if i := strings.Index(line, "wscale "); i >= 0 {
				shift = strings.TrimRight(strings.Fields(line[i+len("wscale "):])[0], "],")
			}
			switch {
			case strings.Contains(line, "Flags [S.]"):
				got[1] = shift
			case strings.Contains(line, "Flags [S]"):
				got[0] = shift
			default:
				t.Fatalf("%s: tcpdump line %q", name, line)
			}
		}
		if got != w {
			t.Errorf("%s: SYN/SYN-ACK shifts %q, want %q", name, got, w)
		}
	}
}
