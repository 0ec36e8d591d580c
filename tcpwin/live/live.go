package live

import (
	"errors"
	"time"
)

// ErrUnsupported is returned by Open on systems without AF_PACKET.
var ErrUnsupported = errors.New("live capture is not supported on this system")

// Defaults for a nil or zero Config.
const (
	DefaultSnaplen      = 256 // Ethernet + 60-byte IPv4 or 40-byte IPv6 + 60-byte TCP header, with room
	DefaultPollInterval = 100 * time.Millisecond
	DefaultBufferSize   = 4 << 20
)

// Config configures Open. The zero value (or nil) gives the defaults.
type Config struct {
	// SYNOnly makes the kernel filter pass only segments with SYN set
	// (handshakes), which is enough to watch negotiated scaling at a tiny
	// fraction of the cost.
	SYNOnly bool
	// Snaplen is the number of bytes kept per frame (default
	// DefaultSnaplen: all headers).
	Snaplen int
	// Promisc puts the interface in promiscuous mode for the socket's
	// lifetime.
	Promisc bool
	// PollInterval bounds how long a blocked Next takes to notice Close
	// (default DefaultPollInterval).
	PollInterval time.Duration
	// BufferSize is the socket receive buffer (default DefaultBufferSize;
	// set with SO_RCVBUFFORCE, so net.core.rmem_max does not cap it).
	BufferSize int
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
	return r
}

// Stats are a source's counters.
type Stats struct {
	// Received counts frames the kernel passed the filter (PACKET_STATISTICS
	// tp_packets, drops included); Dropped those it dropped because the
	// socket's buffer was full (tp_drops).
	Received, Dropped uint64
	// Frames counts frames read; Segments those decoded as TCP; BadFrames
	// those with malformed headers.
	Frames, Segments, BadFrames uint64
}
