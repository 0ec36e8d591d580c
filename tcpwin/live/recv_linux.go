package live

import (
	"errors"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// oobLen holds one SO_TIMESTAMPNS control message.
var oobLen = unix.CmsgSpace(int(unsafe.Sizeof(unix.Timespec{})))

// recv reads one frame with recvmsg into s.buf, without blocking: data is
// nil when no frame is queued. wire is the frame's full length and ts the
// kernel's receive time (SO_TIMESTAMPNS), or the time of the read when the
// kernel sent none.
func (s *Source) recv() (data []byte, wire int, ts time.Time, err error) {
	if len(s.oob) < oobLen {
		s.oob = make([]byte, oobLen)
	}
	n, oobn, err := recvTrunc(s.fd, s.buf, s.oob)
	switch {
	case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
		return nil, 0, time.Time{}, nil
	case err != nil:
		return nil, 0, time.Time{}, fmt.Errorf("recvmsg: %w", err)
	}
	ts, ok := cmsgTime(s.oob[:oobn])
	if !ok {
		ts = time.Now()
	}
	return s.buf[:min(n, len(s.buf))], n, ts, nil
}

// recvTrunc reads one frame into buf and its control messages into oob
// without allocating, and returns the frame's full length (MSG_TRUNC),
// which may exceed len(buf), and the control messages' length.
func recvTrunc(fd int, buf, oob []byte) (n, oobn int, err error) {
	iov := unix.Iovec{Base: &buf[0]}
	iov.SetLen(len(buf))
	msg := unix.Msghdr{Iov: &iov, Iovlen: 1}
	if len(oob) > 0 {
		msg.Control = &oob[0]
		msg.SetControllen(len(oob))
	}
	r, _, e := unix.Syscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), unix.MSG_TRUNC|unix.MSG_DONTWAIT)
	if e != 0 {
		return 0, 0, e
	}
	return int(r), int(msg.Controllen), nil
}

// cmsgTime finds an SO_TIMESTAMPNS time in control messages, without
// allocating.
func cmsgTime(oob []byte) (time.Time, bool) {
	for len(oob) >= unix.CmsgLen(0) {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < unix.CmsgLen(0) || l > len(oob) {
			return time.Time{}, false
		}
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SO_TIMESTAMPNS && l >= unix.CmsgLen(int(unsafe.Sizeof(unix.Timespec{}))) {
			var t unix.Timespec
			copy(unsafe.Slice((*byte)(unsafe.Pointer(&t)), unsafe.Sizeof(t)), oob[unix.CmsgLen(0):])
			return time.Unix(int64(t.Sec), int64(t.Nsec)), true
		}
		next := unix.CmsgSpace(l - unix.CmsgLen(0))
		if next > len(oob) {
			break
		}
		oob = oob[next:]
	}
	return time.Time{}, false
}
