package netlab

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
)

// Lab is three namespaces on one Ethernet segment split by a middlebox:
//
//	client [ClientIf] <-veth-> [MiddleClientIf] middle [MiddleServerIf] <-veth-> [ServerIf] server
//
// The middle namespace has no addresses; a Middlebox bridges its two legs in
// userspace. Client and server share one /24, so ARP passes through the
// middlebox like everything else.
type Lab struct {
	ID                     string // random suffix shared by all names of this lab
	Client, Middle, Server *NS
	ClientIf, ServerIf     string // veth ends in the client and server namespaces
	MiddleClientIf         string // middle end facing the client
	MiddleServerIf         string // middle end facing the server
	ClientAddr             netip.Addr
	ServerAddr             netip.Addr
}

// Config tunes New. The zero value (or nil) gives client 10.66.0.1 and
// server 10.66.0.2.
type Config struct {
	// Prefix starts every namespace label and interface name (default
	// "lab"); at most 5 characters are used so names fit IFNAMSIZ.
	Prefix string
	// ClientAddr and ServerAddr default to 10.66.0.1 and 10.66.0.2 (/24).
	ClientAddr, ServerAddr netip.Addr
	// KeepOffloads leaves TSO/GSO/GRO/tx checksum offload on. By default they
	// are switched off on all four veth ends: with them on, the AF_PACKET
	// middlebox sees oversized frames with partial checksums and even the
	// handshake fails.
	KeepOffloads bool
	// KeepIPv6 leaves IPv6 on (default: disabled in the lab namespaces, which
	// keeps router solicitations and DAD out of the captures).
	KeepIPv6 bool
}

func randomID() string {
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b[:])
}

// New builds a lab. On error everything created so far is released. The
// caller must Close the lab (tests: use NewT, which registers t.Cleanup).
func New(cfg *Config) (lab *Lab, err error) {
	if cfg == nil {
		cfg = &Config{}
	}
	prefix := cfg.Prefix
	if prefix == "" {
		prefix = "lab"
	}
	if len(prefix) > 5 {
		prefix = prefix[:5]
	}
	id := randomID()
	l := &Lab{
		ID:             id,
		ClientIf:       prefix + id + "c",
		ServerIf:       prefix + id + "s",
		MiddleClientIf: prefix + id + "mc",
		MiddleServerIf: prefix + id + "ms",
		ClientAddr:     cfg.ClientAddr,
		ServerAddr:     cfg.ServerAddr,
	}
	if !l.ClientAddr.IsValid() {
		l.ClientAddr = netip.MustParseAddr("10.66.0.1")
	}
	if !l.ServerAddr.IsValid() {
		l.ServerAddr = netip.MustParseAddr("10.66.0.2")
	}
	defer func() {
		if err != nil {
			l.Close()
			lab = nil
		}
	}()
	if l.Client, err = NewNS(prefix + id + "-client"); err != nil {
		return nil, err
	}
	if l.Middle, err = NewNS(prefix + id + "-middle"); err != nil {
		return nil, err
	}
	if l.Server, err = NewNS(prefix + id + "-server"); err != nil {
		return nil, err
	}
	if !cfg.KeepIPv6 {
		for _, ns := range []*NS{l.Client, l.Middle, l.Server} {
			for _, k := range []string{"net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6"} {
				if err := ns.SetSysctl(k, "1"); err != nil {
					return nil, err
				}
			}
		}
	}
	if err = l.Client.Do(func() error { return addVeth(l.ClientIf, l.MiddleClientIf, l.Middle) }); err != nil {
		return nil, err
	}
	if err = l.Server.Do(func() error { return addVeth(l.ServerIf, l.MiddleServerIf, l.Middle) }); err != nil {
		return nil, err
	}
	ends := []struct {
		ns   *NS
		name string
		addr netip.Addr
	}{
		{l.Client, l.ClientIf, l.ClientAddr},
		{l.Middle, l.MiddleClientIf, netip.Addr{}},
		{l.Middle, l.MiddleServerIf, netip.Addr{}},
		{l.Server, l.ServerIf, l.ServerAddr},
	}
	for _, e := range ends {
		if !cfg.KeepOffloads {
			if _, err = e.ns.Command("ethtool", "-K", e.name, "tso", "off", "gso", "off", "gro", "off", "tx", "off"); err != nil {
				return nil, err
			}
		}
		err = e.ns.Do(func() error {
			link, err := netlink.LinkByName(e.name)
			if err != nil {
				return fmt.Errorf("netlab: link %s: %w", e.name, err)
			}
			if e.addr.IsValid() {
				a := &netlink.Addr{IPNet: &net.IPNet{IP: e.addr.AsSlice(), Mask: net.CIDRMask(24, 32)}}
				if err := netlink.AddrAdd(link, a); err != nil {
					return fmt.Errorf("netlab: address %s on %s: %w", e.addr, e.name, err)
				}
			} else if err := netlink.SetPromiscOn(link); err != nil {
				return fmt.Errorf("netlab: promisc on %s: %w", e.name, err)
			}
			if err := netlink.LinkSetUp(link); err != nil {
				return fmt.Errorf("netlab: up %s: %w", e.name, err)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return l, nil
}

// addVeth creates a veth pair in the current (thread's) namespace and moves
// the peer end into peerNS.
func addVeth(name, peer string, peerNS *NS) error {
	v := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: name},
		PeerName:      peer,
		PeerNamespace: netlink.NsFd(peerNS.Fd()),
	}
	if err := netlink.LinkAdd(v); err != nil {
		return fmt.Errorf("netlab: veth %s/%s: %w", name, peer, err)
	}
	return nil
}

func setLinkUp(name string) error {
	link, err := netlink.LinkByName(name)
	if err != nil {
		return fmt.Errorf("link %s: %w", name, err)
	}
	return netlink.LinkSetUp(link)
}

// Close releases the three namespaces; the veth pairs die with them. Safe to
// call more than once and on a partly built lab.
func (l *Lab) Close() error {
	if l == nil {
		return nil
	}
	var errs []error
	for _, ns := range []*NS{l.Client, l.Middle, l.Server} {
		if ns != nil {
			errs = append(errs, ns.Close())
		}
	}
	return errors.Join(errs...)
}
