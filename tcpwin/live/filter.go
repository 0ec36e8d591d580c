package live

import (
	"fmt"

	"github.com/bulletproof-labs/wsvcb/tcpwin"
	"golang.org/x/net/bpf"
)

// Header offsets the filter reads (RFC 791, RFC 8200, RFC 9293).
const (
	ethHeaderLen  = 14
	etherTypeOff  = 12
	etherTypeIPv4 = 0x0800
	etherTypeIPv6 = 0x86dd
	ipv4ProtoOff  = 9
	ipv4FragOff   = 6
	ipv6NextOff   = 6
	ipv6HeaderLen = 40
	tcpFlagsOff   = 13
	protoTCP      = 6
	tcpFlagSYN    = 0x02
)

// insn is an instruction with symbolic jump targets, resolved by assemble.
type insn struct {
	ins      bpf.Instruction
	label    string // label of this instruction
	jt, jf   string // jump targets for conditional jumps ("" = next)
	isJumpIf bool
}

// Filter returns the classic BPF program that accepts TCP segments (only
// those with SYN set when synOnly) over IPv4 or IPv6 and truncates them to
// snaplen bytes, for frames of the given link type: Ethernet without VLAN
// tags, or raw IP. IPv4 fragments after the first are dropped in SYN-only
// mode (they hold no TCP header); IPv6 extension headers are not followed
// (such segments are dropped).
func Filter(link tcpwin.LinkType, synOnly bool, snaplen int) ([]bpf.RawInstruction, error) {
	if snaplen <= 0 {
		return nil, fmt.Errorf("live: snap length %d", snaplen)
	}
	var p []insn
	add := func(i insn) { p = append(p, i) }
	jif := func(cond bpf.JumpTest, val uint32, jt, jf string) {
		add(insn{ins: bpf.JumpIf{Cond: cond, Val: val}, jt: jt, jf: jf, isJumpIf: true})
	}
	var l uint32
	switch link {
	case tcpwin.LinkEthernet:
		l = ethHeaderLen
		add(insn{ins: bpf.LoadAbsolute{Off: etherTypeOff, Size: 2}})
		jif(bpf.JumpEqual, etherTypeIPv4, "v4", "")
		jif(bpf.JumpEqual, etherTypeIPv6, "v6", "drop")
	case tcpwin.LinkRaw:
		add(insn{ins: bpf.LoadAbsolute{Off: 0, Size: 1}})
		add(insn{ins: bpf.ALUOpConstant{Op: bpf.ALUOpShiftRight, Val: 4}})
		jif(bpf.JumpEqual, 4, "v4", "")
		jif(bpf.JumpEqual, 6, "v6", "drop")
	default:
		return nil, fmt.Errorf("live: no filter for link type %v", link)
	}
	// IPv4.
	add(insn{label: "v4", ins: bpf.LoadAbsolute{Off: l + ipv4ProtoOff, Size: 1}})
	if synOnly {
		jif(bpf.JumpEqual, protoTCP, "", "drop")
		add(insn{ins: bpf.LoadAbsolute{Off: l + ipv4FragOff, Size: 2}})
		jif(bpf.JumpBitsSet, 0x1fff, "drop", "")
		add(insn{ins: bpf.LoadMemShift{Off: l}})
		add(insn{ins: bpf.LoadIndirect{Off: l + tcpFlagsOff, Size: 1}})
		jif(bpf.JumpBitsSet, tcpFlagSYN, "accept", "drop")
	} else {
		jif(bpf.JumpEqual, protoTCP, "accept", "drop")
	}
	// IPv6.
	add(insn{label: "v6", ins: bpf.LoadAbsolute{Off: l + ipv6NextOff, Size: 1}})
	if synOnly {
		jif(bpf.JumpEqual, protoTCP, "", "drop")
		add(insn{ins: bpf.LoadAbsolute{Off: l + ipv6HeaderLen + tcpFlagsOff, Size: 1}})
		jif(bpf.JumpBitsSet, tcpFlagSYN, "accept", "drop")
	} else {
		jif(bpf.JumpEqual, protoTCP, "accept", "drop")
	}
	add(insn{label: "accept", ins: bpf.RetConstant{Val: uint32(snaplen)}})
	add(insn{label: "drop", ins: bpf.RetConstant{Val: 0}})
	return assemble(p)
}

// assemble resolves labels into relative skips and assembles the program.
func assemble(p []insn) ([]bpf.RawInstruction, error) {
	at := map[string]int{}
	for i, x := range p {
		if x.label != "" {
			at[x.label] = i
		}
	}
	skip := func(from int, label string) (uint8, error) {
		if label == "" {
			return 0, nil
		}
		to, ok := at[label]
		if !ok || to <= from || to-from-1 > 255 {
			return 0, fmt.Errorf("live: bad jump from %d to %q", from, label)
		}
		return uint8(to - from - 1), nil
	}
	out := make([]bpf.Instruction, len(p))
	for i, x := range p {
		if !x.isJumpIf {
			out[i] = x.ins
			continue
		}
		j := x.ins.(bpf.JumpIf)
		var err error
		if j.SkipTrue, err = skip(i, x.jt); err != nil {
			return nil, err
		}
		if j.SkipFalse, err = skip(i, x.jf); err != nil {
			return nil, err
		}
		out[i] = j
	}
	return bpf.Assemble(out)
}
