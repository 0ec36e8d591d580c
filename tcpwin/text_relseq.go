package tcpwin

import (
	"encoding/binary"
	"net/netip"
)

// tcpdump prints relative sequence numbers by default (no -S). Its rule
// (print-tcp.c, tcp_seq_hash): for a packet with ACK set, it looks up the
// conversation (both addresses and ports, either direction). When the
// conversation is new, or the packet is a SYN, it records the packet's seq
// as the base of the sender's sequence space and ack-1 as the base of the
// peer's, and prints the packet's numbers as they are. Later packets of the
// conversation print seq minus the sender's base, and ack and SACK blocks
// minus the peer's base. Packets without ACK (the first SYN, a bare RST)
// are printed absolute.
//
// relSeq mirrors that rule to turn the printed numbers back into the wire's.
// Whether the text is relative at all (tcpdump -S prints absolute numbers
// throughout) is decided from the first packet that would have been
// relativised: a relative number is a small offset from 0, an absolute one
// a small offset from the recorded base. The decision holds for the whole
// text, as tcpdump's -S does.
type relSeq struct {
	convs map[relKey]*relConv
	mode  relMode
}

// relConv is one conversation; side 0 is the lower endpoint.
type relConv struct {
	base     [2]uint32 // tcpdump's recorded bases
	recorded bool      // tcpdump has an entry (a packet with ACK was seen)
	// synNext is ISN+1 from a SYN without ACK (printed absolute): the base
	// tcpdump recorded when the recording packet is a pure ACK whose seq
	// the text does not show.
	synNext [2]uint32
	haveSyn [2]bool
}

type relMode uint8

const (
	relUnknown relMode = iota
	relOn
	relOff
)

// maxRelConvs bounds the conversation table (tcpdump's own is unbounded);
// beyond it new conversations are taken as absolute rather than grow memory
// without limit on hostile input.
const maxRelConvs = 1 << 20

type relKey struct {
	a, b         netip.Addr
	aport, bport uint16
}

// relFix rewrites seg's printed seq (when haveSeq), ack and SACK blocks
// into absolute numbers.
func (r *relSeq) fix(seg *Segment, haveSeq bool) {
	if r.mode == relOff {
		return
	}
	side := 0
	k := relKey{seg.Src, seg.Dst, seg.SrcPort, seg.DstPort}
	if c := seg.Src.Compare(seg.Dst); c > 0 || c == 0 && seg.SrcPort > seg.DstPort {
		side = 1
		k = relKey{seg.Dst, seg.Src, seg.DstPort, seg.SrcPort}
	}
	if r.convs == nil {
		r.convs = make(map[relKey]*relConv)
	}
	c := r.convs[k]
	if c == nil {
		if len(r.convs) >= maxRelConvs {
			return
		}
		c = new(relConv)
		r.convs[k] = c
	}
	if !seg.Flags.Has(FlagACK) {
		if seg.Flags.Has(FlagSYN) && haveSeq {
			c.synNext[side], c.haveSyn[side] = seg.Seq+1, true
		}
		return
	}
	base := &c.base
	if !c.recorded || seg.Flags.Has(FlagSYN) {
		c.recorded = true
		switch {
		case haveSeq:
			base[side] = seg.Seq
		case c.haveSyn[side]:
			base[side] = c.synNext[side]
		default:
			// Unknown: the text's numbers for this side stay relative,
			// consistent with the peer's acks of them.
			base[side] = 0
		}
		base[1-side] = seg.Ack - 1
		return
	}
	if r.mode == relUnknown {
		// Printed ack under each reading: relative = small; absolute = near
		// the peer's base.
		rel := dist(seg.Ack, 0)
		abs := dist(seg.Ack, base[1-side])
		switch {
		case rel < abs:
			r.mode = relOn
		case abs < rel:
			r.mode = relOff
			return
		default:
			return // base near 0: both readings agree closely enough
		}
	}
	if haveSeq {
		seg.Seq += base[side]
	}
	seg.Ack += base[1-side]
	addSACKBase(seg.Options, base[1-side])
}

// dist is the distance between two sequence numbers on the 2^32 circle.
func dist(a, b uint32) uint32 {
	d := a - b
	if int32(d) < 0 {
		d = -d
	}
	return d
}

// addSACKBase adds base to every SACK block edge in the encoded options.
func addSACKBase(opts []byte, base uint32) {
	for i := 0; i < len(opts); {
		kind := opts[i]
		if kind == 0 {
			return
		}
		if kind == 1 {
			i++
			continue
		}
		if i+1 >= len(opts) || opts[i+1] < 2 || i+int(opts[i+1]) > len(opts) {
			return
		}
		n := int(opts[i+1])
		if kind == 5 {
			for j := i + 2; j+4 <= i+n; j += 4 {
				binary.BigEndian.PutUint32(opts[j:], binary.BigEndian.Uint32(opts[j:])+base)
			}
		}
		i += n
	}
}
