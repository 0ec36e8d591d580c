package tcpwin

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bulletproof-labs/wsvcb/internal/testenv"
)

// textGoldens are captures whose tcpdump text is committed in
// testdata/text: NAME.v.txt from "tcpdump -nn -v -r" and NAME.S.txt from
// "tcpdump -nn -S -r" (absolute sequence numbers).
var textGoldens = []string{
	"ppa-http_espn", "arkime-v6", "pcpp-sll", "pcpp-raw_ip", "retina-tls_ciphers", "arkime-modbus",
	"ethernet-vlan", "sll2-276", "null-be", "nflog-239",
}

var textModes = []struct {
	suffix string
	flags  []string
}{
	{".v.txt", []string{"-nn", "-v"}},
	{".S.txt", []string{"-nn", "-S"}},
}

func goldenIndex(name string) int {
	for i, g := range goldenCaptures {
		if g.name == name {
			return i
		}
	}
	return -1
}

// TestTextGolden parses tcpdump's text of a capture and compares every
// segment with decoding the capture itself.
func TestTextGolden(t *testing.T) {
	for _, name := range textGoldens {
		for _, m := range textModes {
			t.Run(name+m.suffix, func(t *testing.T) {
				path := goldenPath(t, goldenIndex(name))
				golden := filepath.Join("testdata", "text", name+m.suffix)
				if *updateGolden {
					testenv.RequireTool(t, "tcpdump")
					args := append(slices.Clone(m.flags), "-r", path)
					out, err := exec.Command("tcpdump", args...).Output()
					if err != nil {
						t.Fatalf("tcpdump: %v", err)
					}
					ver, _ := exec.Command("tcpdump", "--version").Output()
					first, _, _ := strings.Cut(string(ver), "\n")
					writeFile(t, golden, out)
					writeFile(t, strings.TrimSuffix(golden, ".txt")+".cmd",
						[]byte("# run in tcpwin/ with "+first+"\ntcpdump "+strings.Join(args, " ")+" 2>/dev/null\n"))
				}
				f, err := os.Open(golden)
				if err != nil {
					t.Fatalf("%v (run with -update-golden)", err)
				}
				defer f.Close()
				src, err := NewReader(f, golden)
				if err != nil {
					t.Fatal(err)
				}
				if got := src.(FileSource).Format(); got != "text" {
					t.Fatalf("format %q", got)
				}
				text := readAll(t, src)
				capSrc, err := Open(path)
				if err != nil {
					t.Fatal(err)
				}
				defer capSrc.Close()
				capt := readAll(t, capSrc)
				if len(text) != len(capt) {
					t.Errorf("text has %d TCP segments, capture %d", len(text), len(capt))
				}
				// Relative numbers (no -S) are made absolute, so both modes
				// compare sequence numbers with the capture's.
				const absolute = true
				for k := 0; k < len(text) && k < len(capt); k++ {
					if w, g := segText(&capt[k], absolute), segText(&text[k], absolute); w != g {
						t.Errorf("segment %d:\ncapture %s\n   text %s", k, w, g)
					}
				}
			})
		}
	}
}

// segText renders what tcpdump's text can reproduce: sequence numbers
// only when absolute (-S), option values but not SACK blocks (relative
// without -S) and not MPTCP (tcpdump prints a summary).
func segText(s *Segment, absolute bool) string {
	o := summarize(s.Options)
	kinds := slices.DeleteFunc(slices.Clone(o.kinds), func(k byte) bool { return k == 30 })
	b := fmt.Sprintf("frame=%d %v.%d>%v.%d flags=%#x win=%d len=%d opts=%v mss=%s ws=%s sackok=%v ts=%s/%s",
		s.Frame, s.Src, s.SrcPort, s.Dst, s.DstPort, uint16(s.Flags), s.Window, s.PayloadLen, kinds,
		o.mss, o.wscale, o.sackOK, o.tsval, o.tsecr)
	if absolute {
		if s.PayloadLen > 0 || s.Flags&(FlagSYN|FlagFIN|FlagRST) != 0 {
			b += fmt.Sprintf(" seq=%d", s.Seq) // tcpdump omits seq on pure ACKs
		}
		if s.Flags.Has(FlagACK) {
			b += fmt.Sprintf(" ack=%d", s.Ack)
		}
		if !slices.Contains(o.kinds, 30) {
			// tcpdump stops at EOL: padding after it is not in the text.
			b += fmt.Sprintf(" raw=%x", bytes.TrimRight(s.Options, "\x00"))
		}
	}
	return b
}

// TestTextTcpdumpVariants runs the installed tcpdump with more output
// options (link headers, -vv, other timestamp forms, hex dumps) and checks
// that parsing its text gives what decoding the capture gives.
func TestTextTcpdumpVariants(t *testing.T) {
	tcpdump := testenv.RequireTool(t, "tcpdump")
	for _, name := range []string{"ethernet-vlan", "ppa-http_espn", "sll2-276"} {
		path := goldenPath(t, goldenIndex(name))
		capSrc, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		capt := readAll(t, capSrc)
		capSrc.Close()
		for _, flags := range [][]string{
			{"-nn", "-e"}, {"-nn", "-vv", "-e"}, {"-nn", "-tt"}, {"-nn", "-tttt", "-S"}, {"-nn", "-ttt"},
			{"-nn", "-x"}, {"-nn", "-v", "-X"}, {"-nn", "-t"}, {"-nn", "-A"},
		} {
			t.Run(name+strings.Join(flags, ""), func(t *testing.T) {
				out, err := exec.Command(tcpdump, append(flags, "-r", path)...).Output()
				if err != nil {
					t.Fatalf("tcpdump: %v", err)
				}
				src, err := NewReader(bytes.NewReader(out), "tcpdump")
				if err != nil {
					t.Fatal(err)
				}
				text := readAll(t, src)
				if len(text) != len(capt) {
					t.Fatalf("text has %d TCP segments, capture %d", len(text), len(capt))
				}
				const abs = true // relative text is made absolute too
				for k := range text {
					if w, g := segText(&capt[k], abs), segText(&text[k], abs); w != g {
						t.Errorf("segment %d:\ncapture %s\n   text %s", k, w, g)
					}
				}
			})
		}
	}
}
