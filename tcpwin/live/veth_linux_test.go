package live_test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"testing"
	"unsafe"

	"github.com/bulletproof-labs/wsvcb/internal/netlab"
	"github.com/bulletproof-labs/wsvcb/tcpwin/live"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// vethNS is a fresh network namespace holding one veth pair: frames sent
// on Tx (through an AF_PACKET socket, so any bytes at all) arrive on Rx,
// where the capture under test runs. Frames addressed to another MAC are
// PACKET_OTHERHOST on Rx: packet sockets see them, the IP stack drops them
// silently (no RSTs back).
type vethNS struct {
	NS     *netlab.NS
	Tx, Rx string
	fd     int
}

func randomName(tb testing.TB) string {
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	return "live" + hex.EncodeToString(b[:])
}

// newVeth builds the namespace and pair; everything is released in
// tb.Cleanup (the pair dies with the namespace).
func newVeth(tb testing.TB) *vethNS {
	tb.Helper()
	name := randomName(tb)
	ns, err := netlab.NewNS(name)
	if err != nil {
		tb.Fatal(err)
	}
	v := &vethNS{NS: ns, Tx: name + "t", Rx: name + "r", fd: -1}
	tb.Cleanup(func() {
		if v.fd >= 0 {
			unix.Close(v.fd)
		}
		ns.Close()
	})
	err = ns.Do(func() error {
		for _, k := range []string{"all", "default"} {
			if err := ns.SetSysctl("net.ipv6.conf."+k+".disable_ipv6", "1"); err != nil {
				return err
			}
		}
		if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: v.Tx, TxQLen: 10000}, PeerName: v.Rx}); err != nil {
			return fmt.Errorf("veth %s/%s: %w", v.Tx, v.Rx, err)
		}
		for _, n := range []string{v.Tx, v.Rx} {
			l, err := netlink.LinkByName(n)
			if err != nil {
				return err
			}
			if err := netlink.LinkSetUp(l); err != nil {
				return err
			}
		}
		ifi, err := net.InterfaceByName(v.Tx)
		if err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		v.fd = fd
		_ = unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1)
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 4<<20)
		// Protocol 0: the socket only sends.
		return unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: ifi.Index})
	})
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// Open starts a capture on Rx.
func (v *vethNS) Open(tb testing.TB, cfg *live.Config) *live.Source {
	tb.Helper()
	var src *live.Source
	if err := v.NS.Do(func() (err error) { src, err = live.Open(v.Rx, cfg); return err }); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { src.Close() })
	return src
}

// Send transmits frames on Tx with sendmmsg(2), retrying when the device
// queue pushes back.
func (v *vethNS) Send(frames [][]byte) error {
	iov := make([]unix.Iovec, len(frames))
	msgs := make([]unix.Mmsghdr, len(frames))
	for i, f := range frames {
		iov[i].Base = &f[0]
		iov[i].SetLen(len(f))
		msgs[i].Hdr.Iov = &iov[i]
		msgs[i].Hdr.Iovlen = 1
	}
	for done := 0; done < len(msgs); {
		n, _, e := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(v.fd), uintptr(unsafe.Pointer(&msgs[done])), uintptr(len(msgs)-done), 0, 0, 0)
		switch {
		case e == unix.ENOBUFS || e == unix.EAGAIN || e == unix.EINTR:
			continue
		case e != 0:
			return fmt.Errorf("sendmmsg on %s: %w", v.Tx, e)
		case n == 0:
			return errors.New("sendmmsg sent nothing")
		}
		done += int(n)
	}
	return nil
}
