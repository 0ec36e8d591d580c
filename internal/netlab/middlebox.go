package netlab

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// MiddleboxConfig configures a Middlebox. nil means a plain bridge.
type MiddleboxConfig struct {
	// Rules edit SYN window-scale options; first match wins.
	Rules []Rule
	// Delay is added to every frame in each direction (one way), so the
	// round trip grows by 2*Delay. Frames are held in a timed FIFO, never
	// dropped.
	Delay time.Duration
	// Rate limits each direction to this many bytes per second (0: no
	// limit), emulating a slow link by serialising frames; excess frames
	// queue (no drops), like a deep router buffer.
	Rate int64
	// QueueLen bounds each direction's queue in frames (default 65536); a
	// full queue blocks the reader (the kernel socket buffer then absorbs or
	// drops, see Stats.KernelDrops).
	QueueLen int
}

// Stats are the middlebox counters.
type Stats struct {
	Forwarded [2]uint64 // frames sent on, [0] client->server, [1] server->client
	Bytes     [2]uint64
	SYNs      uint64 // SYN and SYN-ACK segments seen
	// ClientSYNs counts the SYNs (not SYN-ACKs) seen client->server: one
	// per connection, more when the client retransmitted one (every copy
	// is edited again, so compare edit counts with this, not with 1).
	ClientSYNs  uint64
	Rewritten   uint64 // window-scale shifts rewritten
	Stripped    uint64 // window-scale options stripped
	SendErrors  uint64
	KernelDrops uint64 // frames the kernel dropped on the middlebox's sockets
}

// Total returns the number of frames forwarded in both directions.
func (s Stats) Total() uint64 { return s.Forwarded[0] + s.Forwarded[1] }

// Middlebox forwards every Ethernet frame between two interfaces of one
// namespace in userspace, over AF_PACKET sockets.
type Middlebox struct {
	cfg  MiddleboxConfig
	fds  [2]int // [0] client leg, [1] server leg
	stop atomic.Bool
	wg   sync.WaitGroup

	mu       sync.Mutex
	edits    []Edit
	fdMu     sync.RWMutex // held for writing while the sockets are closed
	forward  [2]atomic.Uint64
	bytes    [2]atomic.Uint64
	syns     atomic.Uint64
	cliSYNs  atomic.Uint64
	rewrites atomic.Uint64
	strips   atomic.Uint64
	sendErrs atomic.Uint64
	drops    atomic.Uint64
	once     sync.Once
}

type queued struct {
	frame []byte
	due   time.Time
}

// StartMiddlebox bridges the lab's two middle interfaces.
func StartMiddlebox(lab *Lab, cfg *MiddleboxConfig) (*Middlebox, error) {
	return StartBridge(lab.Middle, lab.MiddleClientIf, lab.MiddleServerIf, cfg)
}

// StartBridge bridges clientLeg and serverLeg of namespace ns.
func StartBridge(ns *NS, clientLeg, serverLeg string, cfg *MiddleboxConfig) (*Middlebox, error) {
	m := &Middlebox{fds: [2]int{-1, -1}}
	if cfg != nil {
		m.cfg = *cfg
	}
	if m.cfg.QueueLen <= 0 {
		m.cfg.QueueLen = 1 << 16
	}
	err := ns.Do(func() error {
		for i, name := range []string{clientLeg, serverLeg} {
			fd, err := openPacket(name, true, true, 100*time.Millisecond)
			if err != nil {
				return err
			}
			m.fds[i] = fd
		}
		return nil
	})
	if err != nil {
		m.closeFds()
		return nil, fmt.Errorf("netlab: middlebox in %s: %w", ns.Name, err)
	}
	for i := range 2 {
		q := make(chan queued, m.cfg.QueueLen)
		dir := ClientToServer
		if i == 1 {
			dir = ServerToClient
		}
		m.wg.Add(2)
		go m.reader(i, dir, q)
		go m.writer(i, m.fds[1-i], q)
	}
	return m, nil
}

func (m *Middlebox) reader(i int, dir Direction, q chan<- queued) {
	defer m.wg.Done()
	defer close(q)
	buf := make([]byte, 1<<16)
	var free time.Time // when the emulated link is next idle
	for !m.stop.Load() {
		n, from, err := unix.Recvfrom(m.fds[i], buf, 0)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			return
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		frame := make([]byte, n)
		copy(frame, buf[:n])
		if e := RewriteFrame(frame, dir, m.cfg.Rules); e.SYN {
			m.syns.Add(1)
			if dir == ClientToServer && !e.ACK {
				m.cliSYNs.Add(1)
			}
			if e.Rewritten {
				m.rewrites.Add(1)
			}
			if e.Stripped {
				m.strips.Add(1)
			}
			m.mu.Lock()
			m.edits = append(m.edits, e)
			m.mu.Unlock()
		}
		now := time.Now()
		due := now
		if m.cfg.Rate > 0 {
			if free.Before(now) {
				free = now
			}
			free = free.Add(time.Duration(int64(n) * int64(time.Second) / m.cfg.Rate))
			due = free
		}
		due = due.Add(m.cfg.Delay)
		it := queued{frame, due}
		for sent := false; !sent && !m.stop.Load(); {
			select {
			case q <- it:
				sent = true
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

func (m *Middlebox) writer(i int, out int, q <-chan queued) {
	defer m.wg.Done()
	for it := range q {
		if m.stop.Load() {
			continue // drain
		}
		if d := time.Until(it.due); d > 0 {
			time.Sleep(d)
		}
		for {
			_, err := unix.Write(out, it.frame)
			if (errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.EAGAIN)) && !m.stop.Load() {
				time.Sleep(50 * time.Microsecond)
				continue
			}
			if err != nil {
				m.sendErrs.Add(1)
			} else {
				m.forward[i].Add(1)
				m.bytes[i].Add(uint64(len(it.frame)))
			}
			break
		}
	}
}

// Edits returns the SYN edits seen so far (one per SYN or SYN-ACK).
func (m *Middlebox) Edits() []Edit {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Edit(nil), m.edits...)
}

// Stats returns the counters.
func (m *Middlebox) Stats() Stats {
	s := Stats{
		SYNs:       m.syns.Load(),
		ClientSYNs: m.cliSYNs.Load(),
		Rewritten:  m.rewrites.Load(),
		Stripped:   m.strips.Load(),
		SendErrors: m.sendErrs.Load(),
	}
	m.fdMu.RLock()
	for i := range 2 {
		s.Forwarded[i] = m.forward[i].Load()
		s.Bytes[i] = m.bytes[i].Load()
		if m.fds[i] >= 0 {
			m.drops.Add(kernelDrops(m.fds[i]))
		}
	}
	m.fdMu.RUnlock()
	s.KernelDrops = m.drops.Load()
	return s
}

// Close stops forwarding and closes the sockets. Queued frames are dropped.
func (m *Middlebox) Close() error {
	m.once.Do(func() {
		m.Stats() // collect the kernel drop counters before closing
		m.stop.Store(true)
		m.wg.Wait()
		m.closeFds()
	})
	return nil
}

func (m *Middlebox) closeFds() {
	m.fdMu.Lock()
	defer m.fdMu.Unlock()
	for i, fd := range m.fds {
		if fd >= 0 {
			unix.Close(fd)
			m.fds[i] = -1
		}
	}
}
