package netlab

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// Handshake is the window-scale shift each SYN of one connection carried on
// the wire, -1 when the segment had no window-scale option.
type Handshake struct {
	SYN    int // client's SYN
	SYNACK int // server's SYN-ACK
}

// ErrNoHandshake is returned when the SYN or SYN-ACK was not captured.
var ErrNoHandshake = errors.New("netlab: handshake not captured")

// HandshakeShifts opens a listener on addr inside the namespace (serverOpts
// applied before listen), connects to it from the same namespace
// (clientOpts applied before connect) and reads the window-scale shifts of
// the SYN and SYN-ACK the kernel actually sent, from an AF_PACKET socket on
// ifname (e.g. "lo" for 127.0.0.1).
func (ns *NS) HandshakeShifts(ctx context.Context, addr, ifname string, clientOpts, serverOpts *SockOpts) (Handshake, error) {
	h := Handshake{SYN: -2, SYNACK: -2}
	var fd int
	if err := ns.Do(func() error {
		var err error
		fd, err = openPacket(ifname, false, false, 50*time.Millisecond)
		return err
	}); err != nil {
		return h, fmt.Errorf("netlab: capture on %s in %s: %w", ifname, ns.Name, err)
	}
	defer unix.Close(fd)
	ln, err := ns.Listen(ctx, addr, serverOpts)
	if err != nil {
		return h, err
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c
	}()
	c, err := ns.Dial(ctx, ln.Addr().String(), clientOpts)
	if err != nil {
		return h, err
	}
	defer c.Close()
	if sc := <-accepted; sc != nil {
		defer sc.Close()
	}
	cport := uint16(c.LocalAddr().(*net.TCPAddr).Port)
	sport := uint16(ln.Addr().(*net.TCPAddr).Port)
	deadline := time.Now().Add(2 * time.Second)
	buf := make([]byte, 1<<16)
	for (h.SYN == -2 || h.SYNACK == -2) && time.Now().Before(deadline) {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			return h, err
		}
		_, seg, _, ok := tcpSegment(buf[:n])
		if !ok || len(seg) < 20 || seg[13]&0x02 == 0 {
			continue
		}
		src, dst := binary.BigEndian.Uint16(seg[0:]), binary.BigEndian.Uint16(seg[2:])
		shift := -1
		if at := wscaleOffset(seg); at >= 0 {
			shift = int(seg[at+2])
		}
		switch {
		case src == cport && dst == sport && seg[13]&0x10 == 0 && h.SYN == -2:
			h.SYN = shift
		case src == sport && dst == cport && seg[13]&0x10 != 0 && h.SYNACK == -2:
			h.SYNACK = shift
		}
	}
	if h.SYN == -2 || h.SYNACK == -2 {
		return h, fmt.Errorf("%w: port %d -> %d (have %+v)", ErrNoHandshake, cport, sport, h)
	}
	return h, nil
}
