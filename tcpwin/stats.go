package tcpwin

// DirStats are per-direction statistics in the spirit of `tcptrace -l`.
// Window figures are effective windows: scaled when the scale is known, raw
// when it is unknown or scaling is off. Like tcptrace, the window figures
// cover segments with ACK or SYN set, the minimum ignores zero windows, and
// zero windows are counted on ACK segments.
type DirStats struct {
	Packets uint64 // segments sent in this direction
	Bytes   uint64 // TCP payload bytes (retransmissions included)
	WinMax  uint32 // largest advertised window
	WinMin  uint32 // smallest non-zero advertised window, 0 if none
	WinSum  uint64 // sum of advertised windows, for WinAvg
	WinN    uint64 // segments counted in WinSum
	ZeroWin uint64 // zero-window advertisements
	// UnknownScale counts non-SYN segments whose window scale was unknown
	// (their raw window entered the figures).
	UnknownScale uint64
	// WScaleNonSYN counts window-scale options on non-SYN segments, which
	// RFC 7323 section 2.2 says to ignore.
	WScaleNonSYN uint64
}

// WinAvg returns the average advertised window, 0 when none was seen.
func (s *DirStats) WinAvg() float64 {
	if s.WinN == 0 {
		return 0
	}
	return float64(s.WinSum) / float64(s.WinN)
}

func (s *DirStats) addWindow(w uint32, ack bool) {
	if w > s.WinMax {
		s.WinMax = w
	}
	if w > 0 && (s.WinMin == 0 || w < s.WinMin) {
		s.WinMin = w
	}
	s.WinSum += uint64(w)
	s.WinN++
	if w == 0 && ack {
		s.ZeroWin++
	}
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
