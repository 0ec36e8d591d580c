package netlab

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulletproof-labs/wsvcb/internal/testenv"
)

// TestLabCapturesTshark checks the committed lab captures
// (tcpwin/testdata/lab) with tshark: the shifts in the SYN and SYN-ACK of
// each case, on each side of the middlebox ("" = no option).
func TestLabCapturesTshark(t *testing.T) {
	tshark := testenv.RequireTool(t, "tshark")
	dir := filepath.Join(testenv.ModuleRoot(t), "tcpwin", "testdata", "lab")
	want := map[string][2]string{
		"healthy-client": {"10", "10"}, "healthy-server": {"10", "10"},
		"rewritten-client": {"10", "10"}, "rewritten-server": {"0", "10"},
		"strip-client-client": {"10", ""}, "strip-client-server": {"", ""},
		"strip-server-client": {"10", ""}, "strip-server-server": {"10", "10"},
		"strip-both-client": {"10", ""}, "strip-both-server": {"", ""},
		"fix-noscaling-client": {"", ""}, "fix-noscaling-server": {"", ""},
		"fix-smallbufs-client": {"7", "10"}, "fix-smallbufs-server": {"0", "10"},
		"fix-smallbufs+rcvbuf-client": {"1", "10"}, "fix-smallbufs+rcvbuf-server": {"1", "10"},
	}
	for name, w := range want {
		out, err := exec.Command(tshark, "-r", filepath.Join(dir, name+".pcap"), "-Y", "tcp.flags.syn==1",
			"-T", "fields", "-e", "tcp.flags.ack", "-e", "tcp.options.wscale.shift").Output()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got [2]string
		for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
			f := strings.Split(line, "\t")
			if len(f) != 2 {
				t.Fatalf("%s: tshark line %q", name, line)
			}
			if f[0] == "1" || f[0] == "True" {
				got[1] = f[1]
			} else {
				got[0] = f[1]
			}
		}
		if got != w {
			t.Errorf("%s: SYN/SYN-ACK shifts %q, want %q", name, got, w)
		}
	}
}
