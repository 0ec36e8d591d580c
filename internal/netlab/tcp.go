package netlab

import (
	"context"
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// SockOpts are socket options applied before listen or connect, when they
// influence the window scale the kernel offers in the SYN or SYN-ACK.
type SockOpts struct {
	RcvBuf int // SO_RCVBUF in bytes (0: leave the kernel's autotuning on)
	SndBuf int // SO_SNDBUF in bytes (0: default)
	// WindowClamp is TCP_WINDOW_CLAMP in bytes (0: none). Unlike SO_RCVBUF
	// it caps the offered shift without locking the buffer, so receive
	// autotuning still starts from a small window.
	WindowClamp int
}

func (o *SockOpts) control(_, _ string, c syscall.RawConn) error {
	if o == nil {
		return nil
	}
	var serr error
	err := c.Control(func(fd uintptr) {
		if o.RcvBuf > 0 {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, o.RcvBuf); serr != nil {
				serr = fmt.Errorf("SO_RCVBUF %d: %w", o.RcvBuf, serr)
				return
			}
		}
		if o.SndBuf > 0 {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF, o.SndBuf); serr != nil {
				serr = fmt.Errorf("SO_SNDBUF %d: %w", o.SndBuf, serr)
				return
			}
		}
		if o.WindowClamp > 0 {
			if serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_WINDOW_CLAMP, o.WindowClamp); serr != nil {
				serr = fmt.Errorf("TCP_WINDOW_CLAMP %d: %w", o.WindowClamp, serr)
			}
		}
	})
	if err != nil {
		return err
	}
	return serr
}

// Listen opens a TCP listener inside the namespace (addr like "10.66.0.2:5001").
func (ns *NS) Listen(ctx context.Context, addr string, opts *SockOpts) (net.Listener, error) {
	var ln net.Listener
	err := ns.Do(func() error {
		lc := net.ListenConfig{Control: opts.control}
		var err error
		ln, err = lc.Listen(ctx, "tcp4", addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("netlab: listen %s in %s: %w", addr, ns.Name, err)
	}
	return ln, nil
}

// Dial connects from inside the namespace; opts are applied before connect.
func (ns *NS) Dial(ctx context.Context, addr string, opts *SockOpts) (net.Conn, error) {
	var c net.Conn
	err := ns.Do(func() error {
		d := net.Dialer{Control: opts.control}
		var err error
		c, err = d.DialContext(ctx, "tcp4", addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("netlab: dial %s from %s: %w", addr, ns.Name, err)
	}
	return c, nil
}
