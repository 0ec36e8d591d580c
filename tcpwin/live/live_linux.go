package live

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulletproof-labs/wsvcb/internal/afpacket"
	"github.com/bulletproof-labs/wsvcb/tcpwin"
	"golang.org/x/sys/unix"
)

// Source captures TCP segments from one interface. It implements
// tcpwin.Source; Next blocks until a segment arrives or Close is called
// (then it returns io.EOF). Next and Close may be called from different
// goroutines; Next itself is not safe for concurrent use.
//
// In ModeRing a segment's Options alias the ring block shared with the
// kernel, which Next hands back to the kernel on the following call. If
// Close runs while a segment is still in use, the ring is replaced by zero
// pages (the segment's Options then read as zeros, never as freed memory)
// and the address range is released by the next call to Next.
type Source struct {
	name    string
	cfg     Config
	link    tcpwin.LinkType
	mode    Mode
	ringErr error
	fd, efd int

	closed   atomic.Bool
	wakeOnce sync.Once
	fdMu     sync.RWMutex // read-held around every use of fd and the ring; Close write-holds it
	torn     bool         // fd and efd closed (written under fdMu write lock)

	// State of the single reader (Next), used under fdMu's read lock.
	buf    []byte // ModeRecv frame buffer
	oob    []byte // ModeRecv control messages (the SO_TIMESTAMPNS time)
	ring   *ring  // ModeRing
	lent   bool   // the last segment returned aliases the ring
	pfds   [2]unix.PollFd
	seg    tcpwin.Segment
	frames uint64

	nFrames, nSegments, nBad, nVLAN atomic.Uint64

	statsMu                    sync.Mutex
	received, dropped, freezes uint64
}

// Open starts capturing on the interface ifname of the calling thread's
// network namespace. cfg may be nil. By default it reads from a TPACKET_V3
// ring and falls back to recvfrom when the ring cannot be set up (see
// Source.Mode and Source.RingError). Errors are *OpenError values.
func Open(ifname string, cfg *Config) (*Source, error) {
	c := cfg.withDefaults()
	var ringErr error
	switch c.Mode {
	case ModeAuto, ModeRing:
		s, ringFailed, err := open(ifname, c, true)
		if err == nil {
			return s, nil
		}
		if c.Mode == ModeRing || !ringFailed {
			return nil, err
		}
		ringErr = err
	case ModeRecv:
	default:
		return nil, &OpenError{Iface: ifname, Op: "config", Err: fmt.Errorf("unknown mode %v", c.Mode)}
	}
	s, _, err := open(ifname, c, false)
	if err != nil {
		return nil, err
	}
	s.ringErr = ringErr
	return s, nil
}

// open sets up one socket; ringFailed reports that only the ring's setup
// failed (so recvfrom may still work).
func open(ifname string, c Config, useRing bool) (_ *Source, ringFailed bool, _ error) {
	// Protocol 0 at socket() time (afpacket.Open): nothing is queued
	// before the filter is attached and the socket bound.
	sock, err := afpacket.Open(ifname)
	if err != nil {
		return nil, false, openError(ifname, err)
	}
	fd := sock.FD
	efd := -1
	var r *ring
	fail := func(op string, err error) (*Source, bool, error) {
		if r != nil {
			r.unmap()
		}
		unix.Close(fd)
		if efd >= 0 {
			unix.Close(efd)
		}
		if op == "" {
			return nil, false, openError(ifname, err)
		}
		return nil, false, &OpenError{Iface: ifname, Op: op, Err: err}
	}
	var link tcpwin.LinkType
	switch hw := sock.HWType; hw {
	case afpacket.ARPHRDEther, afpacket.ARPHRDLoopback:
		link = tcpwin.LinkEthernet
	case afpacket.ARPHRDNone: // tun and other raw-IP devices
		link = tcpwin.LinkRaw
	default:
		return fail("link", fmt.Errorf("unsupported hardware type %d", hw))
	}
	prog, err := VLANFilter(link, c.SYNOnly, c.Snaplen, c.VLAN)
	if err != nil {
		return fail("filter", err)
	}
	if err := sock.AttachFilter(prog); err != nil {
		return fail("", err)
	}
	if useRing {
		if r, err = setupRing(fd, c); err != nil {
			s, _, err := fail("TPACKET_V3 ring", err)
			return s, true, err
		}
	} else {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, c.BufferSize)
		// The kernel's receive time with each frame, as the ring has:
		// the time of the read would bunch up a stalled reader's
		// segments and hide the round trips the diagnosis measures.
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}
	if efd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return fail("eventfd", err)
	}
	if err := sock.Bind(c.Promisc); err != nil {
		return fail("", err)
	}
	s := &Source{name: ifname, cfg: c, link: link, fd: fd, efd: efd, ring: r, mode: ModeRing}
	if r == nil {
		s.mode = ModeRecv
		s.buf = make([]byte, c.Snaplen)
	}
	s.pfds = [2]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(efd), Events: unix.POLLIN}}
	return s, false, nil
}

// Link returns the link type of the frames read.
func (s *Source) Link() tcpwin.LinkType { return s.link }

// Mode returns the receive path in use: ModeRing or ModeRecv.
func (s *Source) Mode() Mode { return s.mode }

// RingError returns why the ring could not be set up when Open fell back
// to recvfrom (nil otherwise).
func (s *Source) RingError() error { return s.ringErr }

// Next returns the next TCP segment. The segment and its Options are
// valid until the next call. Malformed frames are returned as
// *tcpwin.InputError wrapping tcpwin.ErrBadFrame (call Next again); after
// Close, Next returns io.EOF.
func (s *Source) Next() (*tcpwin.Segment, error) {
	for {
		if s.closed.Load() {
			s.releaseRing()
			return nil, io.EOF
		}
		s.fdMu.RLock()
		seg, err, again := s.next1()
		s.fdMu.RUnlock()
		if !again {
			return seg, err
		}
	}
}

// next1 reads and decodes at most one frame, waiting at most one poll
// interval; again means nothing to return yet. fdMu is read-held.
func (s *Source) next1() (seg *tcpwin.Segment, err error, again bool) {
	if s.torn {
		return nil, nil, true
	}
	s.lent = false
	var (
		data []byte
		wire int
		ts   time.Time
		vlan bool
	)
	if s.ring != nil {
		data, wire, ts, vlan, err = s.ring.next()
	} else {
		data, wire, ts, err = s.recv()
	}
	if err != nil {
		return nil, &tcpwin.InputError{Name: s.name, Frame: int(s.frames), Err: err}, false
	}
	if data == nil {
		if err := s.poll(); err != nil {
			return nil, &tcpwin.InputError{Name: s.name, Frame: int(s.frames), Err: err}, false
		}
		return nil, nil, true
	}
	s.frames++
	s.nFrames.Add(1)
	if vlan {
		s.nVLAN.Add(1)
	}
	s.seg = tcpwin.Segment{Frame: int(s.frames), Time: ts}
	ok, err := tcpwin.DecodeFrame(&s.seg, s.link, data, wire)
	if err != nil {
		s.nBad.Add(1)
		return nil, &tcpwin.InputError{Name: s.name, Frame: int(s.frames), Err: err}, false
	}
	if !ok {
		return nil, nil, true
	}
	s.nSegments.Add(1)
	s.lent = s.ring != nil
	return &s.seg, nil, false
}

// poll waits until the socket is readable, Close signals the eventfd, or
// the poll interval ends.
func (s *Source) poll() error {
	ms := int(s.cfg.PollInterval / time.Millisecond)
	if ms < 1 {
		ms = 1
	}
	_, err := unix.Poll(s.pfds[:], ms)
	if err != nil && !errors.Is(err, unix.EINTR) {
		return fmt.Errorf("poll: %w", err)
	}
	if s.pfds[0].Revents&unix.POLLERR != 0 {
		// A pending socket error (e.g. ENETDOWN) is reported by the
		// next read; in ring mode nothing reads it, so fetch it here.
		if e, err := unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_ERROR); err == nil && e != 0 {
			return fmt.Errorf("socket: %w", unix.Errno(e))
		}
	}
	return nil
}

// releaseRing unmaps the ring after Close (once no segment aliases it).
func (s *Source) releaseRing() {
	s.fdMu.Lock()
	defer s.fdMu.Unlock()
	s.lent = false
	if s.torn && s.ring != nil {
		s.ring.unmap()
	}
}

// Stats returns the counters, reading the kernel's PACKET_STATISTICS (which
// reset on every read; Stats accumulates them).
func (s *Source) Stats() (Stats, error) {
	var err error
	s.fdMu.RLock()
	if !s.torn {
		err = s.readKernelStats()
	}
	s.fdMu.RUnlock()
	s.statsMu.Lock()
	st := Stats{Received: s.received, Dropped: s.dropped, Freezes: s.freezes}
	s.statsMu.Unlock()
	st.Frames, st.Segments, st.BadFrames = s.nFrames.Load(), s.nSegments.Load(), s.nBad.Load()
	st.VLANOffloaded = s.nVLAN.Load()
	return st, err
}

// readKernelStats folds PACKET_STATISTICS into the counters; fdMu is held.
func (s *Source) readKernelStats() error {
	var p, d, f uint32
	if s.ring != nil {
		ks, err := unix.GetsockoptTpacketStatsV3(s.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
		if err != nil {
			return fmt.Errorf("live: PACKET_STATISTICS: %w", err)
		}
		p, d, f = ks.Packets, ks.Drops, ks.Freeze_q_cnt
	} else {
		ks, err := unix.GetsockoptTpacketStats(s.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
		if err != nil {
			return fmt.Errorf("live: PACKET_STATISTICS: %w", err)
		}
		p, d = ks.Packets, ks.Drops
	}
	s.statsMu.Lock()
	s.received += uint64(p)
	s.dropped += uint64(d)
	s.freezes += uint64(f)
	s.statsMu.Unlock()
	return nil
}

// Close stops the capture; a blocked Next wakes at once and returns
// io.EOF. Close is idempotent; every call returns after the socket is
// closed and its final kernel counters are in Stats.
//
// In ModeRing, frames the kernel accepted but has not yet handed over sit
// in the block being filled for up to BlockTimeout; the first Close gives
// a running reader up to twice that long to catch up with every frame the
// kernel counted before it stops Next.
func (s *Source) Close() error {
	if s.ring != nil && !s.closed.Load() {
		s.drain()
	}
	s.closed.Store(true)
	s.wakeOnce.Do(func() {
		one := [8]byte{1}
		unix.Write(s.efd, one[:]) // wakes a poll in Next; EAGAIN only if already signalled
	})
	s.fdMu.Lock()
	defer s.fdMu.Unlock()
	if s.torn {
		return nil
	}
	kerr := s.readKernelStats()
	err := unix.Close(s.fd)
	unix.Close(s.efd)
	s.torn = true
	if s.ring != nil {
		if s.lent {
			s.ring.detach()
		} else {
			s.ring.unmap()
		}
	}
	if err != nil {
		err = fmt.Errorf("live: close: %w", err)
	}
	return errors.Join(err, kerr)
}

// drain waits (at most two block timeouts) until the reader has read or
// the kernel has dropped every frame the kernel passed the filter.
func (s *Source) drain() {
	deadline := time.Now().Add(2*s.cfg.BlockTimeout + time.Millisecond)
	for time.Now().Before(deadline) {
		st, err := s.Stats()
		if err != nil || st.Frames+st.Dropped >= st.Received {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// openError turns an *afpacket.Error into the package's *OpenError (same
// Op names as before the opener was shared).
func openError(ifname string, err error) error {
	var ae *afpacket.Error
	if errors.As(err, &ae) {
		return &OpenError{Iface: ifname, Op: ae.Op, Err: ae.Err}
	}
	return &OpenError{Iface: ifname, Op: "open", Err: err}
}
