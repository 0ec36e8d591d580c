package tcpwin

import (
	"bytes"
	"encoding/binary"

	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulletproof-labs/wsvcb/internal/testenv"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite the tshark/tcpdump goldens in testdata/golden (needs tshark and tcpdump)")

// goldenCaptures lists the captures checked against tshark: the shared real
// captures (path relative to ../shared/captures) and the generated ones.
var goldenCaptures = []struct {
	name   string // golden base name
	shared string // shared capture name, or
	local  string // path under testdata
}{
	{name: "arkime-modbus", shared: "arkime-modbus.pcap"},
	{name: "arkime-v6", shared: "arkime-v6.pcap"},
	{name: "pcpp-raw_ip", shared: "pcpp-raw_ip.pcap"},
	{name: "pcpp-sll", shared: "pcpp-sll.pcap"},
	{name: "ppa-http_espn", shared: "ppa-http_espn.pcapng"},
	{name: "retina-tls_ciphers", shared: "retina-tls_ciphers.pcap"},
	{name: "ethernet", local: "linktypes/ethernet.pcap"},
	{name: "ethernet-vlan", local: "linktypes/ethernet-vlan.pcap"},
	{name: "null-le", local: "linktypes/null-le.pcap"},
	{name: "null-be", local: "linktypes/null-be.pcap"},
	{name: "raw-101", local: "linktypes/raw-101.pcap"},
	{name: "raw-12", local: "linktypes/raw-12.pcap"},
	{name: "raw-14", local: "linktypes/raw-14.pcap"},
	{name: "ipv4-228", local: "linktypes/ipv4-228.pcap"},
	{name: "ipv6-229", local: "linktypes/ipv6-229.pcap"},
	{name: "sll-113", local: "linktypes/sll-113.pcap"},
	{name: "sll2-276", local: "linktypes/sll2-276.pcap"},
	{name: "nflog-239", local: "linktypes/nflog-239.pcap"},
	{name: "nflog-239-be", local: "linktypes/nflog-239-be.pcap"},
	{name: "multi-if", local: "linktypes/multi-if.pcapng"},
	{name: "multi-if-be", local: "linktypes/multi-if-be.pcapng"},
}

// tsharkFields are the columns of the tshark goldens.
var tsharkFields = []string{
	"frame.number", "ip.src", "ipv6.src", "ip.dst", "ipv6.dst", "tcp.srcport", "tcp.dstport",
	"tcp.seq_raw", "tcp.ack_raw", "tcp.flags", "tcp.window_size_value", "tcp.len",
	"tcp.options.mss_val", "tcp.options.wscale.shift", "tcp.options.sack_perm",
	"tcp.options.timestamp.tsval", "tcp.options.timestamp.tsecr",
}

// tsharkArgs returns tshark's arguments for a capture path (relative to the
// package directory, which is where the command is run).
func tsharkArgs(path string) []string {
	args := []string{"-r", path, "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
		"-Y", "tcp && !icmp && !icmpv6", "-T", "fields", "-E", "separator=/t"}
	for _, f := range tsharkFields {
		args = append(args, "-e", f)
	}
	return args
}

func shellQuote(args []string) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		if strings.ContainsAny(a, " \t&!'\"|/") && !strings.HasPrefix(a, "../") && !strings.HasPrefix(a, "testdata/") {
			b.WriteString("'" + strings.ReplaceAll(a, "'", `'\''`) + "'")
		} else {
			b.WriteString(a)
		}
	}
	return b.String()
}

func goldenPath(t *testing.T, i int) string {
	g := goldenCaptures[i]
	if g.shared != "" {
		testenv.SharedCapture(t, g.shared)
		return filepath.Join("..", "..", "shared", "captures", g.shared)
	}
	return filepath.Join("testdata", g.local)
}

// optSummary decodes the few option values tshark prints (test-only, the
// package's real option decoder lives elsewhere).
type optSummary struct {
	mss, wscale, tsval, tsecr string
	sackOK                    bool
	kinds                     []byte
}

func summarize(opts []byte) optSummary {
	var s optSummary
	for len(opts) > 0 {
		k := opts[0]
		if k == optEOL {
			s.kinds = append(s.kinds, k)
			break
		}
		if k == optNOP {
			s.kinds = append(s.kinds, k)
			opts = opts[1:]
			continue
		}
		if len(opts) < 2 || int(opts[1]) < 2 || int(opts[1]) > len(opts) {
			break
		}
		v := opts[2:opts[1]]
		s.kinds = append(s.kinds, k)
		switch {
		case k == optMSS && len(v) == 2 && s.mss == "":
			s.mss = fmt.Sprint(binary.BigEndian.Uint16(v))
		case k == optWScale && len(v) == 1 && s.wscale == "":
			s.wscale = fmt.Sprint(v[0])
		case k == optSACKPerm && len(v) == 0:
			s.sackOK = true
		case k == optTimestamp && len(v) == 8 && s.tsval == "":
			s.tsval = fmt.Sprint(binary.BigEndian.Uint32(v))
			s.tsecr = fmt.Sprint(binary.BigEndian.Uint32(v[4:]))
		}
		opts = opts[opts[1]:]
	}
	return s
}

// tsharkRow renders a segment like the tshark golden line (tcp.len left
// to the caller: tshark leaves it empty for IP fragments).
func tsharkRow(s *Segment) []string {
	var s4, s6, d4, d6 string
	if s.Src.Is4() {
		s4, d4 = s.Src.String(), s.Dst.String()
	} else {
		s6, d6 = s.Src.String(), s.Dst.String()
	}
	o := summarize(s.Options)
	sack := ""
	if o.sackOK {
		sack = "0402"
	}
	return []string{fmt.Sprint(s.Frame), s4, s6, d4, d6, fmt.Sprint(s.SrcPort), fmt.Sprint(s.DstPort),
		fmt.Sprint(s.Seq), fmt.Sprint(s.Ack), fmt.Sprintf("0x%04x", uint16(s.Flags)), fmt.Sprint(s.Window),
		fmt.Sprint(s.PayloadLen), o.mss, o.wscale, sack, o.tsval, o.tsecr}
}

// readAll drains a source, failing on any error.
func readAll(t *testing.T, src Source) []Segment {
	t.Helper()
	var out []Segment
	for {
		s, err := src.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		c := *s
		c.Options = append([]byte(nil), s.Options...)
		out = append(out, c)
	}
}

func TestTsharkGolden(t *testing.T) {
	for i, g := range goldenCaptures {
		t.Run(g.name, func(t *testing.T) {
			path := goldenPath(t, i)
			golden := filepath.Join("testdata", "golden", g.name+".tshark.tsv")
			if *updateGolden {
				testenv.RequireTool(t, "tshark")
				args := tsharkArgs(path)
				out, err := exec.Command("tshark", args...).Output()
				if err != nil {
					t.Fatalf("tshark: %v", err)
				}
				cmd := "# run in tcpwin/ with tshark " + tsharkVersion(t) + "\ntshark " + shellQuote(args) + "\n"
				writeFile(t, golden, out)
				writeFile(t, strings.TrimSuffix(golden, ".tsv")+".cmd", []byte(cmd))
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update-golden)", err)
			}
			src, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			got := readAll(t, src)
			lines := strings.Split(strings.TrimRight(string(want), "\n"), "\n")
			if len(lines) != len(got) {
				t.Errorf("tshark has %d TCP frames, we decoded %d", len(lines), len(got))
			}
			for k := 0; k < len(lines) && k < len(got); k++ {
				w := strings.Split(lines[k], "\t")
				r := tsharkRow(&got[k])
				if len(w) != len(r) {
					t.Fatalf("golden line %d has %d fields, want %d", k+1, len(w), len(r))
				}
				if w[11] == "" { // tshark gives no tcp.len for IP fragments
					r[11] = ""
				}
				if strings.Join(w, "\t") != strings.Join(r, "\t") {
					t.Errorf("frame %s:\n tshark %q\n    got %q", w[0], w, r)
				}
			}
		})
	}
}

func tsharkVersion(t *testing.T) string {
	out, err := exec.Command("tshark", "--version").Output()
	if err != nil {
		return "?"
	}
	first, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimPrefix(first, "TShark (Wireshark) ")
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestTsharkGoldenFresh re-runs the committed tshark command on a few
// captures (tshark takes seconds to start; -update-golden runs all) and
// checks that the goldens are what it prints.
func TestTsharkGoldenFresh(t *testing.T) {
	if testing.Short() {
		t.Skip("runs tshark")
	}
	testenv.RequireTool(t, "tshark")
	fresh := map[string]bool{"ppa-http_espn": true, "multi-if-be": true, "nflog-239-be": true, "ethernet-vlan": true}
	for i, g := range goldenCaptures {
		if !fresh[g.name] {
			continue
		}
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			path := goldenPath(t, i)
			out, err := exec.Command("tshark", tsharkArgs(path)...).Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			want, err := os.ReadFile(filepath.Join("testdata", "golden", g.name+".tshark.tsv"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("tshark output differs from the committed golden (run with -update-golden)")
			}
		})
	}
}
