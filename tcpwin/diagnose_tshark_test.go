package tcpwin_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bulletproof-labs/wsvcb/internal/testenv"
	"github.com/bulletproof-labs/wsvcb/tcpwin"
)

// TestDiagnoseFlowVsTshark checks the flow evidence of every lab capture
// against tshark's TCP analysis: the largest bytes in flight of the server's
// data (tcp.analysis.bytes_in_flight) and the retransmissions
// (tcp.analysis.retransmission).
func TestDiagnoseFlowVsTshark(t *testing.T) {
	tshark := testenv.RequireTool(t, "tshark")
	files, err := filepath.Glob(filepath.Join("testdata", "lab", "*.pcap"))
	if err != nil || len(files) == 0 {
		t.Fatal(err, files)
	}
	for _, p := range files {
		name := filepath.Base(p)
		rep := diagnoseFile(t, name)
		// Every connection (tshark's stream index is tcpwin's order of
		// first sight), the server's data.
		for i, c := range rep.Conns[0] {
			fl := c.Flow[1]
			port := c.B[strings.LastIndexByte(c.B, ':')+1:]
			out, err := exec.Command(tshark, "-n", "-r", p, "-Y", fmt.Sprintf("tcp.stream == %d && tcp.srcport == %s", i, port),
				"-T", "fields", "-e", "tcp.analysis.bytes_in_flight", "-e", "tcp.analysis.retransmission").Output()
			if err != nil {
				t.Fatalf("%s: tshark: %v", name, err)
			}
			var maxFlight, retrans uint64
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				f := strings.Split(line, "\t")
				if f[0] != "" {
					v, err := strconv.ParseUint(f[0], 10, 32)
					if err != nil {
						t.Fatalf("%s: %q", name, line)
					}
					maxFlight = max(maxFlight, v)
				}
				if len(f) > 1 && f[1] != "" {
					retrans++
				}
			}
			t.Logf("%-26s conn %d tshark max in flight %6d retrans %d | tcpwin %6d retrans %d", name, c.ID, maxFlight, retrans, fl.MaxInFlight, fl.Retransmissions)
			if uint64(fl.MaxInFlight) != maxFlight || fl.Retransmissions != retrans {
				t.Errorf("%s conn %d: tcpwin max in flight %d, retransmissions %d; tshark %d, %d", name, c.ID, fl.MaxInFlight, fl.Retransmissions, maxFlight, retrans)
			}
		}
	}
}

// TestDiagnoseFlowVsTsharkShared does the same over the shared real-world
// captures, all connections and both directions: the largest bytes in
// flight and the total of data retransmissions.
func TestDiagnoseFlowVsTsharkShared(t *testing.T) {
	tshark := testenv.RequireTool(t, "tshark")
	for _, name := range []string{"arkime-modbus.pcap", "arkime-v6.pcap", "pcpp-raw_ip.pcap", "pcpp-sll.pcap", "ppa-http_espn.pcapng", "retina-tls_ciphers.pcap"} {
		p := testenv.SharedCapture(t, name)
		src, err := tcpwin.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := tcpwin.Diagnose(context.Background(), src, nil)
		src.Close()
		if err != nil {
			t.Fatal(err)
		}
		var maxFlight, retrans uint64
		for _, c := range rep.Conns[0] {
			for _, fl := range c.Flow {
				maxFlight = max(maxFlight, uint64(fl.MaxInFlight))
				retrans += fl.Retransmissions
			}
		}
		out, err := exec.Command(tshark, "-n", "-r", p, "-Y", "tcp",
			"-T", "fields", "-e", "tcp.analysis.bytes_in_flight", "-e", "tcp.analysis.retransmission", "-e", "tcp.len").Output()
		if err != nil {
			t.Fatalf("%s: tshark: %v", name, err)
		}
		var tMax, tRetrans uint64
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.Split(line, "\t")
			if v, err := strconv.ParseUint(f[0], 10, 32); err == nil {
				tMax = max(tMax, v)
			}
			// tcpwin counts data retransmissions; tshark also flags
			// retransmitted SYNs and FINs.
			if len(f) > 2 && f[1] != "" && f[2] != "0" {
				tRetrans++
			}
		}
		t.Logf("%-24s tshark max in flight %6d retrans %d | tcpwin %6d retrans %d", name, tMax, tRetrans, maxFlight, retrans)
		if maxFlight != tMax || retrans != tRetrans {
			t.Errorf("%s: tcpwin max in flight %d, retransmissions %d; tshark %d, %d", name, maxFlight, retrans, tMax, tRetrans)
		}
	}
}
