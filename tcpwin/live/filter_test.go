package live

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/bulletproof-labs/wsvcb/internal/testenv"
	"github.com/bulletproof-labs/wsvcb/tcpwin"
	"github.com/google/gopacket/pcapgo"
	"golang.org/x/net/bpf"
)

// frames reads the raw frames of a pcap file.
func frames(t *testing.T, path string) ([][]byte, tcpwin.LinkType) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for {
		b, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out, tcpwin.LinkType(r.LinkType())
}

// TestFilterMatchesDecoder runs the assembled filters in x/net/bpf's VM
// over real captures (IPv4 from the lab, IPv6 from arkime-v6, raw IP) and
// checks that they accept exactly the frames tcpwin's decoder finds to be
// TCP (with SYN set, for the SYN-only filter).
func TestFilterMatchesDecoder(t *testing.T) {
	paths := []string{
		filepath.Join("..", "testdata", "lab", "healthy-client.pcap"),
		filepath.Join("..", "testdata", "lab", "rewritten-server.pcap"),
		testenv.SharedCapture(t, "arkime-v6.pcap"),
		testenv.SharedCapture(t, "pcpp-raw_ip.pcap"),
		testenv.SharedCapture(t, "arkime-modbus.pcap"),
	}
	for _, p := range paths {
		fs, link := frames(t, p)
		if link == 12 || link == 14 {
			link = tcpwin.LinkRaw
		}
		for _, synOnly := range []bool{false, true} {
			prog, err := Filter(link, synOnly, 200)
			if err != nil {
				t.Fatal(err)
			}
			ins := make([]bpf.Instruction, len(prog))
			for i, r := range prog {
				ins[i] = r.Disassemble()
			}
			vm, err := bpf.NewVM(ins)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			var accepted, tcp, syn int
			for i, fr := range fs {
				n, err := vm.Run(fr)
				if err != nil {
					t.Fatalf("%s frame %d: %v", p, i+1, err)
				}
				var seg tcpwin.Segment
				ok, err := tcpwin.DecodeFrame(&seg, link, fr, len(fr))
				isTCP := ok && err == nil
				want := isTCP && (!synOnly || seg.Flags.Has(tcpwin.FlagSYN))
				if (n > 0) != want {
					t.Errorf("%s frame %d (syn-only %v): filter returned %d, decoder says tcp=%v flags=%#x", p, i+1, synOnly, n, isTCP, seg.Flags)
				}
				if n > 0 {
					accepted++
					if n != 200 && n != len(fr) {
						t.Errorf("%s frame %d: kept %d bytes of %d, snaplen 200", p, i+1, n, len(fr))
					}
				}
				if isTCP {
					tcp++
					if seg.Flags.Has(tcpwin.FlagSYN) {
						syn++
					}
				}
			}
			t.Logf("%s link %v syn-only %v: %d frames, %d TCP, %d SYN, %d accepted", filepath.Base(p), link, synOnly, len(fs), tcp, syn, accepted)
			if accepted == 0 {
				t.Errorf("%s: nothing accepted", p)
			}
		}
	}
}

func TestFilterErrors(t *testing.T) {
	if _, err := Filter(tcpwin.LinkNFLOG, false, 100); err == nil {
		t.Error("NFLOG: no error")
	}
	if _, err := Filter(tcpwin.LinkEthernet, false, 0); err == nil {
		t.Error("snaplen 0: no error")
	}
	if _, err := VLANFilter(tcpwin.LinkRaw, false, 100, 10); err == nil {
		t.Error("VLAN on raw IP: no error")
	}
	if _, err := VLANFilter(tcpwin.LinkEthernet, false, 100, 4095); err == nil {
		t.Error("VLAN 4095: no error")
	}
	for _, syn := range []bool{false, true} {
		if _, err := VLANFilter(tcpwin.LinkEthernet, syn, 100, 4094); err != nil {
			t.Errorf("VLAN 4094 (syn-only %v): %v", syn, err)
		}
	}
}
