package netlab

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Capture records the frames seen on one interface of a namespace into a
// pcap file (link type Ethernet, microsecond timestamps), like
// `tcpdump -i IF -s SNAPLEN -c MAX -w FILE` run inside the namespace.
type Capture struct {
	fd      int
	f       *os.File
	w       *bufio.Writer
	snaplen int
	max     int
	stop    atomic.Bool
	done    chan struct{}
	packets atomic.Uint64
	err     error
	once    sync.Once
}

// CaptureConfig tunes StartCapture.
type CaptureConfig struct {
	Snaplen    int // bytes kept per frame (default 128: all headers)
	MaxPackets int // stop recording after this many (0: no limit)
}

// StartCapture starts recording interface ifname of ns into path.
func StartCapture(ns *NS, ifname, path string, cfg *CaptureConfig) (*Capture, error) {
	c := &Capture{fd: -1, snaplen: 128, done: make(chan struct{})}
	if cfg != nil {
		if cfg.Snaplen > 0 {
			c.snaplen = cfg.Snaplen
		}
		c.max = cfg.MaxPackets
	}
	err := ns.Do(func() error {
		var err error
		c.fd, err = openPacket(ifname, false, false, 100*time.Millisecond)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("netlab: capture %s in %s: %w", ifname, ns.Name, err)
	}
	if c.f, err = os.Create(path); err != nil {
		unix.Close(c.fd)
		return nil, fmt.Errorf("netlab: capture: %w", err)
	}
	c.w = bufio.NewWriterSize(c.f, 1<<16)
	if err := WritePcapHeader(c.w, c.snaplen); err != nil {
		c.f.Close()
		unix.Close(c.fd)
		return nil, err
	}
	go c.loop()
	return c, nil
}

// WritePcapHeader writes a classic pcap file header (LINKTYPE_ETHERNET).
func WritePcapHeader(w io.Writer, snaplen int) error {
	var h [24]byte
	binary.LittleEndian.PutUint32(h[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], uint32(snaplen))
	binary.LittleEndian.PutUint32(h[20:], 1)
	_, err := w.Write(h[:])
	return err
}

// WritePcapRecord writes one pcap record; data is the (possibly truncated)
// frame and origLen its length on the wire.
func WritePcapRecord(w io.Writer, ts time.Time, data []byte, origLen int) error {
	var h [16]byte
	binary.LittleEndian.PutUint32(h[0:], uint32(ts.Unix()))
	binary.LittleEndian.PutUint32(h[4:], uint32(ts.Nanosecond()/1000))
	binary.LittleEndian.PutUint32(h[8:], uint32(len(data)))
	binary.LittleEndian.PutUint32(h[12:], uint32(origLen))
	if _, err := w.Write(h[:]); err != nil {
		return err
	}
	_, err := w.Write(data)
	return err
}

func (c *Capture) loop() {
	defer close(c.done)
	buf := make([]byte, 1<<16)
	for !c.stop.Load() {
		n, _, err := unix.Recvfrom(c.fd, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			c.err = err
			return
		}
		if c.max > 0 && c.packets.Load() >= uint64(c.max) {
			continue
		}
		keep := min(n, c.snaplen)
		if err := WritePcapRecord(c.w, time.Now(), buf[:keep], n); err != nil {
			c.err = err
			return
		}
		c.packets.Add(1)
	}
}

// Packets returns the number of frames recorded so far.
func (c *Capture) Packets() uint64 { return c.packets.Load() }

// Close stops the capture and flushes the file.
func (c *Capture) Close() error {
	c.once.Do(func() {
		c.stop.Store(true)
		<-c.done
		unix.Close(c.fd)
		err := c.w.Flush()
		if cerr := c.f.Close(); err == nil {
			err = cerr
		}
		if c.err == nil {
			c.err = err
		}
	})
	return c.err
}
