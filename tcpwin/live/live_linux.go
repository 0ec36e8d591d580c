package live

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/bulletproof-labs/wsvcb/tcpwin"
	"golang.org/x/sys/unix"
)

// ARPHRD types (linux/if_arp.h) this package captures on.
const (
	arphrdEther    = 1
	arphrdLoopback = 772
	arphrdNone     = 65534 // tun and other raw-IP devices
)

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Source captures TCP segments from one interface. It implements
// tcpwin.Source; Next blocks until a segment arrives or Close is called
// (then it returns io.EOF). Next and Close may be called from different
// goroutines; Next itself is not safe for concurrent use.
type Source struct {
	name   string
	cfg    Config
	link   tcpwin.LinkType
	mu     sync.Mutex // held by Next during a read; Close takes it to close fd
	fd     int
	closed atomic.Bool
	buf    []byte
	seg    tcpwin.Segment
	frames uint64

	statsMu sync.Mutex
	st      Stats
}

// Open starts capturing on the interface ifname of the calling thread's
// network namespace. cfg may be nil.
func Open(ifname string, cfg *Config) (*Source, error) {
	c := cfg.withDefaults()
	// Protocol 0 at socket() time: nothing is queued before the filter is
	// attached and the socket bound.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("live: socket(AF_PACKET): %w", err)
	}
	fail := func(what string, err error) (*Source, error) {
		unix.Close(fd)
		return nil, fmt.Errorf("live: %s on %s: %w", what, ifname, err)
	}
	ifr, err := unix.NewIfreq(ifname)
	if err != nil {
		return fail("interface name", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return fail("SIOCGIFINDEX", err)
	}
	index := int(ifr.Uint32())
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFHWADDR, ifr); err != nil {
		return fail("SIOCGIFHWADDR", err)
	}
	var link tcpwin.LinkType
	switch hw := ifr.Uint16(); hw {
	case arphrdEther, arphrdLoopback:
		link = tcpwin.LinkEthernet
	case arphrdNone:
		link = tcpwin.LinkRaw
	default:
		return fail("link", fmt.Errorf("unsupported hardware type %d", hw))
	}
	prog, err := Filter(link, c.SYNOnly, c.Snaplen)
	if err != nil {
		return fail("filter", err)
	}
	filter := make([]unix.SockFilter, len(prog))
	for i, r := range prog {
		filter[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog); err != nil {
		return fail("SO_ATTACH_FILTER", err)
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, c.BufferSize)
	tv := unix.NsecToTimeval(c.PollInterval.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fail("SO_RCVTIMEO", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: index}); err != nil {
		return fail("bind", err)
	}
	if c.Promisc {
		mreq := &unix.PacketMreq{Ifindex: int32(index), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, mreq); err != nil {
			return fail("PACKET_ADD_MEMBERSHIP", err)
		}
	}
	return &Source{name: ifname, cfg: c, link: link, fd: fd, buf: make([]byte, c.Snaplen)}, nil
}

// Link returns the link type of the frames read.
func (s *Source) Link() tcpwin.LinkType { return s.link }

// Next returns the next TCP segment. The segment and its Options are
// valid until the next call. Malformed frames are returned as
// *tcpwin.InputError wrapping tcpwin.ErrBadFrame (call Next again); after
// Close, Next returns io.EOF.
func (s *Source) Next() (*tcpwin.Segment, error) {
	for {
		s.mu.Lock()
		if s.closed.Load() || s.fd < 0 {
			s.mu.Unlock()
			return nil, io.EOF
		}
		n, err := recvTrunc(s.fd, s.buf)
		s.mu.Unlock()
		switch {
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return nil, &tcpwin.InputError{Name: s.name, Frame: int(s.frames), Err: fmt.Errorf("recvfrom: %w", err)}
		}
		s.frames++
		s.count(func(st *Stats) { st.Frames++ })
		data := s.buf[:min(n, len(s.buf))]
		s.seg = tcpwin.Segment{Frame: int(s.frames), Time: time.Now()}
		ok, err := tcpwin.DecodeFrame(&s.seg, s.link, data, n)
		if err != nil {
			s.count(func(st *Stats) { st.BadFrames++ })
			return nil, &tcpwin.InputError{Name: s.name, Frame: int(s.frames), Err: err}
		}
		if ok {
			s.count(func(st *Stats) { st.Segments++ })
			return &s.seg, nil
		}
	}
}

func (s *Source) count(f func(*Stats)) {
	s.statsMu.Lock()
	f(&s.st)
	s.statsMu.Unlock()
}

// recvTrunc reads one frame into buf without allocating and returns its
// full length (MSG_TRUNC), which may exceed len(buf).
func recvTrunc(fd int, buf []byte) (int, error) {
	r, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), unix.MSG_TRUNC, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// Stats returns the counters, reading the kernel's PACKET_STATISTICS (which
// reset on every read; Stats accumulates them).
func (s *Source) Stats() (Stats, error) {
	s.mu.Lock()
	var err error
	if s.fd >= 0 {
		err = s.readKernelStats()
	}
	s.mu.Unlock()
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	return s.st, err
}

// readKernelStats folds PACKET_STATISTICS into the counters; s.mu is held.
func (s *Source) readKernelStats() error {
	ks, err := unix.GetsockoptTpacketStats(s.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return fmt.Errorf("live: PACKET_STATISTICS: %w", err)
	}
	s.statsMu.Lock()
	s.st.Received += uint64(ks.Packets)
	s.st.Dropped += uint64(ks.Drops)
	s.statsMu.Unlock()
	return nil
}

// Close stops the capture; a blocked Next returns io.EOF within the poll
// interval. Close is idempotent; every call returns after the socket is
// closed and its final kernel counters are in Stats.
func (s *Source) Close() error {
	s.closed.Store(true) // a blocked Next stops at its next poll
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fd < 0 {
		return nil
	}
	kerr := s.readKernelStats()
	err := unix.Close(s.fd)
	s.fd = -1
	return errors.Join(err, kerr)
}
