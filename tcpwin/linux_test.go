package tcpwin

import (
	"errors"
	"testing"
)

func TestLinuxWScale(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name string
		cfg  LinuxConfig
		want int
		ok   bool
	}{
		// GUIDE examples (rmem_max small so tcp_rmem[2] decides).
		{"174760", LinuxConfig{TCPRmem: [3]int{4096, 87380, 174760}, RmemMax: 131071}, 2, true},
		{"131072", LinuxConfig{TCPRmem: [3]int{4096, 87380, 131072}, RmemMax: 131071}, 2, true},
		{"4MiB", LinuxConfig{TCPRmem: [3]int{4096, 87380, 4 * mib}}, 7, true},
		{"6MiB default", LinuxConfig{}, 7, true},
		{"32MiB", LinuxConfig{TCPRmem: [3]int{4096, 131072, 32 * mib}}, 10, true},
		{"huge clamps at 14", LinuxConfig{TCPRmem: [3]int{4096, 131072, 1 << 30}}, 14, true},
		{"65535 no shift", LinuxConfig{TCPRmem: [3]int{4096, 4096, 65535}, RmemMax: 65535}, 0, true},
		{"65536 shift 1", LinuxConfig{TCPRmem: [3]int{4096, 4096, 65536}, RmemMax: 4096}, 1, true},
		// rmem_max dominates the seed's fix on this machine.
		{"seed fix with rmem_max 4MiB", LinuxConfig{TCPRmem: [3]int{4096, 87380, 174760}, RmemMax: 4 * mib}, 7, true},
		// SO_RCVBUF caps the shift on current kernels...
		{"SO_RCVBUF 87380", LinuxConfig{TCPRmem: [3]int{4096, 87380, 174760}, RmemMax: 4 * mib, RcvBuf: 87380}, 1, true},
		{"SO_RCVBUF 131072", LinuxConfig{RmemMax: 4 * mib, RcvBuf: 131072}, 2, true},
		{"SO_RCVBUF 65535", LinuxConfig{RmemMax: 4 * mib, RcvBuf: 65535}, 0, true},
		{"SO_RCVBUF above rmem_max", LinuxConfig{TCPRmem: [3]int{4096, 131072, 32 * mib}, RmemMax: 4 * mib, RcvBuf: 8 * mib}, 7, true},
		// ...but not on 2.6.17.
		{"2.6.17 ignores SO_RCVBUF", LinuxConfig{TCPRmem: [3]int{4096, 87380, 4 * mib}, RmemMax: 131071, RcvBuf: 87380, Era: Linux2617}, 7, true},
		{"2.6.17 seed", LinuxConfig{TCPRmem: [3]int{4096, 87380, 174760}, RmemMax: 131071, Era: Linux2617}, 2, true},
		{"TCP_WINDOW_CLAMP", LinuxConfig{WindowClamp: 100000}, 1, true},
		{"6.5 ratio", LinuxConfig{RmemMax: 4 * mib, RcvBuf: 262144, ScalingRatio: 65}, 2, true},
		{"scaling off", LinuxConfig{NoWindowScaling: true}, 0, false},
		{"invalid", LinuxConfig{RcvBuf: -1}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := LinuxWScale(tt.cfg)
			if got != tt.want || ok != tt.ok {
				p, err := PredictLinux(&tt.cfg)
				t.Fatalf("LinuxWScale = %d, %v; want %d, %v (%+v, %v)", got, ok, tt.want, tt.ok, p, err)
			}
		})
	}
}

// The ilog2 form and the 2.6.17 loop agree on every space.
func TestLinuxShiftMatchesLoop(t *testing.T) {
	loop := func(space uint32) int {
		s := 0
		for space > 65535 && s < 14 {
			space >>= 1
			s++
		}
		return s
	}
	for _, sp := range []uint32{0, 1, 65535, 65536, 98304, 131071, 131072, 174760, 262143, 262144, 1 << 29, 1<<30 - 1, 1 << 31, 1<<32 - 1} {
		if got, want := linuxShift(int(sp)), loop(sp); got != want {
			t.Errorf("space %d: ilog2 form %d, loop %d", sp, got, want)
		}
	}
	for sp64 := uint64(1); sp64 < 1<<31; sp64 = sp64*3/2 + 1 {
		sp := uint32(sp64)
		if got, want := linuxShift(int(sp)), loop(sp); got != want {
			t.Fatalf("space %d: ilog2 form %d, loop %d", sp, got, want)
		}
	}
}

func TestPredictLinuxLimit(t *testing.T) {
	p, err := PredictLinux(&LinuxConfig{TCPRmem: [3]int{4096, 87380, 174760}, RmemMax: 4 << 20, RcvBuf: 87380})
	if err != nil {
		t.Fatal(err)
	}
	if p.Limit != "SO_RCVBUF" || p.RcvBuf != 174760 || p.WindowClamp != 87380 || p.Space != 87380 || p.MaxWindow != 131070 {
		t.Fatalf("%+v", p)
	}
	p, _ = PredictLinux(&LinuxConfig{TCPRmem: [3]int{4096, 87380, 174760}, RmemMax: 4 << 20})
	if p.Limit != "net.core.rmem_max" {
		t.Fatalf("%+v", p)
	}
	if _, err := PredictLinux(&LinuxConfig{Era: 9}); !errors.Is(err, ErrLinuxConfig) {
		t.Fatalf("unknown era: %v", err)
	}
}

func TestParseTCPRmem(t *testing.T) {
	r, err := ParseTCPRmem("4096\t87380\t174760\n")
	if err != nil || r != [3]int{4096, 87380, 174760} {
		t.Fatalf("%v %v", r, err)
	}
	for _, bad := range []string{"", "1 2", "1 2 3 4", "a b c", "1 -2 3", "1 2 0"} {
		if _, err := ParseTCPRmem(bad); !errors.Is(err, ErrLinuxConfig) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func FuzzParseTCPRmem(f *testing.F) {
	f.Add("4096 87380 174760")
	f.Add("4096\t131072\t33554432")
	f.Add("1 2")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseTCPRmem(s)
		if err != nil {
			return
		}
		if _, err := PredictLinux(&LinuxConfig{TCPRmem: r}); err != nil {
			t.Fatalf("%q parsed to %v but predict fails: %v", s, r, err)
		}
	})
}
