package seedlab

import (
	"context"
	"github.com/bulletproof-labs/wsvcb/internal/netlab"
	"strconv"
	"testing"
	"time"

	"github.com/bulletproof-labs/wsvcb/internal/testenv"
	"github.com/bulletproof-labs/wsvcb/tcpwin"
)

// TestLinuxWScaleMatchesKernel checks tcpwin.PredictLinux against the
// running kernel: for a matrix of tcp_rmem maxima and SO_RCVBUF values, in
// a fresh namespace, the shift in the SYN (SO_RCVBUF on the connecting
// socket) and in the SYN-ACK (SO_RCVBUF on the listener) must equal the
// prediction. net.core.rmem_max is read from the namespace (read-only there).
func TestLinuxWScaleMatchesKernel(t *testing.T) {
	testenv.RequireRoot(t)
	ns, err := netlab.NewNS("netlab-wscale")
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	rmemMaxS, err := ns.Sysctl("net.core.rmem_max")
	if err != nil {
		t.Fatal(err)
	}
	rmemMax, err := strconv.Atoi(rmemMaxS)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("net.core.rmem_max = %d (global)", rmemMax)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	rmems := []string{"4096 87380 174760", "4096 131072 6291456", "4096 131072 8388608", "4096 131072 33554432", "4096 131072 1073741824"}
	rcvbufs := []int{0, 1024, 16384, 32768, 65535, 65536, 87380, 131071, 131072, 262143, 262144, 1 << 20, 4 << 20, 8 << 20}
	for _, rm := range rmems {
		if err := ns.SetSysctl("net.ipv4.tcp_rmem", rm); err != nil {
			t.Fatal(err)
		}
		triple, err := tcpwin.ParseTCPRmem(rm)
		if err != nil {
			t.Fatal(err)
		}
		for _, rb := range rcvbufs {
			cfg := tcpwin.LinuxConfig{TCPRmem: triple, RmemMax: rmemMax, RcvBuf: rb}
			want, _ := tcpwin.LinuxWScale(cfg)
			def, _ := tcpwin.LinuxWScale(tcpwin.LinuxConfig{TCPRmem: triple, RmemMax: rmemMax})
			var opts *netlab.SockOpts
			if rb > 0 {
				opts = &netlab.SockOpts{RcvBuf: rb}
			}
			// SO_RCVBUF on the client: its SYN.
			h, err := ns.HandshakeShifts(ctx, "127.0.0.1:0", "lo", opts, nil)
			if err != nil {
				t.Fatal(err)
			}
			// SO_RCVBUF on the listener: its SYN-ACK.
			h2, err := ns.HandshakeShifts(ctx, "127.0.0.1:0", "lo", nil, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("tcp_rmem %-24q SO_RCVBUF %8d: predicted %2d, SYN %2d, SYN-ACK %2d", rm, rb, want, h.SYN, h2.SYNACK)
			if h.SYN != want {
				t.Errorf("tcp_rmem %q rmem_max %d SO_RCVBUF %d: kernel SYN shift %d, predicted %d", rm, rmemMax, rb, h.SYN, want)
			}
			if h2.SYNACK != want {
				t.Errorf("tcp_rmem %q rmem_max %d listener SO_RCVBUF %d: kernel SYN-ACK shift %d, predicted %d", rm, rmemMax, rb, h2.SYNACK, want)
			}
			if h.SYNACK != def || h2.SYN != def {
				t.Errorf("default side: SYN-ACK %d / SYN %d, predicted %d", h.SYNACK, h2.SYN, def)
			}
		}
	}
	// TCP_WINDOW_CLAMP before connect/listen caps the shift too.
	triple := [3]int{4096, 131072, 33554432}
	if err := ns.SetSysctl("net.ipv4.tcp_rmem", "4096 131072 33554432"); err != nil {
		t.Fatal(err)
	}
	for _, wc := range []int{65535, 65536, 200000, 3 << 20, 16 << 20, 1 << 30} {
		want, _ := tcpwin.LinuxWScale(tcpwin.LinuxConfig{TCPRmem: triple, RmemMax: rmemMax, WindowClamp: wc})
		opts := &netlab.SockOpts{WindowClamp: wc}
		h, err := ns.HandshakeShifts(ctx, "127.0.0.1:0", "lo", opts, nil)
		if err != nil {
			t.Fatal(err)
		}
		h2, err := ns.HandshakeShifts(ctx, "127.0.0.1:0", "lo", nil, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("tcp_rmem max 33554432 TCP_WINDOW_CLAMP %10d: predicted %2d, SYN %2d, SYN-ACK %2d", wc, want, h.SYN, h2.SYNACK)
		if h.SYN != want || h2.SYNACK != want {
			t.Errorf("TCP_WINDOW_CLAMP %d: kernel SYN %d SYN-ACK %d, predicted %d", wc, h.SYN, h2.SYNACK, want)
		}
	}

	// tcp_window_scaling=0: no option at all, and the peer then answers
	// without one either.
	if err := ns.SetSysctl("net.ipv4.tcp_window_scaling", "0"); err != nil {
		t.Fatal(err)
	}
	if _, ok := tcpwin.LinuxWScale(tcpwin.LinuxConfig{RmemMax: rmemMax, NoWindowScaling: true}); ok {
		t.Fatal("predictor offers a shift with scaling off")
	}
	h, err := ns.HandshakeShifts(ctx, "127.0.0.1:0", "lo", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h.SYN != -1 || h.SYNACK != -1 {
		t.Errorf("tcp_window_scaling=0: SYN %d SYN-ACK %d, want no options", h.SYN, h.SYNACK)
	}
}
