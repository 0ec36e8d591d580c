package tcpwin

import "testing"

func TestClampShift(t *testing.T) {
	for _, tc := range []struct {
		in      uint8
		out     uint8
		clamped bool
	}{{0, 0, false}, {7, 7, false}, {14, 14, false}, {15, 14, true}, {255, 14, true}} {
		s, c := ClampShift(tc.in)
		if s != tc.out || c != tc.clamped {
			t.Errorf("ClampShift(%d) = %d, %v; want %d, %v", tc.in, s, c, tc.out, tc.clamped)
		}
	}
}

func TestEffectiveWindow(t *testing.T) {
	for _, tc := range []struct {
		raw   uint16
		shift uint8
		want  uint32
	}{
		{5840, 0, 5840},
		{501, 7, 64128},
		{65535, 14, 1073725440},
		{65535, 15, 1073725440}, // clamped, no overflow
		{65535, 255, MaxScaledWindow},
		{0, 14, 0},
	} {
		if got := EffectiveWindow(tc.raw, tc.shift); got != tc.want {
			t.Errorf("EffectiveWindow(%d, %d) = %d, want %d", tc.raw, tc.shift, got, tc.want)
		}
	}
	if MaxScaledWindow != 1073725440 || MaxScaledWindow >= 1<<30 {
		t.Errorf("MaxScaledWindow = %d", MaxScaledWindow)
	}
	if ScaleFactor(7) != 128 || ScaleFactor(20) != 1<<14 {
		t.Error("ScaleFactor")
	}
	if MaxWindow(0) != 65535 || MaxWindow(2) != 262140 {
		t.Error("MaxWindow")
	}
}

func TestShiftForBuffer(t *testing.T) {
	// The GUIDE's Linux examples (tcp_select_initial_window) for power-of-two
	// and default buffer sizes.
	for _, tc := range []struct {
		buf   uint64
		shift uint8
		ok    bool
	}{
		{0, 0, true}, {65535, 0, true}, {65536, 1, true},
		{131072, 2, true}, {174760, 2, true}, {4194304, 7, true},
		{6291456, 7, true}, {33554432, 10, true},
		{MaxScaledWindow, 14, true}, {MaxScaledWindow + 1, 14, false}, {1 << 40, 14, false},
	} {
		s, ok := ShiftForBuffer(tc.buf)
		if s != tc.shift || ok != tc.ok {
			t.Errorf("ShiftForBuffer(%d) = %d, %v; want %d, %v", tc.buf, s, ok, tc.shift, tc.ok)
		}
	}
}

func TestRawWindowFor(t *testing.T) {
	if got := RawWindowFor(64128, 7); got != 501 {
		t.Errorf("RawWindowFor(64128,7) = %d", got)
	}
	if got := RawWindowFor(1<<40, 14); got != MaxRawWindow {
		t.Errorf("saturation: %d", got)
	}
	for s := uint8(0); s <= 16; s++ {
		for _, raw := range []uint16{0, 1, 501, 65535} {
			if got := RawWindowFor(uint64(EffectiveWindow(raw, s)), s); got != raw {
				t.Errorf("round trip raw %d shift %d: %d", raw, s, got)
			}
		}
	}
}
