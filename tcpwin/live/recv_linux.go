package live

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// recv reads one frame with recvfrom into s.buf, without blocking: data is
// nil when no frame is queued. wire is the frame's full length.
func (s *Source) recv() (data []byte, wire int, err error) {
	n, err := recvTrunc(s.fd, s.buf)
	switch {
	case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
		return nil, 0, nil
	case err != nil:
		return nil, 0, fmt.Errorf("recvfrom: %w", err)
	}
	return s.buf[:min(n, len(s.buf))], n, nil
}

// recvTrunc reads one frame into buf without allocating and returns its
// full length (MSG_TRUNC), which may exceed len(buf).
func recvTrunc(fd int, buf []byte) (int, error) {
	r, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)),
		unix.MSG_TRUNC|unix.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}
