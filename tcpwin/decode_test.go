package tcpwin

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
)

func synV4() []byte {
	return tcpIP(tcpSpec{v4a, v4b, 1234, 80, 1, 0, FlagSYN, 5840, synOpts, 0})
}

func synV6() []byte {
	return tcpIP(tcpSpec{v6a, v6b, 1234, 80, 1, 0, FlagSYN, 5840, synOpts, 0})
}

func TestDecodeLinkTypes(t *testing.T) {
	v4, v6 := synV4(), synV6()
	tests := []struct {
		name   string
		link   LinkType
		hostBE bool
		frame  []byte
		src    netip.Addr
	}{
		{"ethernet", LinkEthernet, false, ethFrame(v4), v4a},
		{"ethernet 802.1Q", LinkEthernet, false, ethFrame(v6, etherTypeVLAN), v6a},
		{"ethernet QinQ", LinkEthernet, false, ethFrame(v4, etherTypeQinQ, etherTypeVLAN), v4a},
		{"ethernet 0x9100", LinkEthernet, false, ethFrame(v4, etherTypeQinQ91, etherTypeVLAN), v4a},
		{"null LE inet", LinkNull, false, nullFrame(v4, binary.LittleEndian, 0), v4a},
		{"null BE inet6 24", LinkNull, false, nullFrame(v6, binary.BigEndian, afInet6BSD), v6a},
		{"null LE inet6 28", LinkNull, false, nullFrame(v6, binary.LittleEndian, afInet6Fre), v6a},
		{"null LE inet6 30", LinkNull, false, nullFrame(v6, binary.LittleEndian, afInet6Dar), v6a},
		{"loop", LinkLoop, false, nullFrame(v6, binary.BigEndian, afInet6BSD), v6a},
		{"raw 101 v4", LinkRaw, false, v4, v4a},
		{"raw 12 v6", LinkRaw12, false, v6, v6a},
		{"raw 14 v4", LinkRaw14, false, v4, v4a},
		{"ipv4 228", LinkIPv4, false, v4, v4a},
		{"ipv6 229", LinkIPv6, false, v6, v6a},
		{"sll", LinkLinuxSLL, false, sllFrame(v6), v6a},
		{"sll2", LinkSLL2, false, sll2FrameFull(v4), v4a},
		{"nflog LE", LinkNFLOG, false, nflogFrame(v4, binary.LittleEndian), v4a},
		{"nflog BE", LinkNFLOG, true, nflogFrame(v6, binary.BigEndian), v6a},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := frameDecoder{hostBE: tt.hostBE}
			var seg Segment
			ok, err := d.decode(&seg, tt.link, tt.frame, len(tt.frame))
			if err != nil || !ok {
				t.Fatalf("decode = %v, %v", ok, err)
			}
			if seg.Src != tt.src || seg.SrcPort != 1234 || seg.DstPort != 80 || seg.Flags != FlagSYN ||
				seg.Window != 5840 || seg.Seq != 1 || seg.PayloadLen != 0 || string(seg.Options) != string(synOpts) {
				t.Errorf("got %+v", seg)
			}
		})
	}
}

func TestDecodeNotTCP(t *testing.T) {
	big := tcpSpec{v4a, v4b, 1, 2, 3, 4, FlagACK, 5, nil, 64}.tcpBytes()
	big6 := tcpSpec{v6a, v6b, 1, 2, 3, 4, FlagACK, 5, nil, 64}.tcpBytes()
	tests := []struct {
		name  string
		link  LinkType
		frame []byte
	}{
		{"arp", LinkEthernet, arpFrame()},
		{"udp", LinkRaw, udpIP(v4a, v4b)},
		{"ipv4 later fragment", LinkRaw, ipv4Packet(v4a, v4b, ipProtoTCP, nil, 40, false, big[40:])},
		{"ipv6 later fragment", LinkRaw, ipv6Packet(v6a, v6b, ipProtoTCP, [][]byte{{0, 0, 0, 40, 0, 0, 0, 1}}, []byte{ipProtoFragment}, big6[40:])},
		{"ipv6 esp", LinkRaw, ipv6Packet(v6a, v6b, ipProtoESP, nil, nil, make([]byte, 16))},
		{"ipv6 no next", LinkRaw, ipv6Packet(v6a, v6b, ipProtoNoNext, nil, nil, nil)},
		{"null unknown family", LinkNull, append([]byte{7, 0, 0, 0}, synV4()...)},
		{"sll arp", LinkLinuxSLL, append(make([]byte, 14), 0x08, 0x06)},
		{"nflog without payload", LinkNFLOG, []byte{2, 0, 0, 0, 8, 0, 1, 0, 8, 0, 3, 0}},
		{"802.3 length", LinkEthernet, append(append(append([]byte(nil), macA...), macB...), 0, 40, 0xaa, 0xaa, 3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d frameDecoder
			var seg Segment
			ok, err := d.decode(&seg, tt.link, tt.frame, len(tt.frame))
			if ok || err != nil {
				t.Errorf("decode = %v, %v; want false, nil", ok, err)
			}
		})
	}
}

func TestDecodeMalformed(t *testing.T) {
	v4 := synV4()
	mod := func(b []byte, f func([]byte)) []byte {
		c := append([]byte(nil), b...)
		f(c)
		return c
	}
	tests := []struct {
		name  string
		link  LinkType
		frame []byte
	}{
		{"short ethernet", LinkEthernet, make([]byte, 13)},
		{"short vlan", LinkEthernet, append(append(make([]byte, 12), 0x81, 0), 0, 1)},
		{"too many vlan tags", LinkEthernet, ethFrame(v4, etherTypeVLAN, etherTypeVLAN, etherTypeVLAN, etherTypeVLAN, etherTypeVLAN, etherTypeVLAN, etherTypeVLAN, etherTypeVLAN, etherTypeVLAN)},
		{"empty ip", LinkRaw, nil},
		{"ip version 5", LinkRaw, mod(v4, func(b []byte) { b[0] = 0x55 })},
		{"ipv4 header truncated", LinkRaw, v4[:19]},
		{"ipv4 ihl 4", LinkRaw, mod(v4, func(b []byte) { b[0] = 0x44 })},
		{"ipv4 ihl beyond data", LinkRaw, mod(v4[:24], func(b []byte) { b[0] = 0x47 })},
		{"ipv4 total < ihl", LinkRaw, mod(v4, func(b []byte) { b[3] = 10 })},
		{"ipv4 link with v6", LinkIPv4, synV6()},
		{"ipv6 link with v4", LinkIPv6, v4},
		{"ipv6 truncated", LinkRaw, synV6()[:39]},
		{"ipv6 ext truncated", LinkRaw, ipv6Packet(v6a, v6b, ipProtoTCP, [][]byte{{0, 4, 0, 0, 0, 0, 0, 0}}, []byte{ipProtoDstOpts}, nil)},
		{"tcp truncated", LinkRaw, v4[:30]},
		{"tcp doff 4", LinkRaw, mod(v4, func(b []byte) { b[20+12] = 0x40 })},
		{"tcp options cut", LinkRaw, v4[:45]},
		{"ip length < tcp header", LinkRaw, mod(v4, func(b []byte) { b[3] = 40 })},
		{"nflog short", LinkNFLOG, []byte{2, 0}},
		{"nflog version", LinkNFLOG, []byte{2, 1, 0, 0}},
		{"nflog tlv length", LinkNFLOG, []byte{2, 0, 0, 0, 2, 0, 9, 0}},
		{"sll short", LinkLinuxSLL, make([]byte, 15)},
		{"sll2 short", LinkSLL2, make([]byte, 19)},
		{"null short", LinkNull, []byte{2, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d frameDecoder
			var seg Segment
			ok, err := d.decode(&seg, tt.link, tt.frame, len(tt.frame))
			if ok || !errors.Is(err, ErrBadFrame) {
				t.Errorf("decode = %v, %v; want ErrBadFrame", ok, err)
			}
		})
	}
	var d frameDecoder
	if _, err := d.decode(new(Segment), LinkType(147), v4, len(v4)); !errors.Is(err, ErrLinkType) {
		t.Errorf("link type 147: %v, want ErrLinkType", err)
	}
}

// TestDecodeLengths checks payload lengths from the IP header, including
// frames cut by a snap length and TSO super-packets with IP length 0.
func TestDecodeLengths(t *testing.T) {
	p := tcpIP(tcpSpec{v4a, v4b, 1, 2, 3, 4, FlagACK, 5, tsOpts, 1000})
	var d frameDecoder
	var seg Segment
	if ok, err := d.decode(&seg, LinkRaw, p[:80], len(p)); !ok || err != nil || seg.PayloadLen != 1000 {
		t.Errorf("snapped: %v %v len %d, want 1000", ok, err, seg.PayloadLen)
	}
	z := append([]byte(nil), p...)
	z[2], z[3] = 0, 0
	if ok, err := d.decode(&seg, LinkRaw, z[:80], 70000); !ok || err != nil || seg.PayloadLen != 70000-20-32 {
		t.Errorf("TSO: %v %v len %d", ok, err, seg.PayloadLen)
	}
	p6 := tcpIP(tcpSpec{v6a, v6b, 1, 2, 3, 4, FlagACK, 5, nil, 10})
	if ok, err := d.decode(&seg, LinkRaw, p6, len(p6)); !ok || err != nil || seg.PayloadLen != 10 {
		t.Errorf("v6: %v %v len %d", ok, err, seg.PayloadLen)
	}
	// IPv4-mapped IPv6 addresses are reported as IPv4 (Segment contract).
	m := tcpIP(tcpSpec{netip.MustParseAddr("::ffff:192.0.2.1"), v6b, 1, 2, 3, 4, FlagACK, 5, nil, 0})
	if ok, err := d.decode(&seg, LinkRaw, m, len(m)); !ok || err != nil || !seg.Src.Is4() {
		t.Errorf("mapped: %v %v %v", ok, err, seg.Src)
	}
}

func TestDecodeZeroAlloc(t *testing.T) {
	f := ethFrame(synV6(), etherTypeVLAN)
	var d frameDecoder
	var seg Segment
	if n := testing.AllocsPerRun(100, func() { d.decode(&seg, LinkEthernet, f, len(f)) }); n != 0 {
		t.Errorf("decode allocates %v times per frame", n)
	}
}

func TestLinkTypeString(t *testing.T) {
	if LinkSLL2.String() != "LINUX_SLL2" || LinkType(147).String() != "linktype 147" || LinkType(147).Supported() {
		t.Error("LinkType String/Supported")
	}
}
