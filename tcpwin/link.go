package tcpwin

import "strconv"

// LinkType is a capture file's link-layer header type, as registered at
// https://www.tcpdump.org/linktypes.html (LINKTYPE_* values, which are what
// pcap and pcapng files store, not the platform DLT_* values).
type LinkType uint16

// Link types that Source decodes.
const (
	LinkNull     LinkType = 0   // LINKTYPE_NULL: BSD loopback, 4-byte address family in host order
	LinkEthernet LinkType = 1   // LINKTYPE_ETHERNET: IEEE 802.3 / Ethernet II, optional 802.1Q tags
	LinkRaw12    LinkType = 12  // DLT_RAW on some BSDs, found in files as 12: raw IPv4/IPv6
	LinkRaw14    LinkType = 14  // DLT_RAW on OpenBSD, found in files as 14: raw IPv4/IPv6
	LinkRaw      LinkType = 101 // LINKTYPE_RAW: raw IPv4/IPv6, version from the first nibble
	LinkLoop     LinkType = 108 // LINKTYPE_LOOP: OpenBSD loopback, 4-byte address family, big-endian
	LinkLinuxSLL LinkType = 113 // LINKTYPE_LINUX_SLL: Linux "cooked" capture v1, 16-byte header
	LinkIPv4     LinkType = 228 // LINKTYPE_IPV4: raw IPv4
	LinkIPv6     LinkType = 229 // LINKTYPE_IPV6: raw IPv6
	LinkNFLOG    LinkType = 239 // LINKTYPE_NFLOG: Linux netfilter NFLOG, TLVs in host byte order
	LinkSLL2     LinkType = 276 // LINKTYPE_LINUX_SLL2: Linux "cooked" capture v2, 20-byte header
)

var linkNames = map[LinkType]string{
	LinkNull: "NULL", LinkEthernet: "EN10MB", LinkRaw12: "RAW(12)", LinkRaw14: "RAW(14)",
	LinkRaw: "RAW", LinkLoop: "LOOP", LinkLinuxSLL: "LINUX_SLL", LinkIPv4: "IPV4",
	LinkIPv6: "IPV6", LinkNFLOG: "NFLOG", LinkSLL2: "LINUX_SLL2",
}

// String returns the tcpdump name of the link type, or its number.
func (l LinkType) String() string {
	if s, ok := linkNames[l]; ok {
		return s
	}
	return "linktype " + strconv.Itoa(int(l))
}

// Supported reports whether frames of this link type can be decoded.
func (l LinkType) Supported() bool {
	_, ok := linkNames[l]
	return ok
}
