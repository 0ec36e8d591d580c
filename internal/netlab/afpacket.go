package netlab

import (
	"fmt"
	"github.com/bulletproof-labs/wsvcb/internal/afpacket"
	"time"

	"golang.org/x/sys/unix"
)

// openPacket opens an AF_PACKET raw socket bound to one interface of the
// calling thread's namespace (with the shared opener, internal/afpacket),
// with a receive timeout so readers can notice shutdown. ignoreOutgoing
// drops the socket's view of frames sent on the interface (a bridge must
// not read back what it wrote).
func openPacket(ifname string, promisc, ignoreOutgoing bool, timeout time.Duration) (int, error) {
	s, err := afpacket.Open(ifname)
	if err != nil {
		return -1, err
	}
	fail := func(what string, err error) (int, error) {
		s.Close()
		if what == "" {
			return -1, err
		}
		return -1, fmt.Errorf("%s on %s: %w", what, ifname, err)
	}
	if ignoreOutgoing {
		if err := unix.SetsockoptInt(s.FD, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1); err != nil {
			return fail("PACKET_IGNORE_OUTGOING", err)
		}
	}
	// Large buffers; FORCE variants bypass net.core.[rw]mem_max (root).
	_ = unix.SetsockoptInt(s.FD, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20)
	_ = unix.SetsockoptInt(s.FD, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 8<<20)
	tv := unix.NsecToTimeval(timeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(s.FD, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fail("SO_RCVTIMEO", err)
	}
	if err := s.Bind(promisc); err != nil {
		return fail("", err)
	}
	return s.FD, nil
}

// kernelDrops returns the frames the kernel dropped on a packet socket
// since the last call (PACKET_STATISTICS resets on read).
func kernelDrops(fd int) uint64 {
	st, err := unix.GetsockoptTpacketStats(fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return 0
	}
	return uint64(st.Drops)
}
