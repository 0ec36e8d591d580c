package live

import (
	"errors"
	"fmt"
	"time"
)

// ErrUnsupported is returned by Open on systems without AF_PACKET.
var ErrUnsupported = errors.New("live capture is not supported on this system")

// Defaults for a nil or zero Config.
const (
	DefaultSnaplen      = 256 // Ethernet + 60-byte IPv4 or 40-byte IPv6 + 60-byte TCP header, with room
	DefaultPollInterval = 100 * time.Millisecond
	DefaultBufferSize   = 4 << 20
	// DefaultBlockSize is the size of one TPACKET_V3 ring block: about 100
	// frames at the default snap length, 128 blocks in the default buffer.
	// On a quiet link every block carries a few frames only, so many small
	// blocks let the reader stall longer (128 x DefaultBlockTimeout) before
	// the ring is full.
	DefaultBlockSize = 32 << 10
	// DefaultBlockTimeout is how long the kernel fills a ring block before
	// handing it over even if it is not full: the latency of a quiet link.
	DefaultBlockTimeout = 20 * time.Millisecond
)

// Mode is how a Source receives frames from the kernel.
type Mode int

const (
	// ModeAuto (the default) uses the TPACKET_V3 ring and falls back to
	// recvfrom when the ring cannot be set up.
	ModeAuto Mode = iota
	// ModeRing reads frames in place from a TPACKET_V3 ring shared with
	// the kernel (PACKET_RX_RING + mmap): no copy, no syscall per frame.
	ModeRing
	// ModeRecv copies one frame per recvfrom(2) call.
	ModeRecv
)

func (m Mode) String() string {
	switch m {
	case ModeAuto:
		return "auto"
	case ModeRing:
		return "ring"
	case ModeRecv:
		return "recvfrom"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Config configures Open. The zero value (or nil) gives the defaults.
type Config struct {
	// SYNOnly makes the kernel filter pass only segments with SYN set
	// (handshakes), which is enough to watch negotiated scaling at a tiny
	// fraction of the cost.
	SYNOnly bool
	// VLAN, when not 0, makes the kernel filter pass only frames whose
	// outermost VLAN tag has this VLAN ID (see VLANFilter): one VLAN of a
	// trunk port. Ethernet only.
	VLAN int
	// Snaplen is the number of bytes kept per frame (default
	// DefaultSnaplen: all headers).
	Snaplen int
	// Promisc puts the interface in promiscuous mode for the socket's
	// lifetime.
	Promisc bool
	// PollInterval bounds one poll(2) wait of a blocked Next (default
	// DefaultPollInterval). Close wakes a blocked Next at once.
	PollInterval time.Duration
	// BufferSize is the kernel buffer for frames not yet read (default
	// DefaultBufferSize): the ring's size in ModeRing, the socket receive
	// buffer in ModeRecv (set with SO_RCVBUFFORCE, so net.core.rmem_max
	// does not cap it).
	BufferSize int
	// Mode chooses the receive path (default ModeAuto). ModeRing fails
	// when the ring cannot be set up instead of falling back.
	Mode Mode
	// BlockSize is the ring's block size (default DefaultBlockSize;
	// rounded up to a power of two and to hold one frame of Snaplen).
	BlockSize int
	// BlockTimeout is the ring's block retire timeout (default
	// DefaultBlockTimeout, at least 1ms).
	BlockTimeout time.Duration
}

func (c *Config) withDefaults() Config {
	var r Config
	if c != nil {
		r = *c
	}
	if r.Snaplen <= 0 {
		r.Snaplen = DefaultSnaplen
	}
	if r.PollInterval <= 0 {
		r.PollInterval = DefaultPollInterval
	}
	if r.BufferSize <= 0 {
		r.BufferSize = DefaultBufferSize
	}
	if r.BlockSize <= 0 {
		r.BlockSize = DefaultBlockSize
	}
	if r.BlockTimeout <= 0 {
		r.BlockTimeout = DefaultBlockTimeout
	}
	if r.BlockTimeout < time.Millisecond {
		r.BlockTimeout = time.Millisecond
	}
	return r
}

// Stats are a source's counters.
type Stats struct {
	// Received counts frames the kernel passed the filter (PACKET_STATISTICS
	// tp_packets, drops included); Dropped those it dropped because the
	// socket's buffer or ring was full (tp_drops).
	Received, Dropped uint64
	// Freezes counts how often the ring was full so that the kernel froze
	// the queue (tpacket_stats_v3 tp_freeze_q_cnt; 0 in ModeRecv).
	Freezes uint64
	// Frames counts frames read; Segments those decoded as TCP; BadFrames
	// those with malformed headers.
	Frames, Segments, BadFrames uint64
	// VLANOffloaded counts frames read whose outer VLAN tag the kernel had
	// moved out of the frame into the packet's metadata (TP_STATUS_VLAN_VALID;
	// counted in ModeRing only). Their TCP segments are captured like
	// untagged ones.
	VLANOffloaded uint64
}

// OpenError reports why Open failed: the step (Op) and the cause.
type OpenError struct {
	Iface string
	Op    string
	Err   error
}

func (e *OpenError) Error() string {
	return fmt.Sprintf("live: %s on %s: %v", e.Op, e.Iface, e.Err)
}

func (e *OpenError) Unwrap() error { return e.Err }
