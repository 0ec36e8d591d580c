package tcpwin

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
)

// Kind names a class of window-scaling problem found by Diagnose.
type Kind string

// Finding kinds.
const (
	// KindOneSidedScaling: one SYN offered window scaling, the other did
	// not, so scaling is off both ways and windows cap at 64 KiB; if the
	// option was stripped in flight, one end may scale while the other
	// reads its windows unscaled.
	KindOneSidedScaling Kind = "one-sided-scaling"
	// KindScalingOff: neither SYN offered window scaling: windows cap at
	// 64 KiB (information only).
	KindScalingOff Kind = "scaling-off"
	// KindWindowPlateau is the 2006 pathology confirmed by the data: the
	// sender's bytes in flight plateau at the receiver's raw (unscaled)
	// window, one flight per round trip, without loss, while the receiver's
	// buffers imply a window many times larger.
	KindWindowPlateau Kind = "window-plateau"
	// KindScaleExposure is the 2006 signature without enough data to
	// confirm it: a side whose raw windows are below one segment because it
	// relies on a large shift; a peer that reads them unscaled (wscale
	// rewritten or stripped on the way) sends less than a segment per
	// round trip.
	KindScaleExposure Kind = "scale-exposure"
	// KindZeroWindow: the receiver advertised a zero window (its buffer was
	// full) and the sender stalled.
	KindZeroWindow Kind = "zero-window"
	// KindSYNOptionChanged: two captures of the same connection disagree
	// on the options of a SYN: a middlebox changed them in between.
	KindSYNOptionChanged Kind = "syn-option-changed"
)

// Severity ranks findings.
type Severity int

// Severities, in increasing order.
const (
	SeverityInfo Severity = iota
	SeverityWarning
	SeverityCritical
)

func (s Severity) String() string {
	switch s {
	case SeverityWarning:
		return "warning"
	case SeverityCritical:
		return "critical"
	}
	return "info"
}

// MarshalText encodes the severity as its name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	switch string(b) {
	case "info":
		*s = SeverityInfo
	case "warning":
		*s = SeverityWarning
	case "critical":
		*s = SeverityCritical
	default:
		return fmt.Errorf("tcpwin: unknown severity %q", b)
	}
	return nil
}

// ConnRef identifies the connection a finding is about.
type ConnRef struct {
	// Capture is the index of the capture (0, or 1 for the peer capture of
	// DiagnosePair) whose tracker numbered the connection.
	Capture int    `json:"capture"`
	ID      uint64 `json:"id"` // Conn.ID in that capture
	// A is the initiator (sender of the first SYN), B the responder.
	A string `json:"a"`
	B string `json:"b"`
	// FirstFrame is the connection's first frame in that capture.
	FirstFrame int `json:"first_frame"`
}

// Finding is one diagnosed problem.
type Finding struct {
	Kind     Kind     `json:"kind"`
	Severity Severity `json:"severity"`
	Conn     ConnRef  `json:"conn"`
	// Side is the endpoint the finding is about (whose windows or SYN):
	// "a" or "b".
	Side string `json:"side"`
	// Summary is one line saying what was seen, with the numbers.
	Summary string `json:"summary"`
	// Cause names the likely cause.
	Cause string `json:"cause"`
	// Fixes are remedies, most specific first (sysctl settings with the
	// host they apply to).
	Fixes    []string `json:"fixes,omitempty"`
	Evidence Evidence `json:"evidence"`
}

// Evidence holds the numbers behind a finding. Shift fields are -1 when the
// SYN carried no window-scale option; other zero fields were not measured
// or do not apply.
type Evidence struct {
	Shift     int `json:"shift"`      // the side's offered shift
	PeerShift int `json:"peer_shift"` // the other side's offered shift
	// Windows the side advertised: SYN window, first and largest raw
	// window after the handshake, largest effective window (as this
	// capture's handshake says to scale them).
	SYNWindow       uint32 `json:"syn_window,omitempty"`
	FirstRawWindow  uint32 `json:"first_raw_window,omitempty"`
	RawWindow       uint32 `json:"raw_window,omitempty"`
	EffectiveWindow uint32 `json:"effective_window,omitempty"`
	// ImpliedShift is log2(SYN window / first raw window), rounded: the
	// shift the side's windows behave as if scaled by.
	ImpliedShift int `json:"implied_shift,omitempty"`
	// MSS is the segment size the peer may send to the side.
	MSS int `json:"mss,omitempty"`
	// Flow is the data the peer sent toward the side.
	Flow *FlowStats `json:"flow,omitempty"`
	// Zero-window stalls of the side's receive window.
	ZeroWindows  uint64  `json:"zero_windows,omitempty"`
	Stalls       uint64  `json:"stalls,omitempty"`
	StallTotalMS float64 `json:"stall_total_ms,omitempty"`
	StallMaxMS   float64 `json:"stall_max_ms,omitempty"`
	// Option, Before and After describe a SYN option change between two
	// captures: Before as sent and After as received when the captures'
	// vantage points are known (see Vantage), else Before in capture 0 and
	// After in capture 1. Shift and PeerShift then hold the two shifts.
	Option string `json:"option,omitempty"`
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
	// Vantage says where each capture was taken relative to the side
	// ("near a", "near b" or "unknown"), from the handshake's timing.
	Vantage []string `json:"vantage,omitempty"`
}

// FlowStats describe one direction's data transfer.
type FlowStats struct {
	DataSegments    uint64  `json:"data_segments"`
	Bytes           uint64  `json:"bytes"` // new data (retransmissions excluded)
	Retransmissions uint64  `json:"retransmissions"`
	MaxInFlight     uint32  `json:"max_in_flight"` // highest seq sent minus highest ack seen
	Flights         uint64  `json:"flights"`       // bursts separated by more than half an RTT
	RTTms           float64 `json:"rtt_ms,omitempty"`
	DurationMS      float64 `json:"duration_ms,omitempty"`
	FlightsPerRTT   float64 `json:"flights_per_rtt,omitempty"`
	Throughput      float64 `json:"throughput_bps,omitempty"` // bytes per second
	// AtRawWindow counts data segments after which the bytes in flight
	// sat between 90% and 100% of the receiver's last raw window;
	// AboveRawWindow those with more in flight than the raw window plus a
	// segment (the sender honoured the scale).
	AtRawWindow    uint64 `json:"at_raw_window"`
	AboveRawWindow uint64 `json:"above_raw_window"`
	// The same per flight (needs timestamps): the bytes of each flight
	// against the receiver's raw window when the flight began. Seen from
	// the receiver, whose ACKs follow each segment, flights show the
	// window limit better than bytes in flight do.
	MaxFlightBytes        uint64 `json:"max_flight_bytes,omitempty"`
	FlightsAtRawWindow    uint64 `json:"flights_at_raw_window"`
	FlightsAboveRawWindow uint64 `json:"flights_above_raw_window"`
}

// DiagnoseConfig tunes Diagnose. The zero value (or nil) gives defaults.
type DiagnoseConfig struct {
	// Tracker configures connection tracking (OnClose and KeepClosed are
	// managed by Diagnose).
	Tracker *Config
	// MinDataSegments is the number of data segments a direction needs
	// before its flow can confirm or rule out a window plateau (default 8).
	MinDataSegments int
}

func (c *DiagnoseConfig) withDefaults() DiagnoseConfig {
	var r DiagnoseConfig
	if c != nil {
		r = *c
	}
	if r.MinDataSegments <= 0 {
		r.MinDataSegments = 8
	}
	return r
}

// CaptureSummary describes one diagnosed capture.
type CaptureSummary struct {
	Name     string       `json:"name,omitempty"`
	Segments uint64       `json:"segments"`
	Conns    uint64       `json:"conns"`
	Tracker  TrackerStats `json:"tracker"`
	// BadFrames counts frames or text lines that could not be decoded and
	// were skipped (a truncated packet, a bad win or mss in tcpdump text);
	// FirstBad says what was wrong with the first.
	BadFrames uint64 `json:"bad_frames,omitempty"`
	FirstBad  string `json:"first_bad,omitempty"`
}

// Report is the result of Diagnose or DiagnosePair.
type Report struct {
	Captures []CaptureSummary `json:"captures"`
	// Matched counts connections found in both captures (DiagnosePair).
	Matched int `json:"matched,omitempty"`
	// Findings are ordered by capture, connection and severity (highest
	// first), then the cross-capture findings.
	Findings []Finding `json:"findings"`
	// Conns summarises every connection's handshake, per capture.
	Conns [][]ConnSummary `json:"conns"`
}

// Worst returns the highest severity among the findings, and false when
// there are none.
func (r *Report) Worst() (Severity, bool) {
	if len(r.Findings) == 0 {
		return SeverityInfo, false
	}
	w := SeverityInfo
	for _, f := range r.Findings {
		w = max(w, f.Severity)
	}
	return w, true
}

// JSON returns the report as indented JSON.
func (r *Report) JSON() ([]byte, error) { return json.MarshalIndent(r, "", "  ") }

// Diagnose reads one capture, taken at either end of the connections or in
// between, and reports window-scaling problems per connection: one-sided
// scaling, the 2006 pathology (bytes in flight plateauing at a raw unscaled
// window), its signature when the data cannot confirm it, and zero-window
// stalls. cfg may be nil.
func Diagnose(ctx context.Context, src Source, cfg *DiagnoseConfig) (*Report, error) {
	c := cfg.withDefaults()
	rep := &Report{Findings: []Finding{}}
	sum, conns, finds, err := diagnoseOne(ctx, src, &c, 0)
	rep.Captures = append(rep.Captures, sum)
	rep.Conns = append(rep.Conns, conns)
	rep.Findings = append(rep.Findings, finds...)
	return rep, err
}

// DiagnosePair diagnoses two captures of the same connections, normally one
// taken at each end, as Diagnose does each, then matches connections by
// 4-tuple and initial sequence number and reports every SYN option that
// differs between the captures (KindSYNOptionChanged): the work of a
// middlebox in between. Address or port translation is not handled:
// translated connections stay unmatched.
func DiagnosePair(ctx context.Context, src, peer Source, cfg *DiagnoseConfig) (*Report, error) {
	c := cfg.withDefaults()
	rep := &Report{Findings: []Finding{}}
	for i, s := range []Source{src, peer} {
		sum, conns, finds, err := diagnoseOne(ctx, s, &c, i)
		rep.Captures = append(rep.Captures, sum)
		rep.Conns = append(rep.Conns, conns)
		rep.Findings = append(rep.Findings, finds...)
		if err != nil {
			return rep, err
		}
	}
	finds, matched := compareCaptures(rep.Conns[0], rep.Conns[1])
	rep.Matched = matched
	rep.Findings = append(rep.Findings, finds...)
	return rep, nil
}

// diagnoseOne runs one capture through a tracker and a Diagnoser.
func diagnoseOne(ctx context.Context, src Source, cfg *DiagnoseConfig, capture int) (CaptureSummary, []ConnSummary, []Finding, error) {
	d := NewDiagnoser(cfg)
	d.Capture = capture
	var finds []Finding
	var conns []ConnSummary
	tc := cfg.Tracker.withDefaults()
	tc.KeepClosed = false
	tc.OnClose = func(c *Conn) {
		conns = append(conns, d.Summary(c))
		finds = append(finds, d.Close(c)...)
	}
	tr := NewTracker(&tc)
	var err error
	var bad uint64
	var firstBad string
	for n := 0; ; n++ {
		if n&1023 == 0 {
			if err = ctx.Err(); err != nil {
				break
			}
		}
		var seg *Segment
		seg, err = src.Next()
		if err != nil {
			if isBadFrame(err) {
				if bad == 0 {
					firstBad = err.Error()
				}
				bad++
				continue
			}
			if isEOF(err) {
				err = nil
			}
			break
		}
		finds = append(finds, d.Observe(tr.Observe(seg))...)
	}
	tr.Flush()
	st := tr.Stats()
	slices.SortStableFunc(conns, func(a, b ConnSummary) int { return cmpU64(a.ID, b.ID) })
	slices.SortStableFunc(finds, func(a, b Finding) int {
		if c := cmpU64(a.Conn.ID, b.Conn.ID); c != 0 {
			return c
		}
		return int(b.Severity) - int(a.Severity)
	})
	return CaptureSummary{Segments: st.Segments, Conns: st.Conns, Tracker: st, BadFrames: bad, FirstBad: firstBad}, conns, finds, err
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
