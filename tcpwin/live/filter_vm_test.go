package live

import (
	"testing"

	"github.com/bulletproof-labs/wsvcb/tcpwin"
	"golang.org/x/net/bpf"
)

// filterVM assembles Filter and loads it into x/net/bpf's interpreter.
func filterVM(t testing.TB, link tcpwin.LinkType, synOnly bool) *bpf.VM {
	t.Helper()
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
		t.Fatal(err)
	}
	return vm
}

const (
	flagSYN = 0x02
	flagACK = 0x10
)

var (
	hbh   = extHdr{Proto: protoHopByHop}
	dst   = extHdr{Proto: protoDstOpts}
	rt    = extHdr{Proto: protoRouting, Units: 2}
	frag0 = extHdr{Proto: protoFragment, More: true}
	ah    = extHdr{Proto: protoAH, Units: 4} // RFC 4302: 24 bytes with a 96-bit ICV
)

// filterCases are crafted frames with the verdicts expected from the
// all-TCP and the SYN-only filter.
var filterCases = []struct {
	name     string
	spec     frameSpec
	all, syn bool
}{
	{"v4 SYN", frameSpec{Flags: flagSYN}, true, true},
	{"v4 SYN-ACK", frameSpec{Flags: flagSYN | flagACK}, true, true},
	{"v4 ACK", frameSpec{Flags: flagACK}, true, false},
	{"v4 options SYN", frameSpec{IPOpts: 12, Flags: flagSYN}, true, true},
	{"v4 first fragment SYN", frameSpec{More: true, Flags: flagSYN}, true, true},
	{"v4 later fragment", frameSpec{Frag: 185, Flags: flagSYN}, false, false},
	{"v4 UDP", frameSpec{Proto: 17, Payload: 40}, false, false},
	{"802.1Q v4 SYN", frameSpec{Tags: []uint16{tpidDot1Q}, Flags: flagSYN}, true, true},
	{"802.1Q v4 ACK", frameSpec{Tags: []uint16{tpidDot1Q}, Flags: flagACK}, true, false},
	{"802.1ad+802.1Q v4 SYN", frameSpec{Tags: []uint16{tpidDot1AD, tpidDot1Q}, Flags: flagSYN}, true, true},
	{"802.1ad+802.1Q v4 ACK", frameSpec{Tags: []uint16{tpidDot1AD, tpidDot1Q}, Flags: flagACK}, true, false},
	{"0x9100+802.1Q v4 SYN", frameSpec{Tags: []uint16{tpidQinQ, tpidDot1Q}, Flags: flagSYN}, true, true},
	{"802.1Q v4 UDP", frameSpec{Tags: []uint16{tpidDot1Q}, Proto: 17}, false, false},
	{"3 tags (beyond bound)", frameSpec{Tags: []uint16{tpidDot1AD, tpidDot1Q, tpidDot1Q}, Flags: flagSYN}, false, false},
	{"v6 SYN", frameSpec{V6: true, Flags: flagSYN}, true, true},
	{"v6 ACK", frameSpec{V6: true, Flags: flagACK}, true, false},
	{"802.1Q v6 SYN", frameSpec{Tags: []uint16{tpidDot1Q}, V6: true, Flags: flagSYN}, true, true},
	{"v6 hop-by-hop SYN", frameSpec{V6: true, Ext: []extHdr{hbh}, Flags: flagSYN}, true, true},
	{"v6 hop-by-hop ACK", frameSpec{V6: true, Ext: []extHdr{hbh}, Flags: flagACK}, true, false},
	{"v6 long hop-by-hop SYN", frameSpec{V6: true, Ext: []extHdr{{Proto: protoHopByHop, Units: 3}}, Flags: flagSYN}, true, true},
	{"v6 routing SYN", frameSpec{V6: true, Ext: []extHdr{rt}, Flags: flagSYN}, true, true},
	{"v6 dstopts SYN", frameSpec{V6: true, Ext: []extHdr{dst}, Flags: flagSYN}, true, true},
	{"v6 hbh+dst+routing SYN", frameSpec{V6: true, Ext: []extHdr{hbh, dst, rt}, Flags: flagSYN}, true, true},
	{"v6 hbh+dst+routing ACK", frameSpec{V6: true, Ext: []extHdr{hbh, dst, rt}, Flags: flagACK}, true, false},
	{"v6 first fragment SYN", frameSpec{V6: true, Ext: []extHdr{frag0}, Flags: flagSYN}, true, true},
	{"v6 later fragment", frameSpec{V6: true, Ext: []extHdr{{Proto: protoFragment, Frag: 100}}, Flags: flagSYN}, false, false},
	{"v6 AH SYN", frameSpec{V6: true, Ext: []extHdr{ah}, Flags: flagSYN}, true, true},
	{"v6 RFC 8200 chain SYN", frameSpec{V6: true, Ext: []extHdr{hbh, dst, rt, frag0, ah, dst}, Flags: flagSYN}, true, true},
	{"v6 RFC 8200 chain ACK", frameSpec{V6: true, Ext: []extHdr{hbh, dst, rt, frag0, ah, dst}, Flags: flagACK}, true, false},
	{"v6 7 headers (beyond bound)", frameSpec{V6: true, Ext: []extHdr{hbh, dst, rt, frag0, ah, dst, dst}, Flags: flagSYN}, false, false},
	{"v6 ESP", frameSpec{V6: true, Proto: 50, Payload: 40}, false, false},
	{"v6 hbh UDP", frameSpec{V6: true, Ext: []extHdr{hbh}, Proto: 17}, false, false},
	{"v6 no next header", frameSpec{V6: true, Ext: []extHdr{hbh}, Proto: 59}, false, false},
	{"802.1ad+802.1Q v6 hbh+routing SYN", frameSpec{Tags: []uint16{tpidDot1AD, tpidDot1Q}, V6: true, Ext: []extHdr{hbh, rt}, Flags: flagSYN}, true, true},
}

// TestFilterCrafted runs both filters in x/net/bpf's VM over crafted
// frames: VLAN tags (single, double, beyond the bound), IPv4 options and
// fragments, IPv6 extension header chains and fragments. Where the verdict
// is "accept" the tcpwin decoder must find a TCP segment too; the frames
// also run with the Ethernet header cut off through the raw-IP filters
// (untagged ones only).
func TestFilterCrafted(t *testing.T) {
	vms := map[tcpwin.LinkType][2]*bpf.VM{}
	for _, link := range []tcpwin.LinkType{tcpwin.LinkEthernet, tcpwin.LinkRaw} {
		vms[link] = [2]*bpf.VM{filterVM(t, link, false), filterVM(t, link, true)}
	}
	for _, c := range filterCases {
		eth := buildFrame(c.spec)
		frames := map[tcpwin.LinkType][]byte{tcpwin.LinkEthernet: eth}
		if len(c.spec.Tags) == 0 {
			frames[tcpwin.LinkRaw] = eth[ethHeaderLen:]
		}
		for link, fr := range frames {
			for i, want := range []bool{c.all, c.syn} {
				n, err := vms[link][i].Run(fr)
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				if (n > 0) != want {
					t.Errorf("%s (%v, syn-only %v): filter returned %d, want accept=%v", c.name, link, i == 1, n, want)
				}
			}
			var seg tcpwin.Segment
			ok, err := tcpwin.DecodeFrame(&seg, link, fr, len(fr))
			if c.all && (!ok || err != nil || seg.DstPort != 5001) {
				t.Errorf("%s (%v): accepted, but the decoder says ok=%v err=%v %+v", c.name, link, ok, err, seg)
			}
			// Truncations: the filter must never fail, and must not accept
			// a frame cut before the TCP flags.
			for cut := 0; cut < len(fr); cut++ {
				for i := range 2 {
					n, err := vms[link][i].Run(fr[:cut])
					if err != nil {
						t.Fatalf("%s cut at %d: %v", c.name, cut, err)
					}
					if n > 0 && cut < len(fr)-len(c.spec.TCPOpts)-20+tcpFlagsOff+1-c.spec.Payload {
						t.Errorf("%s (%v) cut at %d of %d: accepted", c.name, link, cut, len(fr))
					}
				}
			}
		}
	}
}

// FuzzFilter runs the filters over arbitrary frames: the VM must never
// fail, and every frame accepted must be one the decoder does not reject as
// non-TCP (it may still call it malformed: the kernel filter checks only
// what it needs), with SYN set for the SYN-only filter.
func FuzzFilter(f *testing.F) {
	for _, c := range filterCases {
		f.Add(buildFrame(c.spec), false)
	}
	f.Add(buildFrame(frameSpec{V6: true, Flags: flagSYN})[ethHeaderLen:], true)
	vms := map[tcpwin.LinkType][2]*bpf.VM{}
	for _, link := range []tcpwin.LinkType{tcpwin.LinkEthernet, tcpwin.LinkRaw} {
		vms[link] = [2]*bpf.VM{filterVM(f, link, false), filterVM(f, link, true)}
	}
	f.Fuzz(func(t *testing.T, fr []byte, raw bool) {
		link := tcpwin.LinkEthernet
		if raw {
			link = tcpwin.LinkRaw
		}
		var seg tcpwin.Segment
		ok, derr := tcpwin.DecodeFrame(&seg, link, fr, len(fr))
		for i := range 2 {
			n, err := vms[link][i].Run(fr)
			if err != nil {
				t.Fatalf("VM: %v", err)
			}
			if n == 0 || derr != nil {
				continue
			}
			if !ok {
				t.Fatalf("syn-only %v: accepted a frame the decoder calls non-TCP: % x", i == 1, fr)
			}
			if i == 1 && !seg.Flags.Has(tcpwin.FlagSYN) {
				t.Fatalf("SYN-only filter accepted flags %#x", seg.Flags)
			}
		}
	})
}
