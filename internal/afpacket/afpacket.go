//go:build linux

// Package afpacket opens Linux AF_PACKET raw sockets bound to one interface
// and attaches classic BPF filters to them. It is the one opener shared by
// tcpwin/live (capture) and internal/netlab (the lab's middlebox, captures
// and frame injection); it imports no package of this module.
//
// The steps are separate because callers put their own setup between them
// (tcpwin/live sets up a TPACKET_V3 ring after the filter and before bind,
// so that nothing unfiltered is ever queued):
//
//	s, err := afpacket.Open("eth0")  // socket(AF_PACKET, SOCK_RAW, 0): nothing queued yet
//	err = s.AttachFilter(prog)        // SO_ATTACH_FILTER
//	err = s.Bind(promisc)             // bind(ETH_P_ALL, ifindex) [+ PACKET_MR_PROMISC]
package afpacket

import (
	"fmt"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Hardware types (ARPHRD_*) reported by Socket.HWType.
const (
	ARPHRDEther    = 1
	ARPHRDLoopback = 772
	ARPHRDNone     = 0xfffe
)

// Htons converts a 16-bit value to network byte order (the protocol field
// of a packet socket address is big-endian).
func Htons(v uint16) uint16 { return v<<8 | v>>8 }

// Error reports which step (Op, e.g. "socket(AF_PACKET)", "SIOCGIFINDEX",
// "SO_ATTACH_FILTER", "bind") failed on which interface.
type Error struct {
	Iface string
	Op    string
	Err   error
}

func (e *Error) Error() string { return fmt.Sprintf("afpacket: %s on %s: %v", e.Op, e.Iface, e.Err) }

// Unwrap returns the cause (usually a unix.Errno).
func (e *Error) Unwrap() error { return e.Err }

// Socket is an open, not yet bound, AF_PACKET raw socket for one interface
// of the calling thread's network namespace.
type Socket struct {
	FD     int    // the socket; owned by the Socket until Close
	Iface  string // interface name
	Index  int    // interface index
	HWType uint16 // ARPHRD_* hardware type of the interface
}

// Open creates the socket with protocol 0, so the kernel queues nothing
// before Bind, and looks up the interface's index and hardware type.
// Errors are *Error values.
func Open(ifname string) (*Socket, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, &Error{Iface: ifname, Op: "socket(AF_PACKET)", Err: err}
	}
	s := &Socket{FD: fd, Iface: ifname}
	fail := func(op string, err error) (*Socket, error) {
		unix.Close(fd)
		return nil, &Error{Iface: ifname, Op: op, Err: err}
	}
	ifr, err := unix.NewIfreq(ifname)
	if err != nil {
		return fail("interface name", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return fail("SIOCGIFINDEX", err)
	}
	s.Index = int(ifr.Uint32())
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFHWADDR, ifr); err != nil {
		return fail("SIOCGIFHWADDR", err)
	}
	s.HWType = ifr.Uint16()
	return s, nil
}

// AttachFilter attaches a classic BPF program (SO_ATTACH_FILTER). An empty
// program is refused: the kernel would reject it too.
func (s *Socket) AttachFilter(prog []bpf.RawInstruction) error {
	if len(prog) == 0 || len(prog) > 0xffff {
		return &Error{Iface: s.Iface, Op: "SO_ATTACH_FILTER", Err: fmt.Errorf("program of %d instructions", len(prog))}
	}
	filter := make([]unix.SockFilter, len(prog))
	for i, r := range prog {
		filter[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.SetsockoptSockFprog(s.FD, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog); err != nil {
		return &Error{Iface: s.Iface, Op: "SO_ATTACH_FILTER", Err: err}
	}
	return nil
}

// Bind binds the socket to every protocol (ETH_P_ALL) on the interface and,
// with promisc, puts the interface in promiscuous mode for as long as the
// socket lives (PACKET_ADD_MEMBERSHIP).
func (s *Socket) Bind(promisc bool) error {
	if err := unix.Bind(s.FD, &unix.SockaddrLinklayer{Protocol: Htons(unix.ETH_P_ALL), Ifindex: s.Index}); err != nil {
		return &Error{Iface: s.Iface, Op: "bind", Err: err}
	}
	if promisc {
		mreq := &unix.PacketMreq{Ifindex: int32(s.Index), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(s.FD, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, mreq); err != nil {
			return &Error{Iface: s.Iface, Op: "PACKET_ADD_MEMBERSHIP", Err: err}
		}
	}
	return nil
}

// Close closes the socket.
func (s *Socket) Close() error { return unix.Close(s.FD) }
