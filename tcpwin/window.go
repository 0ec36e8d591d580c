package tcpwin

// Window-scale arithmetic (RFC 7323 section 2).

const (
	// MaxShift is the largest usable window-scale shift count. RFC 7323
	// section 2.3: "If a Window Scale option is received with a shift.cnt
	// value larger than 14, the TCP SHOULD log the error but MUST use 14
	// instead of the specified value."
	MaxShift = 14

	// MaxRawWindow is the largest value of the 16-bit window field
	// (RFC 9293 section 3.1).
	MaxRawWindow = 1<<16 - 1

	// MaxScaledWindow is the largest window expressible with scaling,
	// 65535 << 14 = 1,073,725,440 bytes, just below 2^30 (RFC 7323 section
	// 2.3: the maximum window is 2^30 so that it stays below 2^31, half the
	// sequence space).
	MaxScaledWindow = MaxRawWindow << MaxShift
)

// ClampShift returns the shift count RFC 7323 section 2.3 says a receiver
// must use for an offered shift: values above MaxShift become MaxShift.
// clamped reports whether the offered value was out of range (an error the
// RFC says to log).
func ClampShift(shift uint8) (s uint8, clamped bool) {
	if shift > MaxShift {
		return MaxShift, true
	}
	return shift, false
}

// ScaleFactor returns the multiplier 2^shift applied to a window field
// (RFC 7323 section 2.2), after clamping the shift to MaxShift.
func ScaleFactor(shift uint8) uint32 {
	s, _ := ClampShift(shift)
	return 1 << s
}

// EffectiveWindow returns the window in bytes that a raw 16-bit window field
// means when its sender negotiated shift (RFC 7323 section 2.3:
// SND.WND = SEG.WND << Snd.Wind.Shift). The shift is clamped to MaxShift, so
// the result is at most MaxScaledWindow and never overflows a uint32.
func EffectiveWindow(raw uint16, shift uint8) uint32 {
	s, _ := ClampShift(shift)
	return uint32(raw) << s
}

// MaxWindow returns the largest window a sender using shift can advertise:
// 65535 << shift (shift clamped to MaxShift).
func MaxWindow(shift uint8) uint32 {
	return EffectiveWindow(MaxRawWindow, shift)
}

// ShiftForBuffer returns the smallest shift count whose largest window
// (MaxWindow) covers a receive buffer of buf bytes. ok is false when buf
// exceeds MaxScaledWindow; the shift is then MaxShift, the best possible.
//
// Linux picks its shift the same way for buffer sizes that are powers of two
// (tcp_select_initial_window: clamp(ilog2(space)-15, 0, 14)); for other sizes
// it may pick one less, leaving the top of the buffer unadvertised.
func ShiftForBuffer(buf uint64) (shift uint8, ok bool) {
	for s := uint8(0); s <= MaxShift; s++ {
		if uint64(MaxWindow(s)) >= buf {
			return s, true
		}
	}
	return MaxShift, false
}

// RawWindowFor returns the 16-bit window field a sender using shift writes
// to advertise win bytes: win >> shift, rounded down as senders do, and
// saturated at MaxRawWindow. It is the inverse of EffectiveWindow up to the
// granularity 2^shift.
func RawWindowFor(win uint64, shift uint8) uint16 {
	s, _ := ClampShift(shift)
	r := win >> s
	if r > MaxRawWindow {
		return MaxRawWindow
	}
	return uint16(r)
}
