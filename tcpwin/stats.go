package tcpwin

// DirStats are per-direction statistics in the spirit of `tcptrace -l`.
// The window figures follow tcptrace: they cover segments with ACK or SYN
// set except resets (whose window means nothing); the minimum ignores zero
// windows; zero windows are counted on ACK segments. Windows are effective
// windows: scaled when the scale is known, raw when it is unknown or off.
// SYN windows, never scaled, are kept apart (SYNWin) and merged into the
// figures by Side.Windows only when scaling is not in use, as tcptrace does.
type DirStats struct {
	Packets uint64 // segments sent in this direction
	Bytes   uint64 // TCP payload bytes (retransmissions included)
	// Win holds the window figures of non-SYN segments.
	Win WinStats
	// SYNWin holds the (unscaled) windows of SYN segments.
	SYNWin WinStats
	// UnknownScale counts non-SYN segments whose window scale was unknown
	// (their raw window entered the figures).
	UnknownScale uint64
	// WScaleNonSYN counts window-scale options on non-SYN segments, which
	// RFC 7323 section 2.2 says to ignore.
	WScaleNonSYN uint64
}

// WinStats summarises advertised windows.
type WinStats struct {
	Max  uint32 // largest window
	Min  uint32 // smallest non-zero window, 0 if none
	Sum  uint64 // sum of windows, for Avg
	N    uint64 // windows counted
	Zero uint64 // zero-window advertisements (on ACK segments)
}

// Avg returns the average window, 0 when none was counted.
func (w WinStats) Avg() float64 {
	if w.N == 0 {
		return 0
	}
	return float64(w.Sum) / float64(w.N)
}

func (w *WinStats) add(win uint32, ack bool) {
	if win > w.Max {
		w.Max = win
	}
	if win > 0 && (w.Min == 0 || win < w.Min) {
		w.Min = win
	}
	w.Sum += uint64(win)
	w.N++
	if win == 0 && ack {
		w.Zero++
	}
}

func (w WinStats) merge(o WinStats) WinStats {
	if o.Max > w.Max {
		w.Max = o.Max
	}
	if o.Min > 0 && (w.Min == 0 || o.Min < w.Min) {
		w.Min = o.Min
	}
	w.Sum += o.Sum
	w.N += o.N
	w.Zero += o.Zero
	return w
}

// Windows returns the side's advertised-window figures: the non-SYN
// windows, plus the SYN windows unless scaling is on (then SYN windows,
// which are never scaled, would not compare).
func (s *Side) Windows() WinStats {
	if s.Scale == ScaleOn {
		return s.Stats.Win
	}
	return s.Stats.Win.merge(s.Stats.SYNWin)
}

// TrackerStats are the tracker's counters.
type TrackerStats struct {
	Segments     uint64 // segments observed
	Conns        uint64 // connections created
	Live         int    // connections currently tracked
	Reused       uint64 // connections closed because a new SYN reused the 4-tuple
	Evicted      uint64 // connections evicted as least recently used (MaxConns)
	Expired      uint64 // connections evicted after IdleTimeout
	WScaleNonSYN uint64 // window-scale options on non-SYN segments (ignored)
	ShiftClamped uint64 // SYNs offering a shift above MaxShift (used as 14)
	OptionErrors uint64 // segments with malformed options
}
