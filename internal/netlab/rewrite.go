package netlab

import (
	"encoding/binary"
	"fmt"
)

// Direction selects which way a Rule applies.
type Direction uint8

const (
	// ClientToServer matches frames entering the middlebox on the client leg.
	ClientToServer Direction = 1 << iota
	// ServerToClient matches frames entering on the server leg.
	ServerToClient
	// BothDirections matches all frames.
	BothDirections = ClientToServer | ServerToClient
)

func (d Direction) String() string {
	switch d {
	case ClientToServer:
		return "client->server"
	case ServerToClient:
		return "server->client"
	case BothDirections:
		return "both"
	}
	return fmt.Sprintf("Direction(%d)", uint8(d))
}

// Action is what a Rule does to a matching window-scale option.
type Action uint8

const (
	// RewriteShift sets the option's shift byte to Rule.To.
	RewriteShift Action = iota + 1
	// StripOption replaces the whole option (kind, length, shift) with three
	// NOPs, so the segment keeps its length and the peer sees no option.
	StripOption
)

// AnyShift as Rule.From matches every shift of at least Rule.MinShift.
const AnyShift = -1

// Rule edits the window-scale option of SYN and SYN-ACK segments going one
// way through the middlebox. Options on non-SYN segments are left alone.
type Rule struct {
	Dir    Direction
	Action Action
	// From is the shift to match, or AnyShift.
	From int
	// MinShift restricts AnyShift to shifts >= MinShift ("routers that
	// dislike large shifts").
	MinShift int
	// To is the new shift for RewriteShift.
	To int
}

// Rewrite returns a rule that rewrites shift from (or AnyShift) to to.
func Rewrite(dir Direction, from, to int) Rule {
	return Rule{Dir: dir, Action: RewriteShift, From: from, To: to}
}

// RewriteAbove returns a rule that rewrites every shift above max to to.
func RewriteAbove(dir Direction, max, to int) Rule {
	return Rule{Dir: dir, Action: RewriteShift, From: AnyShift, MinShift: max + 1, To: to}
}

// Strip returns a rule that removes the option in the given direction(s).
func Strip(dir Direction) Rule {
	return Rule{Dir: dir, Action: StripOption, From: AnyShift}
}

func (r Rule) String() string {
	match := fmt.Sprint(r.From)
	if r.From == AnyShift {
		match = "any"
		if r.MinShift > 0 {
			match = fmt.Sprintf(">=%d", r.MinShift)
		}
	}
	if r.Action == StripOption {
		return fmt.Sprintf("strip wscale %s %s", match, r.Dir)
	}
	return fmt.Sprintf("rewrite wscale %s->%d %s", match, r.To, r.Dir)
}

func (r Rule) matches(dir Direction, shift int) bool {
	if r.Dir&dir == 0 {
		return false
	}
	if r.From == AnyShift {
		return shift >= r.MinShift
	}
	return shift == r.From
}

// Edit reports what RewriteFrame did to a frame.
type Edit struct {
	SYN       bool // the frame is a TCP SYN or SYN-ACK
	ACK       bool // ... a SYN-ACK
	OldShift  int  // shift found, -1 if no window-scale option
	NewShift  int  // shift after the edit, -1 if stripped or absent
	Rewritten bool // shift byte changed
	Stripped  bool // option replaced by NOPs
}

// Changed reports whether the frame was modified.
func (e Edit) Changed() bool { return e.Rewritten || e.Stripped }

const (
	etherTypeIPv4 = 0x0800
	etherTypeIPv6 = 0x86dd
	etherTypeVLAN = 0x8100
	protoTCP      = 6
)

// tcpSegment locates the TCP segment of an Ethernet frame carrying IPv4 or
// IPv6 (no extension headers; 802.1Q tags skipped). It returns the offset of
// the IP header, the TCP segment and the IP version, or ok=false.
func tcpSegment(frame []byte) (ipOff int, seg []byte, v6 bool, ok bool) {
	if len(frame) < 14 {
		return 0, nil, false, false
	}
	off := 12
	et := binary.BigEndian.Uint16(frame[off:])
	for et == etherTypeVLAN {
		off += 4
		if len(frame) < off+2 {
			return 0, nil, false, false
		}
		et = binary.BigEndian.Uint16(frame[off:])
	}
	ipOff = off + 2
	ip := frame[ipOff:]
	switch et {
	case etherTypeIPv4:
		if len(ip) < 20 || ip[0]>>4 != 4 {
			return 0, nil, false, false
		}
		ihl := int(ip[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(ip[2:]))
		if ihl < 20 || total < ihl || total > len(ip) || ip[9] != protoTCP {
			return 0, nil, false, false
		}
		if binary.BigEndian.Uint16(ip[6:])&0x3fff != 0 { // fragment
			return 0, nil, false, false
		}
		return ipOff, ip[ihl:total], false, true
	case etherTypeIPv6:
		if len(ip) < 40 || ip[0]>>4 != 6 || ip[6] != protoTCP {
			return 0, nil, false, false
		}
		plen := int(binary.BigEndian.Uint16(ip[4:]))
		if 40+plen > len(ip) {
			return 0, nil, false, false
		}
		return ipOff, ip[40 : 40+plen], true, true
	}
	return 0, nil, false, false
}

// wscaleOffset returns the offset within seg of the window-scale option's
// kind byte, or -1. The options are walked with every length checked.
func wscaleOffset(seg []byte) int {
	if len(seg) < 20 {
		return -1
	}
	doff := int(seg[12]>>4) * 4
	if doff < 20 || doff > len(seg) {
		return -1
	}
	for i := 20; i < doff; {
		switch seg[i] {
		case 0: // end of options
			return -1
		case 1: // NOP
			i++
			continue
		}
		if i+1 >= doff {
			return -1
		}
		l := int(seg[i+1])
		if l < 2 || i+l > doff {
			return -1
		}
		if seg[i] == 3 && l == 3 {
			return i
		}
		i += l
	}
	return -1
}

// RewriteFrame applies the rules for direction dir to one Ethernet frame in
// place and fixes the TCP checksum when it changed anything. Frames that are
// not TCP SYNs, or that cannot be parsed, are left untouched. The first
// matching rule wins.
func RewriteFrame(frame []byte, dir Direction, rules []Rule) Edit {
	e := Edit{OldShift: -1, NewShift: -1}
	ipOff, seg, v6, ok := tcpSegment(frame)
	if !ok || len(seg) < 20 || seg[13]&0x02 == 0 {
		return e
	}
	e.SYN, e.ACK = true, seg[13]&0x10 != 0
	at := wscaleOffset(seg)
	if at < 0 {
		return e
	}
	e.OldShift = int(seg[at+2])
	e.NewShift = e.OldShift
	for _, r := range rules {
		if !r.matches(dir, e.OldShift) {
			continue
		}
		switch r.Action {
		case RewriteShift:
			if r.To < 0 || r.To > 255 || r.To == e.OldShift {
				return e
			}
			seg[at+2] = byte(r.To)
			e.NewShift = r.To
			e.Rewritten = true
		case StripOption:
			seg[at], seg[at+1], seg[at+2] = 1, 1, 1
			e.NewShift = -1
			e.Stripped = true
		default:
			return e
		}
		setTCPChecksum(frame[ipOff:], seg, v6)
		return e
	}
	return e
}

// setTCPChecksum recomputes the TCP checksum of seg (which lies inside ip).
func setTCPChecksum(ip, seg []byte, v6 bool) {
	seg[16], seg[17] = 0, 0
	var sum uint32
	if v6 {
		sum = sumBytes(sum, ip[8:40])
	} else {
		sum = sumBytes(sum, ip[12:20])
	}
	sum += protoTCP + uint32(len(seg))
	sum = sumBytes(sum, seg)
	binary.BigEndian.PutUint16(seg[16:], ^fold(sum))
}

// TCPChecksumOK reports whether a frame is TCP with a valid checksum.
func TCPChecksumOK(frame []byte) bool {
	ipOff, seg, v6, ok := tcpSegment(frame)
	if !ok || len(seg) < 20 {
		return false
	}
	ip := frame[ipOff:]
	var sum uint32
	if v6 {
		sum = sumBytes(sum, ip[8:40])
	} else {
		sum = sumBytes(sum, ip[12:20])
	}
	sum += protoTCP + uint32(len(seg))
	sum = sumBytes(sum, seg)
	return fold(sum) == 0xffff
}

func sumBytes(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}

func fold(sum uint32) uint16 {
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return uint16(sum)
}
