package live

import (
	"fmt"
	"math"

	"github.com/bulletproof-labs/wsvcb/tcpwin"
	"golang.org/x/net/bpf"
)

// Header offsets and values the filter reads (IEEE 802.1Q, RFC 791,
// RFC 8200, RFC 4302, RFC 9293).
const (
	ethHeaderLen  = 14
	etherTypeOff  = 12
	vlanTagLen    = 4
	etherTypeIPv4 = 0x0800
	etherTypeIPv6 = 0x86dd
	tpidDot1Q     = 0x8100 // IEEE 802.1Q C-tag
	tpidDot1AD    = 0x88a8 // IEEE 802.1ad S-tag
	tpidQinQ      = 0x9100 // pre-standard QinQ
	vidMask       = 0x0fff // VLAN ID bits of the TCI
	ipv4ProtoOff  = 9
	ipv4FragOff   = 6
	ipv4FragMask  = 0x1fff
	ipv6NextOff   = 6
	ipv6HeaderLen = 40
	ipv6FragMask  = 0xfff8 // fragment offset bits of the fragment header's third word
	tcpFlagsOff   = 13
	protoTCP      = 6
	tcpFlagSYN    = 0x02

	protoHopByHop = 0
	protoRouting  = 43
	protoFragment = 44
	protoAH       = 51
	protoDstOpts  = 60
	protoMobility = 135
	protoHIP      = 139
	protoShim6    = 140
)

// Bounds of the unrolled header walks (classic BPF has no backward jumps).
const (
	// MaxFilterVLANTags is the number of in-band 802.1Q/802.1ad tags the
	// filter skips. Tags the kernel already moved into the packet's
	// metadata (VLAN offload: the outer tag on most NICs and on veth) are
	// not in the frame the filter sees and do not count.
	MaxFilterVLANTags = 2
	// MaxFilterIPv6ExtHeaders is the number of IPv6 extension headers
	// (hop-by-hop, routing, fragment, destination options, AH, mobility,
	// HIP, shim6) the filter follows to the TCP header: RFC 8200's whole
	// recommended chain before an upper layer (hop-by-hop, destination
	// options, routing, fragment, AH, destination options). TCP behind a
	// longer chain is dropped.
	MaxFilterIPv6ExtHeaders = 6
)

// Scratch memory slots of the filter.
const (
	memNext = 0 // next-header value while X moves past a header
	memLen  = 1 // length of the header being skipped
)

// insn is an instruction with symbolic jump targets, resolved by assemble.
type insn struct {
	ins      bpf.Instruction
	label    string // label of this instruction
	jt, jf   string // jump targets for conditional jumps ("" = next)
	ja       string // target of an unconditional jump
	isJumpIf bool
}

// Filter returns the classic BPF program that accepts TCP segments (only
// those with SYN set when synOnly) over IPv4 or IPv6 and truncates them to
// snaplen bytes, for frames of the given link type: Ethernet, or raw IP.
//
// On Ethernet it skips up to MaxFilterVLANTags in-band VLAN tags (TPID
// 0x8100, 0x88a8 or 0x9100); a tag the kernel stripped into the packet's
// metadata is not in the frame and needs no skipping. On IPv6 it follows up
// to MaxFilterIPv6ExtHeaders extension headers to the TCP header. Fragments
// other than the first (IPv4 or IPv6) are dropped in both modes: they hold
// no TCP header. ESP-protected and unknown next headers are dropped.
//
// The program keeps the start of the current header in X and reads every
// field with indirect loads, so one IP section serves every link header
// length.
func Filter(link tcpwin.LinkType, synOnly bool, snaplen int) ([]bpf.RawInstruction, error) {
	return VLANFilter(link, synOnly, snaplen, 0)
}

// VLANFilter is Filter restricted to frames whose outermost VLAN tag
// carries the VLAN ID vid (1-4094; 0 means no restriction, as Filter).
// The outermost tag is either in the packet's metadata, when the kernel
// moved it out of the frame (read with the SKF_AD_VLAN_TAG_PRESENT and
// SKF_AD_VLAN_TAG ancillary loads), or in-band at the EtherType's place;
// inner tags are skipped as in Filter, within MaxFilterVLANTags in-band
// tags in all. Only Ethernet frames carry tags.
func VLANFilter(link tcpwin.LinkType, synOnly bool, snaplen int, vid int) ([]bpf.RawInstruction, error) {
	if snaplen <= 0 {
		return nil, fmt.Errorf("live: snap length %d", snaplen)
	}
	if vid < 0 || vid > 4094 || (vid != 0 && link != tcpwin.LinkEthernet) {
		return nil, fmt.Errorf("live: VLAN %d on link type %v", vid, link)
	}
	var p []insn
	add := func(label string, i bpf.Instruction) { p = append(p, insn{label: label, ins: i}) }
	jif := func(label string, cond bpf.JumpTest, val uint32, jt, jf string) {
		p = append(p, insn{label: label, ins: bpf.JumpIf{Cond: cond, Val: val}, jt: jt, jf: jf, isJumpIf: true})
	}
	ja := func(label, to string) { p = append(p, insn{label: label, ins: bpf.Jump{}, ja: to}) }
	switch link {
	case tcpwin.LinkEthernet:
		if vid != 0 {
			add("", bpf.LoadExtension{Num: bpf.ExtVLANTagPresent})
			jif("", bpf.JumpEqual, 0, "inband", "")
			add("", bpf.LoadExtension{Num: bpf.ExtVLANTag})
			add("", bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: vidMask})
			jif("", bpf.JumpEqual, uint32(vid), "tag0", "drop")
			add("inband", bpf.LoadAbsolute{Off: etherTypeOff, Size: 2})
			jif("", bpf.JumpEqual, tpidDot1Q, "vid", "")
			jif("", bpf.JumpEqual, tpidDot1AD, "vid", "")
			jif("", bpf.JumpEqual, tpidQinQ, "vid", "drop")
			add("vid", bpf.LoadAbsolute{Off: etherTypeOff + 2, Size: 2})
			add("", bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: vidMask})
			jif("", bpf.JumpEqual, uint32(vid), "tag1", "drop")
		}
		// A = EtherType after 0, 1 or 2 tags; X = start of the IP header.
		for i := 0; i <= MaxFilterVLANTags; i++ {
			off := uint32(etherTypeOff + i*vlanTagLen)
			add(fmt.Sprintf("tag%d", i), bpf.LoadAbsolute{Off: off, Size: 2})
			if i < MaxFilterVLANTags {
				next := fmt.Sprintf("tag%d", i+1)
				jif("", bpf.JumpEqual, tpidDot1Q, next, "")
				jif("", bpf.JumpEqual, tpidDot1AD, next, "")
				jif("", bpf.JumpEqual, tpidQinQ, next, "")
			}
			add("", bpf.LoadConstant{Dst: bpf.RegX, Val: off + 2})
			if i < MaxFilterVLANTags {
				ja("", "ethertype")
			}
		}
		jif("ethertype", bpf.JumpEqual, etherTypeIPv4, "ipver", "")
		jif("", bpf.JumpEqual, etherTypeIPv6, "ipver", "drop")
	case tcpwin.LinkRaw:
		add("", bpf.LoadConstant{Dst: bpf.RegX, Val: 0})
	default:
		return nil, fmt.Errorf("live: no filter for link type %v", link)
	}
	// Like tcpwin's decoder, trust the version nibble over the EtherType.
	add("ipver", bpf.LoadIndirect{Off: 0, Size: 1})
	add("", bpf.ALUOpConstant{Op: bpf.ALUOpShiftRight, Val: 4})
	jif("", bpf.JumpEqual, 4, "v4", "")
	jif("", bpf.JumpEqual, 6, "v6", "drop")

	// IPv4: X = IP header. Protocol, then fragment offset, then X += IHL*4.
	add("v4", bpf.LoadIndirect{Off: ipv4ProtoOff, Size: 1})
	jif("", bpf.JumpEqual, protoTCP, "", "drop")
	add("", bpf.LoadIndirect{Off: ipv4FragOff, Size: 2})
	jif("", bpf.JumpBitsSet, ipv4FragMask, "drop", "")
	add("", bpf.LoadIndirect{Off: 0, Size: 1})
	add("", bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0x0f})
	add("", bpf.ALUOpConstant{Op: bpf.ALUOpShiftLeft, Val: 2})
	add("", bpf.ALUOpX{Op: bpf.ALUOpAdd})
	add("", bpf.TAX{})
	ja("", "tcp")

	// IPv6: A = next header, X = the header after the fixed one.
	add("v6", bpf.LoadIndirect{Off: ipv6NextOff, Size: 1})
	add("", bpf.StoreScratch{Src: bpf.RegA, N: memNext})
	add("", bpf.TXA{})
	add("", bpf.ALUOpConstant{Op: bpf.ALUOpAdd, Val: ipv6HeaderLen})
	add("", bpf.TAX{})
	add("", bpf.LoadScratch{Dst: bpf.RegA, N: memNext})
	for i := 0; i <= MaxFilterIPv6ExtHeaders; i++ {
		l := func(s string) string { return fmt.Sprintf("%s%d", s, i) }
		if i == MaxFilterIPv6ExtHeaders {
			jif(l("x"), bpf.JumpEqual, protoTCP, "tcp", "drop")
			break
		}
		jif(l("x"), bpf.JumpEqual, protoTCP, "tcp", "")
		for _, proto := range []uint32{protoHopByHop, protoRouting, protoDstOpts, protoMobility, protoHIP, protoShim6} {
			jif("", bpf.JumpEqual, proto, l("opt"), "")
		}
		jif("", bpf.JumpEqual, protoFragment, l("frag"), "")
		jif("", bpf.JumpEqual, protoAH, l("ah"), "drop")
		// Generic extension header: length (Hdr Ext Len + 1) * 8.
		add(l("opt"), bpf.LoadIndirect{Off: 1, Size: 1})
		add("", bpf.ALUOpConstant{Op: bpf.ALUOpAdd, Val: 1})
		add("", bpf.ALUOpConstant{Op: bpf.ALUOpShiftLeft, Val: 3})
		ja("", l("skip"))
		// Authentication header: (Payload Len + 2) * 4 (RFC 4302).
		add(l("ah"), bpf.LoadIndirect{Off: 1, Size: 1})
		add("", bpf.ALUOpConstant{Op: bpf.ALUOpAdd, Val: 2})
		add("", bpf.ALUOpConstant{Op: bpf.ALUOpShiftLeft, Val: 2})
		ja("", l("skip"))
		// Fragment header: 8 bytes; only the first fragment holds TCP.
		add(l("frag"), bpf.LoadIndirect{Off: 2, Size: 2})
		jif("", bpf.JumpBitsSet, ipv6FragMask, "drop", "")
		add("", bpf.LoadConstant{Dst: bpf.RegA, Val: 8})
		// A = header length: next = [X]; X += A; A = next.
		add(l("skip"), bpf.StoreScratch{Src: bpf.RegA, N: memLen})
		add("", bpf.LoadIndirect{Off: 0, Size: 1})
		add("", bpf.StoreScratch{Src: bpf.RegA, N: memNext})
		add("", bpf.LoadScratch{Dst: bpf.RegA, N: memLen})
		add("", bpf.ALUOpX{Op: bpf.ALUOpAdd})
		add("", bpf.TAX{})
		add("", bpf.LoadScratch{Dst: bpf.RegA, N: memNext})
	}

	// TCP: X = TCP header.
	if synOnly {
		add("tcp", bpf.LoadIndirect{Off: tcpFlagsOff, Size: 1})
		jif("", bpf.JumpBitsSet, tcpFlagSYN, "accept", "drop")
	} else {
		// Read the flags anyway: a frame cut before them is dropped, like
		// the decoder rejects it.
		add("tcp", bpf.LoadIndirect{Off: tcpFlagsOff, Size: 1})
	}
	add("accept", bpf.RetConstant{Val: uint32(snaplen)})
	add("drop", bpf.RetConstant{Val: 0})
	return assemble(p)
}

// assemble resolves labels into relative skips and assembles the program.
func assemble(p []insn) ([]bpf.RawInstruction, error) {
	at := map[string]int{}
	for i, x := range p {
		if x.label != "" {
			if _, dup := at[x.label]; dup {
				return nil, fmt.Errorf("live: duplicate label %q", x.label)
			}
			at[x.label] = i
		}
	}
	skip := func(from int, label string, limit int) (int, error) {
		if label == "" {
			return 0, nil
		}
		to, ok := at[label]
		if !ok || to <= from || to-from-1 > limit {
			return 0, fmt.Errorf("live: bad jump from %d to %q", from, label)
		}
		return to - from - 1, nil
	}
	out := make([]bpf.Instruction, len(p))
	for i, x := range p {
		switch {
		case x.ja != "":
			n, err := skip(i, x.ja, math.MaxInt32)
			if err != nil {
				return nil, err
			}
			out[i] = bpf.Jump{Skip: uint32(n)}
		case x.isJumpIf:
			j := x.ins.(bpf.JumpIf)
			t, err := skip(i, x.jt, 255)
			if err != nil {
				return nil, err
			}
			f, err := skip(i, x.jf, 255)
			if err != nil {
				return nil, err
			}
			j.SkipTrue, j.SkipFalse = uint8(t), uint8(f)
			out[i] = j
		default:
			out[i] = x.ins
		}
	}
	return bpf.Assemble(out)
}
