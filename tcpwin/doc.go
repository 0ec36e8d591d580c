// Package tcpwin analyses TCP window scaling (RFC 7323): the arithmetic of
// scaled windows, decoding of TCP options and handshakes from captures,
// per-connection tracking of the negotiated scale, and diagnosis of broken
// scaling such as a middlebox that rewrites the window-scale option.
//
// # Arithmetic
//
// EffectiveWindow, ScaleFactor, MaxWindow, ShiftForBuffer and ClampShift
// implement RFC 7323 section 2: a window field is shifted left by the
// sender's negotiated shift, shifts above MaxShift (14) are used as 14, and
// no result overflows a uint32 (the largest window is MaxScaledWindow).
//
// # Options
//
// Options returns an allocation-free iterator over a raw options area; it
// checks each kind's length strictly (MSS 4, window scale 3, SACK-permitted
// 2, SACK 2+8n with n 1..4, timestamps 10) and stops with an *OptionError
// (ErrOptionTruncated, ErrOptionLength) on malformed input. MPTCP, TFO and
// unknown kinds are returned raw. ParseOptions summarises an area into an
// OptionSet.
//
// # Sources
//
// Open and NewReader read pcap, pcapng and tcpdump text, detected
// automatically, into Segments (see Source).
//
// # Tracking
//
// A Tracker follows connections by their 4-tuple and gives every segment
// its effective window: scaling is on only when both SYNs carried the
// option, each side's windows are shifted by its own offered shift, SYN
// windows are never scaled, and window-scale options on non-SYN segments are
// ignored and counted. It handles SYN retransmits, simultaneous open, a new
// SYN on a finished 4-tuple and captures that start mid-stream (scale
// unknown). Memory is bounded by Config.MaxConns (LRU eviction) and
// Config.IdleTimeout (capture time). Observe does not allocate in steady
// state. An Analyzer runs a Source through a Tracker and collects the
// per-connection statistics (in the spirit of `tcptrace -l`).
package tcpwin
