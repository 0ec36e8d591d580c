package netlab

import (
	"context"
	"io"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/bulletproof-labs/wsvcb/internal/testenv"
)

func TestNSSysctlIsolated(t *testing.T) {
	testenv.RequireRoot(t)
	ns, err := NewNS("netlab-test")
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	host, err := os.ReadFile("/proc/sys/net/ipv4/tcp_rmem")
	if err != nil {
		t.Fatal(err)
	}
	if err := ns.SetSysctl("net.ipv4.tcp_rmem", "4096 87380 174760"); err != nil {
		t.Fatal(err)
	}
	got, err := ns.Sysctl("net.ipv4.tcp_rmem")
	if err != nil || got != "4096 87380 174760" {
		t.Fatalf("in namespace: %q, %v", got, err)
	}
	after, _ := os.ReadFile("/proc/sys/net/ipv4/tcp_rmem")
	if string(after) != string(host) {
		t.Fatalf("host tcp_rmem changed: %q -> %q", host, after)
	}
	if err := ns.SetSysctl("kernel.hostname", "x"); err == nil {
		t.Fatal("non-net key accepted")
	}
}

func TestLabDirect(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "ethtool")
	lab := NewT(t, nil)
	// Without a middlebox nothing crosses the middle namespace.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	mb, err := StartMiddlebox(lab, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	ln, err := lab.Server.Listen(ctx, netip.AddrPortFrom(lab.ServerAddr, 5001).String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Write([]byte("hello through the middlebox"))
		c.Close()
	}()
	c, err := lab.Client.Dial(ctx, netip.AddrPortFrom(lab.ServerAddr, 5001).String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b, err := io.ReadAll(c)
	if err != nil || string(b) != "hello through the middlebox" {
		t.Fatalf("got %q, %v", b, err)
	}
	st := mb.Stats()
	if st.Total() == 0 {
		t.Fatalf("middlebox forwarded nothing: %+v", st)
	}
}
