package tcpwin

import (
	"fmt"
	"strconv"
)

// SYNSummary is what one side's SYN (or SYN-ACK) carried.
type SYNSummary struct {
	Seen       bool   `json:"seen"`
	ISN        uint32 `json:"isn"`
	Window     uint16 `json:"window"`
	MSS        int    `json:"mss"`    // -1 when absent
	WScale     int    `json:"wscale"` // -1 when absent
	SACKOK     bool   `json:"sack_ok"`
	Timestamps bool   `json:"timestamps"`
}

// ConnSummary is the handshake of one connection as a capture saw it.
type ConnSummary struct {
	ID         uint64 `json:"id"`
	A          string `json:"a"`
	B          string `json:"b"`
	FirstFrame int    `json:"first_frame"`
	// SYN holds A's SYN and B's SYN-ACK.
	SYN [2]SYNSummary `json:"syn"`
	// Scale is the negotiated state per side ("on", "off", "unknown") and
	// Multiplier the Wireshark-style scale column.
	Scale      [2]string `json:"scale"`
	Multiplier [2]int    `json:"multiplier"`
	RTTms      float64   `json:"rtt_ms,omitempty"`
	// Vantage is where the capture was taken: "near a", "near b" or
	// "unknown" (from the handshake's timing).
	Vantage string `json:"vantage"`
	// Flow holds the data each side sent (index 0: A's).
	Flow [2]FlowStats `json:"flow"`

	key ConnKey
}

// Summary returns c's handshake summary. Call it before Close.
func (d *Diagnoser) Summary(c *Conn) ConnSummary {
	s := ConnSummary{ID: c.ID, A: c.A.String(), B: c.B.String(), FirstFrame: c.FirstFrame, key: c.Key(), Vantage: "unknown"}
	for i := range c.Side {
		sd := &c.Side[i]
		s.Scale[i] = sd.Scale.String()
		s.Multiplier[i] = Multiplier(sd.Scale, sd.Shift)
		if sd.SYNs == 0 {
			s.SYN[i] = SYNSummary{MSS: -1, WScale: -1}
			continue
		}
		ss := SYNSummary{Seen: true, ISN: sd.ISN, MSS: -1, WScale: offered(sd),
			SACKOK: sd.SYN.Has(HasSACKPermitted), Timestamps: sd.SYN.Has(HasTimestamps)}
		if sd.SYN.Has(HasMSS) {
			ss.MSS = int(sd.SYN.MSS)
		}
		s.SYN[i] = ss
	}
	if cd := d.conns[c.ID]; cd != nil {
		for i := range c.Side {
			if cd.side[i].synSeen {
				s.SYN[i].Window = cd.side[i].synWin
			}
		}
		s.RTTms = ms(cd.rtt())
		s.Vantage = cd.vantage()
		for i := range s.Flow {
			s.Flow[i] = *cd.flowStats(i)
		}
	}
	return s
}

type matchKey struct {
	key ConnKey
	isn uint32
}

// compareCaptures matches the connections of two captures by 4-tuple and
// A's initial sequence number and reports the SYN options that differ.
func compareCaptures(c0, c1 []ConnSummary) ([]Finding, int) {
	idx := make(map[matchKey]int, len(c1))
	for i := range c1 {
		if c1[i].SYN[0].Seen {
			idx[matchKey{c1[i].key, c1[i].SYN[0].ISN}] = i
		}
	}
	var out []Finding
	matched := 0
	for i := range c0 {
		x := &c0[i]
		if !x.SYN[0].Seen {
			continue
		}
		j, ok := idx[matchKey{x.key, x.SYN[0].ISN}]
		if !ok {
			continue
		}
		y := &c1[j]
		matched++
		for side := range 2 {
			out = append(out, synDiff(x, y, side)...)
		}
	}
	return out, matched
}

// synDiff compares side's SYN between the two captures of one connection.
func synDiff(x, y *ConnSummary, side int) []Finding {
	p, q := x.SYN[side], y.SYN[side]
	if !p.Seen || !q.Seen {
		return nil
	}
	host := x.A
	peer := x.B
	if side == 1 {
		host, peer = x.B, x.A
	}
	name := sideName(side)
	// The capture near the sending side saw the SYN as sent.
	near := "near " + name
	order := "capture 0 -> capture 1"
	switch {
	case x.Vantage == near && y.Vantage != near:
	case y.Vantage == near && x.Vantage != near:
		p, q = q, p
		order = "capture 1 -> capture 0"
	default:
		order = "capture 0 vs capture 1 (which end each capture was taken at is unknown)"
	}
	ref := ConnRef{Capture: 0, ID: x.ID, A: x.A, B: x.B, FirstFrame: x.FirstFrame}
	mk := func(sev Severity, opt, before, after, summary, cause string, fixes []string) Finding {
		ev := Evidence{Shift: p.WScale, PeerShift: q.WScale, SYNWindow: uint32(p.Window),
			Option: opt, Before: before, After: after, Vantage: []string{x.Vantage, y.Vantage}}
		return Finding{Kind: KindSYNOptionChanged, Severity: sev, Conn: ref, Side: name,
			Summary: summary, Cause: cause, Fixes: fixes, Evidence: ev}
	}
	var out []Finding
	what := fmt.Sprintf("%s's %s", host, synName(side))
	if p.WScale != q.WScale {
		sev := SeverityCritical
		var verb, cause string
		switch {
		case q.WScale < 0 && side == 0:
			verb = fmt.Sprintf("stripped (wscale %d -> none)", p.WScale)
			sev = SeverityWarning
			cause = fmt.Sprintf("a middlebox between the capture points stripped the window-scale option from %s: %s never saw the offer, so neither side scales and windows cap at 64 KiB (limits paths whose bandwidth-delay product is larger)", what, peer)
		case q.WScale < 0:
			verb = fmt.Sprintf("stripped (wscale %d -> none)", p.WScale)
			cause = fmt.Sprintf("a middlebox between the capture points stripped the window-scale option from %s after %s had agreed to scale: %s scales its windows by 2^%d while %s reads them unscaled, so what %s sends plateaus at %s's raw window (the 2006 failure, mirrored)", what, host, host, p.WScale, peer, peer, host)
		case p.WScale < 0:
			verb = fmt.Sprintf("added (none -> wscale %d)", q.WScale)
			sev = SeverityWarning
			cause = fmt.Sprintf("a middlebox between the capture points added a window-scale option to %s that %s never sent", what, host)
		case q.WScale < p.WScale:
			verb = fmt.Sprintf("rewritten (wscale %d -> %d)", p.WScale, q.WScale)
			cause = fmt.Sprintf("a middlebox between the capture points rewrote the window-scale shift of %s: %s scales its windows by 2^%d, %s reads them as scaled by 2^%d, 2^%d times too small, so what %s sends plateaus far below %s's real window (the 2006 failure: wscale 6 -> 0)", what, host, p.WScale, peer, q.WScale, p.WScale-q.WScale, peer, host)
		default:
			verb = fmt.Sprintf("rewritten (wscale %d -> %d)", p.WScale, q.WScale)
			cause = fmt.Sprintf("a middlebox between the capture points rewrote the window-scale shift of %s upwards: %s reads %s's windows 2^%d times too large and may overrun its buffer", what, peer, host, q.WScale-p.WScale)
		}
		out = append(out, mk(sev, "wscale", optStr(p.WScale), optStr(q.WScale),
			fmt.Sprintf("%s: window scale %s, %s", what, verb, order), cause, rewriteFixes(host, peer)))
	}
	if p.MSS != q.MSS {
		out = append(out, mk(SeverityInfo, "mss", optStr(p.MSS), optStr(q.MSS),
			fmt.Sprintf("%s: MSS %s -> %s, %s", what, optStr(p.MSS), optStr(q.MSS), order),
			"MSS clamping by a router or tunnel endpoint (common and harmless when it matches the path MTU)", nil))
	}
	if p.SACKOK != q.SACKOK {
		out = append(out, mk(SeverityWarning, "sackOK", strconv.FormatBool(p.SACKOK), strconv.FormatBool(q.SACKOK),
			fmt.Sprintf("%s: SACK-permitted %v -> %v, %s", what, p.SACKOK, q.SACKOK, order),
			"a middlebox strips or adds SACK-permitted: loss recovery gets slower without SACK", nil))
	}
	if p.Timestamps != q.Timestamps {
		out = append(out, mk(SeverityWarning, "timestamps", strconv.FormatBool(p.Timestamps), strconv.FormatBool(q.Timestamps),
			fmt.Sprintf("%s: timestamps %v -> %v, %s", what, p.Timestamps, q.Timestamps, order),
			"a middlebox strips or adds the timestamps option (RTT measurement and PAWS are lost)", nil))
	}
	if p.Window != q.Window {
		out = append(out, mk(SeverityInfo, "window", strconv.Itoa(int(p.Window)), strconv.Itoa(int(q.Window)),
			fmt.Sprintf("%s: window field %d -> %d, %s", what, p.Window, q.Window, order),
			"a middlebox rewrote the SYN's window field", nil))
	}
	return out
}

func optStr(v int) string {
	if v < 0 {
		return "none"
	}
	return strconv.Itoa(v)
}
