// Package live captures TCP segments from a network interface, for
// tcpwin's trackers and Diagnoser: a pure-Go AF_PACKET socket (Linux only;
// Open returns ErrUnsupported elsewhere) with a kernel BPF filter that
// passes only TCP, or only SYN segments, assembled with golang.org/x/net/bpf.
// The filter skips up to MaxFilterVLANTags in-band VLAN tags (the kernel
// usually moves the outer one into the packet's metadata before packet
// sockets see the frame) and follows up to MaxFilterIPv6ExtHeaders IPv6
// extension headers; Config.VLAN restricts it to one VLAN ID, read from the
// metadata (SKF_AD_VLAN_TAG_PRESENT, SKF_AD_VLAN_TAG) or in-band.
//
// By default frames are read in place from a TPACKET_V3 ring shared with
// the kernel (PACKET_RX_RING + mmap, block retire timeout, poll(2)); when
// the ring cannot be set up Open falls back to recvfrom(2) into one
// reusable buffer (Source.Mode says which is in use, Source.RingError
// why). Either way frames are decoded by tcpwin.DecodeFrame without
// copying; a Segment stays valid until the next call to Next. Kernel
// counters (frames passed, drops, ring freezes) come from
// PACKET_STATISTICS. Close wakes a blocked Next at once through an
// eventfd.
//
// It is a separate package so that tcpwin itself does not depend on
// x/net/bpf or on operating-system capture interfaces.
//
// Capturing needs CAP_NET_RAW. The socket belongs to the network namespace
// of the thread that calls Open.
package live
