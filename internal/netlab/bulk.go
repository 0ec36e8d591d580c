package netlab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// BulkConfig configures a bulk transfer from the server to the client.
type BulkConfig struct {
	Duration   time.Duration // how long the client reads (default 3s)
	Port       uint16        // server port (default 5001)
	ClientOpts *SockOpts     // applied to the client socket before connect
	ServerOpts *SockOpts     // applied to the listening socket
}

// SockInfo is what the kernel reports for one end of a connection.
type SockInfo struct {
	SndWScale    int    // shift applied to the peer's advertised windows
	RcvWScale    int    // shift this end applies to the windows it sends
	WScaleOK     bool   // both SYNs carried the option
	TotalRetrans uint32 // segments retransmitted
	RTT          time.Duration
}

// BulkResult is the outcome of Bulk.
type BulkResult struct {
	Bytes    int64
	Duration time.Duration
	Client   SockInfo // from the client socket (receiver)
	Server   SockInfo // from the server socket (sender)
}

// BytesPerSec is the client's goodput.
func (r BulkResult) BytesPerSec() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.Bytes) / r.Duration.Seconds()
}

func (r BulkResult) String() string {
	return fmt.Sprintf("%d bytes in %v = %.1f KB/s (client wscale rcv %d snd %d, server rcv %d snd %d, retrans %d)",
		r.Bytes, r.Duration.Round(time.Millisecond), r.BytesPerSec()/1000,
		r.Client.RcvWScale, r.Client.SndWScale, r.Server.RcvWScale, r.Server.SndWScale, r.Server.TotalRetrans)
}

// Bulk runs one TCP connection through the lab: the server writes as fast as
// it can, the client reads for cfg.Duration, and the goodput is measured at
// the client.
func (l *Lab) Bulk(ctx context.Context, cfg *BulkConfig) (BulkResult, error) {
	var c BulkConfig
	if cfg != nil {
		c = *cfg
	}
	if c.Duration <= 0 {
		c.Duration = 3 * time.Second
	}
	if c.Port == 0 {
		c.Port = 5001
	}
	addr := netip.AddrPortFrom(l.ServerAddr, c.Port).String()
	ln, err := l.Server.Listen(ctx, addr, c.ServerOpts)
	if err != nil {
		return BulkResult{}, err
	}
	defer ln.Close()
	type srv struct {
		info SockInfo
		err  error
	}
	srvDone := make(chan srv, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			srvDone <- srv{err: err}
			return
		}
		defer conn.Close()
		buf := make([]byte, 64<<10)
		var info SockInfo
		for {
			if _, err := conn.Write(buf); err != nil {
				break
			}
			info, _ = tcpInfo(conn) // last reading before the client closed
		}
		srvDone <- srv{info: info}
	}()

	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := l.Client.Dial(dctx, addr, c.ClientOpts)
	if err != nil {
		ln.Close()
		<-srvDone
		return BulkResult{}, err
	}
	var res BulkResult
	start := time.Now()
	deadline := start.Add(c.Duration)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	conn.SetReadDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()
	buf := make([]byte, 256<<10)
	for {
		n, err := conn.Read(buf)
		res.Bytes += int64(n)
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, io.EOF) {
				conn.Close()
				<-srvDone
				return res, fmt.Errorf("netlab: bulk read: %w", err)
			}
			break
		}
	}
	res.Duration = time.Since(start)
	res.Client, _ = tcpInfo(conn)
	conn.Close()
	select {
	case s := <-srvDone:
		res.Server = s.info
	case <-time.After(5 * time.Second):
		return res, errors.New("netlab: bulk: server did not finish")
	}
	return res, nil
}

const tcpiOptWScale = 4 // TCPI_OPT_WSCALE in include/uapi/linux/tcp.h

// tcpInfo reads TCP_INFO, including the window-scale bitfield that
// unix.TCPInfo does not expose (byte 6: snd_wscale low nibble, rcv_wscale
// high nibble; bit 2 of byte 5 is TCPI_OPT_WSCALE).
func tcpInfo(c net.Conn) (SockInfo, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return SockInfo{}, errors.New("not a syscall.Conn")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return SockInfo{}, err
	}
	var info unix.TCPInfo
	var serr error
	err = rc.Control(func(fd uintptr) {
		l := uint32(unsafe.Sizeof(info))
		_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, fd, unix.IPPROTO_TCP, unix.TCP_INFO,
			uintptr(unsafe.Pointer(&info)), uintptr(unsafe.Pointer(&l)), 0)
		if e != 0 {
			serr = e
		}
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return SockInfo{}, err
	}
	raw := (*[8]byte)(unsafe.Pointer(&info))
	return SockInfo{
		SndWScale:    int(raw[6] & 0x0f),
		RcvWScale:    int(raw[6] >> 4),
		WScaleOK:     raw[5]&tcpiOptWScale != 0,
		TotalRetrans: info.Total_retrans,
		RTT:          time.Duration(info.Rtt) * time.Microsecond,
	}, nil
}
