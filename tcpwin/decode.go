package tcpwin

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Header sizes and field values used by the frame decoder. Every header is
// read in place from the frame buffer (gVisor pkg/tcpip/header style): no
// per-packet allocation.
const (
	// IEEE 802.3: destination, source, EtherType.
	ethHeaderLen = 14
	// IEEE 802.1Q tag: TCI (2 bytes) + inner EtherType (2 bytes).
	vlanTagLen = 4
	// Linux cooked capture v1/v2 (https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html,
	// LINKTYPE_LINUX_SLL2.html).
	sllHeaderLen  = 16
	sll2HeaderLen = 20
	// BSD loopback: 4-byte address family (https://www.tcpdump.org/linktypes/LINKTYPE_NULL.html).
	nullHeaderLen = 4
	// NFLOG: family(1) version(1) resource id(2), then TLVs
	// (https://www.tcpdump.org/linktypes/LINKTYPE_NFLOG.html).
	nflogHeaderLen = 4
	nflogTLVLen    = 4
	nflogPayload   = 9 // NFULA_PAYLOAD

	// IPv4, RFC 791 section 3.1.
	ipv4MinHeaderLen = 20
	ipv4MoreFrags    = 0x2000
	ipv4FragOffMask  = 0x1fff
	// IPv6, RFC 8200 section 3.
	ipv6HeaderLen = 40
	// TCP, RFC 9293 section 3.1.
	tcpMinHeaderLen = 20

	ipProtoTCP = 6 // IANA protocol numbers
	// IPv6 extension headers, RFC 8200 section 4 and the IANA registry.
	ipProtoHopByHop = 0
	ipProtoRouting  = 43
	ipProtoFragment = 44
	ipProtoESP      = 50
	ipProtoAH       = 51 // RFC 4302: length in 4-octet units minus 2
	ipProtoNoNext   = 59
	ipProtoDstOpts  = 60
	ipProtoMobility = 135 // RFC 6275
	ipProtoHIP      = 139 // RFC 7401
	ipProtoShim6    = 140 // RFC 5533
	maxIPv6ExtHdrs  = 16

	etherTypeIPv4   = 0x0800
	etherTypeIPv6   = 0x86dd
	etherTypeVLAN   = 0x8100 // IEEE 802.1Q
	etherTypeQinQ   = 0x88a8 // IEEE 802.1ad
	etherTypeQinQ91 = 0x9100 // pre-standard QinQ
	maxVLANTags     = 8

	// Address families seen in NULL/LOOP headers: AF_INET is 2 everywhere;
	// AF_INET6 is 10 (Linux), 24 (NetBSD, OpenBSD, BSD/OS), 28 (FreeBSD,
	// DragonFly), 30 (Darwin).
	afInet     = 2
	afInet6Lin = 10
	afInet6BSD = 24
	afInet6Fre = 28
	afInet6Dar = 30
)

// frameDecoder turns link-layer frames into Segments.
type frameDecoder struct {
	// hostBE is the byte order of the capturing host (the pcap/pcapng
	// section order), used for NFLOG TLVs, which are in host order.
	hostBE bool
}

func badFrame(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadFrame}, args...)...)
}

// decode fills seg from one frame. It returns false (and no error) for
// frames that are not TCP over IP, or a per-frame error wrapping ErrBadFrame
// for malformed headers. wireLen is the frame's original length on the wire
// (>= len(data) when the capture was cut by a snap length).
func (d *frameDecoder) decode(seg *Segment, link LinkType, data []byte, wireLen int) (bool, error) {
	switch link {
	case LinkEthernet:
		if len(data) < ethHeaderLen {
			return false, badFrame("Ethernet header truncated (%d bytes)", len(data))
		}
		et := binary.BigEndian.Uint16(data[12:14])
		return d.etherType(seg, et, data[ethHeaderLen:], wireLen-ethHeaderLen)
	case LinkNull, LinkLoop:
		if len(data) < nullHeaderLen {
			return false, badFrame("loopback header truncated (%d bytes)", len(data))
		}
		var fam uint32
		if link == LinkLoop {
			fam = binary.BigEndian.Uint32(data)
		} else {
			// Host byte order of the capturing machine; the value is small,
			// so a non-zero upper half means the other order.
			fam = binary.LittleEndian.Uint32(data)
			if fam&0xffff0000 != 0 {
				fam = binary.BigEndian.Uint32(data)
			}
		}
		switch fam {
		case afInet, afInet6Lin, afInet6BSD, afInet6Fre, afInet6Dar:
			return d.ip(seg, data[nullHeaderLen:], wireLen-nullHeaderLen)
		}
		return false, nil
	case LinkRaw, LinkRaw12, LinkRaw14:
		return d.ip(seg, data, wireLen)
	case LinkIPv4:
		if len(data) > 0 && data[0]>>4 != 4 {
			return false, badFrame("IPv4 link type with IP version %d", data[0]>>4)
		}
		return d.ip(seg, data, wireLen)
	case LinkIPv6:
		if len(data) > 0 && data[0]>>4 != 6 {
			return false, badFrame("IPv6 link type with IP version %d", data[0]>>4)
		}
		return d.ip(seg, data, wireLen)
	case LinkLinuxSLL:
		if len(data) < sllHeaderLen {
			return false, badFrame("Linux SLL header truncated (%d bytes)", len(data))
		}
		et := binary.BigEndian.Uint16(data[14:16])
		return d.etherType(seg, et, data[sllHeaderLen:], wireLen-sllHeaderLen)
	case LinkSLL2:
		if len(data) < sll2HeaderLen {
			return false, badFrame("Linux SLL2 header truncated (%d bytes)", len(data))
		}
		et := binary.BigEndian.Uint16(data[0:2])
		return d.etherType(seg, et, data[sll2HeaderLen:], wireLen-sll2HeaderLen)
	case LinkNFLOG:
		return d.nflog(seg, data, wireLen)
	}
	return false, fmt.Errorf("%w: %v", ErrLinkType, link)
}

// etherType dispatches on an EtherType, stripping 802.1Q/802.1ad tags.
func (d *frameDecoder) etherType(seg *Segment, et uint16, data []byte, wireLen int) (bool, error) {
	for i := 0; ; i++ {
		switch et {
		case etherTypeIPv4, etherTypeIPv6:
			return d.ip(seg, data, wireLen)
		case etherTypeVLAN, etherTypeQinQ, etherTypeQinQ91:
			if i >= maxVLANTags {
				return false, badFrame("more than %d VLAN tags", maxVLANTags)
			}
			if len(data) < vlanTagLen {
				return false, badFrame("802.1Q tag truncated")
			}
			et = binary.BigEndian.Uint16(data[2:4])
			data = data[vlanTagLen:]
			wireLen -= vlanTagLen
		default:
			return false, nil // ARP, LLC, PPPoE, ...: not TCP over IP
		}
	}
}

// nflog walks the NFLOG TLVs to the NFULA_PAYLOAD attribute, which holds
// the IP packet.
func (d *frameDecoder) nflog(seg *Segment, data []byte, wireLen int) (bool, error) {
	if len(data) < nflogHeaderLen {
		return false, badFrame("NFLOG header truncated (%d bytes)", len(data))
	}
	if data[1] != 0 {
		return false, badFrame("NFLOG version %d", data[1])
	}
	off := nflogHeaderLen
	for off+nflogTLVLen <= len(data) {
		var l, t int
		if d.hostBE {
			l, t = int(binary.BigEndian.Uint16(data[off:])), int(binary.BigEndian.Uint16(data[off+2:]))
		} else {
			l, t = int(binary.LittleEndian.Uint16(data[off:])), int(binary.LittleEndian.Uint16(data[off+2:]))
		}
		if l < nflogTLVLen {
			return false, badFrame("NFLOG TLV length %d at offset %d", l, off)
		}
		if t&0x7fff == nflogPayload { // top bit: NLA_F_NESTED
			end := off + l
			if end > len(data) {
				end = len(data) // cut by the snap length
			}
			body := data[off+nflogTLVLen : end]
			return d.ip(seg, body, l-nflogTLVLen)
		}
		off += (l + 3) &^ 3 // TLVs are padded to 4 bytes
	}
	return false, nil // no payload attribute (e.g. snap length 0)
}

// ip decodes an IPv4 or IPv6 packet according to its version nibble.
func (d *frameDecoder) ip(seg *Segment, data []byte, wireLen int) (bool, error) {
	if len(data) == 0 {
		return false, badFrame("empty IP packet")
	}
	switch data[0] >> 4 {
	case 4:
		return d.ipv4(seg, data, wireLen)
	case 6:
		return d.ipv6(seg, data, wireLen)
	}
	return false, badFrame("IP version %d", data[0]>>4)
}

func (d *frameDecoder) ipv4(seg *Segment, data []byte, wireLen int) (bool, error) {
	if len(data) < ipv4MinHeaderLen {
		return false, badFrame("IPv4 header truncated (%d bytes)", len(data))
	}
	ihl := int(data[0]&0x0f) * 4
	if ihl < ipv4MinHeaderLen {
		return false, badFrame("IPv4 header length %d < %d", ihl, ipv4MinHeaderLen)
	}
	if len(data) < ihl {
		return false, badFrame("IPv4 header with options truncated (%d of %d bytes)", len(data), ihl)
	}
	total := int(binary.BigEndian.Uint16(data[2:4]))
	if total == 0 {
		// TSO/GSO super-packets captured on the sending host may carry
		// length 0; take the length on the wire instead.
		total = wireLen
	}
	if total < ihl {
		return false, badFrame("IPv4 total length %d < header length %d", total, ihl)
	}
	if data[9] != ipProtoTCP {
		return false, nil
	}
	if binary.BigEndian.Uint16(data[6:8])&ipv4FragOffMask != 0 {
		return false, nil // not the first fragment: no TCP header
	}
	seg.Src = netip.AddrFrom4([4]byte(data[12:16]))
	seg.Dst = netip.AddrFrom4([4]byte(data[16:20]))
	return d.tcp(seg, data[ihl:], total-ihl)
}

func (d *frameDecoder) ipv6(seg *Segment, data []byte, wireLen int) (bool, error) {
	if len(data) < ipv6HeaderLen {
		return false, badFrame("IPv6 header truncated (%d bytes)", len(data))
	}
	plen := int(binary.BigEndian.Uint16(data[4:6]))
	if plen == 0 {
		// Jumbogram (RFC 2675) or a GSO super-packet: use the wire length.
		plen = wireLen - ipv6HeaderLen
	}
	next := data[6]
	src, dst := data[8:24], data[24:40]
	data = data[ipv6HeaderLen:]
	for i := 0; ; i++ {
		if next == ipProtoTCP {
			break
		}
		if i >= maxIPv6ExtHdrs {
			return false, badFrame("more than %d IPv6 extension headers", maxIPv6ExtHdrs)
		}
		var hl int
		switch next {
		case ipProtoHopByHop, ipProtoRouting, ipProtoDstOpts, ipProtoMobility, ipProtoHIP, ipProtoShim6:
			if len(data) < 2 {
				return false, badFrame("IPv6 extension header %d truncated", next)
			}
			hl = (int(data[1]) + 1) * 8
		case ipProtoFragment:
			if len(data) < 8 {
				return false, badFrame("IPv6 fragment header truncated")
			}
			if binary.BigEndian.Uint16(data[2:4])&0xfff8 != 0 {
				return false, nil // not the first fragment
			}
			hl = 8
		case ipProtoAH:
			if len(data) < 2 {
				return false, badFrame("IPv6 AH header truncated")
			}
			hl = (int(data[1]) + 2) * 4
		default: // ESP, no next header, UDP, ICMPv6, ...
			return false, nil
		}
		if len(data) < hl {
			return false, badFrame("IPv6 extension header %d truncated (%d of %d bytes)", next, len(data), hl)
		}
		next = data[0]
		data = data[hl:]
		plen -= hl
	}
	seg.Src = netip.AddrFrom16([16]byte(src)).Unmap()
	seg.Dst = netip.AddrFrom16([16]byte(dst)).Unmap()
	return d.tcp(seg, data, plen)
}

// tcp decodes the TCP header; ipPayload is the TCP segment length according
// to the IP header.
func (d *frameDecoder) tcp(seg *Segment, data []byte, ipPayload int) (bool, error) {
	if len(data) < tcpMinHeaderLen {
		return false, badFrame("TCP header truncated (%d bytes)", len(data))
	}
	doff := int(data[12]>>4) * 4
	if doff < tcpMinHeaderLen {
		return false, badFrame("TCP data offset %d < %d", doff, tcpMinHeaderLen)
	}
	if len(data) < doff {
		if ipPayload >= doff {
			// Old tcpdump defaults (68 bytes) cut SYN options this way.
			return false, badFrame("TCP options cut by the capture's snap length (%d of %d header bytes captured)", len(data), doff)
		}
		return false, badFrame("TCP options truncated (%d of %d header bytes)", len(data), doff)
	}
	if ipPayload < doff {
		return false, badFrame("IP payload length %d < TCP header length %d", ipPayload, doff)
	}
	seg.SrcPort = binary.BigEndian.Uint16(data[0:2])
	seg.DstPort = binary.BigEndian.Uint16(data[2:4])
	seg.Seq = binary.BigEndian.Uint32(data[4:8])
	seg.Ack = binary.BigEndian.Uint32(data[8:12])
	seg.Flags = Flags(data[13])
	seg.Window = binary.BigEndian.Uint16(data[14:16])
	seg.Options = data[tcpMinHeaderLen:doff:doff]
	seg.PayloadLen = ipPayload - doff
	return true, nil
}
