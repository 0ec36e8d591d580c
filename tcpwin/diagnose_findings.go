package tcpwin

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// The seed's two fixes (2006, "TCP Window Scaling and kernel 2.6.17+").
const (
	// FixNoScaling turns window scaling off on a host: no option in its
	// SYNs, so no peer or middlebox can misread its windows; they cap at
	// 64 KiB.
	FixNoScaling = "sysctl -w net.ipv4.tcp_window_scaling=0"
	// FixSmallBuffers restores the pre-2.6.17 buffer maxima, so that Linux
	// offers a shift of about 2, which most broken middleboxes pass.
	FixSmallBuffers = `sysctl -w net.ipv4.tcp_rmem="4096 87380 174760" net.ipv4.tcp_wmem="4096 16384 131072"`
)

// rewriteFixes are the remedies when host's window-scale option is
// rewritten or stripped on the way to peer.
func rewriteFixes(host, peer string) []string {
	return []string{
		fmt.Sprintf("find the middlebox between %s and %s that rewrites or strips the window-scale option (capture at both ends: tcpwin diagnose FILE PEERFILE) and fix or bypass it; that is the real cause", host, peer),
		fmt.Sprintf("on %s: %s (no scaling either way: windows cap at 64 KiB, so at most 64 KiB per round trip)", hostOf(host), FixNoScaling),
		fmt.Sprintf("on %s: %s (the pre-2.6.17 maxima: a shift of about 2, which most broken middleboxes pass; net.core.rmem_max or SO_RCVBUF can still raise the shift, so check the SYN's wscale afterwards)", hostOf(host), FixSmallBuffers),
	}
}

// midStreamSmallRaw: below this raw window (bytes), a receiver seen only
// mid-stream whose peer keeps to the raw window exactly is taken to scale.
const midStreamSmallRaw = 4096

// hostOf turns "addr:port" into the host a sysctl fix applies to: sysctl
// settings belong to a host (or its network namespace), not to a port.
func hostOf(endpoint string) string {
	if ap, err := netip.ParseAddrPort(endpoint); err == nil {
		return ap.Addr().String()
	}
	return endpoint
}

func endpointName(c *Conn, i int) string {
	if i == 0 {
		return c.A.String()
	}
	return c.B.String()
}

func synName(i int) string {
	if i == 0 {
		return "SYN"
	}
	return "SYN-ACK"
}

func wscaleText(shift int) string {
	if shift < 0 {
		return "no window-scale option"
	}
	return fmt.Sprintf("wscale %d", shift)
}

// perRTT formats the window-limited throughput win/rtt.
func perRTT(win uint32, rttMS float64) string {
	if rttMS <= 0 {
		return ""
	}
	return fmt.Sprintf(" (at most %s per %.0f ms round trip)", rate(float64(win)/(rttMS/1000)), rttMS)
}

func rate(bps float64) string {
	switch {
	case bps >= 1e6:
		return fmt.Sprintf("%.1f MB/s", bps/1e6)
	case bps >= 1e3:
		return fmt.Sprintf("%.1f kB/s", bps/1e3)
	}
	return fmt.Sprintf("%.0f B/s", bps)
}

// handshakeFindings reports one-sided scaling and scaling off.
func (d *Diagnoser) handshakeFindings(c *Conn, cd *connDiag) []Finding {
	wa, wb := offered(&c.Side[0]), offered(&c.Side[1])
	rttMS := ms(cd.rtt())
	switch {
	case wa >= 0 && wb >= 0:
		return nil
	case wa < 0 && wb < 0:
		ev := cd.evidence(c, 0)
		ev.Flow = nil
		return []Finding{{
			Kind: KindScalingOff, Severity: SeverityInfo, Conn: d.ref(c), Side: "a",
			Summary: fmt.Sprintf("neither the SYN of %s nor the SYN-ACK of %s offered window scaling: windows cap at 65535 bytes each way%s",
				c.A, c.B, perRTT(MaxRawWindow, rttMS)),
			Cause:    "window scaling is disabled on both hosts (net.ipv4.tcp_window_scaling=0), or a middlebox stripped the option from the SYN before it reached this capture point",
			Fixes:    []string{"nothing to fix unless the path's bandwidth-delay product exceeds 64 KiB; then enable net.ipv4.tcp_window_scaling=1 on both hosts (and make sure nothing strips the option)"},
			Evidence: ev,
		}}
	}
	on, off := 0, 1
	if wa < 0 {
		on, off = 1, 0
	}
	hon, hoff := endpointName(c, on), endpointName(c, off)
	ev := cd.evidence(c, off)
	f := Finding{
		Kind: KindOneSidedScaling, Severity: SeverityWarning, Conn: d.ref(c), Side: sideName(off),
		Summary: fmt.Sprintf("%s's %s offered wscale %d but %s's %s carried no window-scale option: scaling is off both ways, windows cap at 65535 bytes%s",
			hon, synName(on), offered(&c.Side[on]), hoff, synName(off), perRTT(MaxRawWindow, rttMS)),
		Evidence: ev,
	}
	if off == 1 {
		f.Cause = fmt.Sprintf("either %[2]s has window scaling disabled, or a middlebox stripped the option: from %[1]s's SYN on its way to %[2]s (then %[2]s never saw it), or from %[2]s's SYN-ACK after %[2]s sent it (then %[2]s scales its windows while %[1]s reads them unscaled, and what %[1]s sends plateaus at %[2]s's raw window). A capture at %[2]s tells which: tcpwin diagnose FILE PEERFILE", hon, hoff)
		f.Fixes = []string{
			fmt.Sprintf("if %s has scaling disabled on purpose, nothing breaks but windows stay below 64 KiB; otherwise on %s: sysctl -w net.ipv4.tcp_window_scaling=1", hostOf(hoff), hostOf(hoff)),
			fmt.Sprintf("if a middlebox strips the option, fix or bypass it; meanwhile on %s: %s, so that both ends agree scaling is off", hostOf(hoff), FixNoScaling),
		}
	} else {
		f.Cause = fmt.Sprintf("%s answered a SYN without window scaling with a window-scale option, which RFC 7323 section 2.2 forbids: the SYN was altered between this capture point and %s, or %s's TCP stack is broken", hon, hon, hon)
		f.Fixes = []string{fmt.Sprintf("capture at %s too and compare: tcpwin diagnose FILE PEERFILE", hon)}
	}
	return []Finding{f}
}

// fewRetrans reports whether a flow's retransmissions are too few for
// loss to explain its small flights: at most one in twenty fresh
// segments, and always one (a single spurious timeout, e.g. a segment
// held up in a busy middlebox, does not make a 48-segment flow
// loss-limited; seen in a lab capture, testdata/lab/rewritten-retrans-client.pcap).
func fewRetrans(retrans, fresh uint64) bool {
	return retrans <= max(1, fresh/20)
}

// flowFindings looks at the data sent toward side ri for the window
// plateau of the 2006 failure, or its signature when the data is too thin.
func (d *Diagnoser) flowFindings(c *Conn, cd *connDiag, ri int) []Finding {
	si := 1 - ri
	rs := &cd.side[ri]
	if !rs.rawSeen {
		return nil
	}
	f := cd.flowStats(si)
	if f.AboveRawWindow > 0 || f.FlightsAboveRawWindow > 0 {
		return nil // the sender used more than the raw window: it honours the scale
	}
	cs := &c.Side[ri]
	ev := cd.evidence(c, ri)
	ev.Flow = f
	recv, send := endpointName(c, ri), endpointName(c, si)
	scaledHere := cs.Scale == ScaleOn && cs.Shift >= 1
	// Windows that shrink by 2^3 or more right after a SYN that offers no
	// shift (or shift 0): the side scales although its SYN, as seen here,
	// says it does not.
	collapsed := offered(cs) <= 0 && cs.SYNs > 0 && ev.ImpliedShift >= 3 &&
		uint32(rs.synWin) >= 8*uint32(rs.rawMax)
	fresh := f.DataSegments - f.Retransmissions
	enough := f.DataSegments >= uint64(d.cfg.MinDataSegments)
	// What the sender got out per round trip: bytes in flight (exact at
	// the sender) or a flight's bytes (visible at the receiver).
	perRTTBytes := max(uint64(f.MaxInFlight), f.MaxFlightBytes)
	// Most segments or most flights sat at the receiver's raw window.
	atRaw := (f.AtRawWindow > 0 && f.AtRawWindow*2 >= fresh) ||
		(f.FlightsAtRawWindow > 0 && f.FlightsAtRawWindow*2 >= f.Flights)
	// A bulk sender whose SWS avoidance sends half-window segments
	// (Linux bounds the MSS to half the largest window seen) fills the
	// raw window only now and then; never exceeding it while reaching it
	// again and again is the same plateau.
	if f.AtRawWindow+f.FlightsAtRawWindow >= 3 {
		atRaw = true
	}
	flowText := func() string {
		s := fmt.Sprintf("%d data segments, %d bytes, %d retransmissions", f.DataSegments, f.Bytes, f.Retransmissions)
		if f.RTTms > 0 && f.FlightsPerRTT > 0 {
			s += fmt.Sprintf(", %.1f flights per round trip (RTT %.0f ms)", f.FlightsPerRTT, f.RTTms)
		}
		if f.Throughput > 0 {
			s += ", " + rate(f.Throughput)
		}
		return s
	}
	base := Finding{Conn: d.ref(c), Side: sideName(ri), Evidence: ev}
	switch {
	case enough && atRaw && fewRetrans(f.Retransmissions, fresh) &&
		scaledHere && uint64(rs.effMax) >= 4*max(perRTTBytes, 1):
		base.Kind, base.Severity = KindWindowPlateau, SeverityCritical
		base.Summary = fmt.Sprintf("%s sends at most %d bytes per round trip toward %s: its bytes in flight plateau at %s's raw window %d although %s's wscale %d makes that window %d bytes; %s",
			send, perRTTBytes, recv, recv, rs.rawMax, recv, cs.Shift, rs.effMax, flowText())
		base.Cause = fmt.Sprintf("%s reads %s's windows unscaled: %s's window-scale option (shift %d) was rewritten to 0 or stripped between this capture point and %s, the 2006 failure (a middlebox \"normalising\" TCP options)",
			send, recv, recv, cs.Shift, send)
		base.Fixes = rewriteFixes(recv, send)
	case enough && atRaw && fewRetrans(f.Retransmissions, fresh) && cs.Scale == ScaleAssumed &&
		cs.Shift >= 1 && uint64(rs.effMax) >= 4*max(perRTTBytes, 1):
		// Mid-stream with -assume-wscale: the plateau rule on the assumed
		// shift.
		base.Kind, base.Severity = KindWindowPlateau, SeverityCritical
		base.Summary = fmt.Sprintf("%s sends at most %d bytes per round trip toward %s: its bytes in flight plateau at %s's raw window %d, which the assumed wscale %d (the handshake is not in this capture) makes %d bytes; %s",
			send, perRTTBytes, recv, recv, rs.rawMax, cs.Shift, rs.effMax, flowText())
		base.Cause = fmt.Sprintf("if %s does scale by 2^%d as assumed, %s reads its windows unscaled: the window-scale option was rewritten or stripped on the way, the 2006 failure (a capture with the handshake confirms it)", recv, cs.Shift, send)
		base.Fixes = rewriteFixes(recv, send)
	case enough && atRaw && fewRetrans(f.Retransmissions, fresh) && cs.Scale == ScaleUnknown &&
		cs.SYNs == 0 && rs.rawMax > 0 && rs.rawMax < midStreamSmallRaw:
		// Mid-stream without an assumption: a sender that keeps exactly to
		// a tiny raw window. Unscaled, such a window is implausible for a
		// bulk receiver; scaled, the sender ignores the scale.
		base.Kind, base.Severity = KindWindowPlateau, SeverityWarning
		base.Summary = fmt.Sprintf("scale unknown (the handshake is not in this capture), peer honours the raw window: %s sends at most %d bytes per round trip toward %s, exactly %s's raw window of %d; %s",
			send, perRTTBytes, recv, recv, rs.rawMax, flowText())
		base.Cause = fmt.Sprintf("a raw window of %d bytes is implausible for an unscaled bulk receiver: %s probably scales its windows and %s reads them unscaled (the 2006 failure); rerun with -assume-wscale N (N the shift %s offers: 7 with current Linux defaults) or capture the handshake to confirm", rs.rawMax, recv, send, hostOf(recv))
		base.Fixes = rewriteFixes(recv, send)
	case enough && atRaw && fewRetrans(f.Retransmissions, fresh) && collapsed:
		base.Kind, base.Severity = KindWindowPlateau, SeverityCritical
		base.Summary = fmt.Sprintf("%s's window fell from %d in its %s to a raw %d right after the handshake (about 2^%d less) and %s's bytes in flight plateau there (at most %d per round trip); %s",
			recv, rs.synWin, synName(ri), rs.firstRaw, ev.ImpliedShift, send, perRTTBytes, flowText())
		base.Cause = fmt.Sprintf("%s scales its windows by about 2^%d, but its %s as seen here carries %s: a middlebox between %s and this capture point rewrote or stripped its window-scale option, so %s reads the windows unscaled, the 2006 failure",
			recv, ev.ImpliedShift, synName(ri), wscaleText(offered(cs)), recv, send)
		base.Fixes = rewriteFixes(recv, send)
	case !enough && scaledHere && int(rs.rawMax) < mssOf(c, ri) &&
		f.DataSegments+cd.side[ri].flow.DataSegments < uint64(d.cfg.MinDataSegments) &&
		(atRaw || !c.Finished()):
		// Only for thin connections (like the seed's five pasted lines)
		// whose capture stops before the data would tell, or whose few
		// data segments already sat at the raw window: a busy connection
		// or a short exchange that ended normally is not worth a finding.
		base.Kind, base.Severity = KindScaleExposure, SeverityInfo
		if atRaw {
			base.Severity = SeverityWarning
		}
		base.Summary = fmt.Sprintf("%s advertises raw windows of at most %d bytes, less than one %d-byte segment, relying on its wscale %d (%d bytes); %d data segments from %s are too few to tell whether %s honours the scale",
			recv, rs.rawMax, mssOf(c, ri), cs.Shift, rs.effMax, f.DataSegments, send, send)
		base.Cause = fmt.Sprintf("the 2006 failure's signature: if a middlebox rewrites %s's wscale %d to 0 or strips it on the way to %s, %s reads %d bytes as the whole window and sends one such flight per round trip. Harmless if the path is clean: confirm with a longer capture or one taken at %s",
			recv, cs.Shift, send, send, rs.rawMax, send)
		base.Fixes = rewriteFixes(recv, send)
		if base.Severity == SeverityInfo {
			// Nothing shows harm yet: a healthy host must not be told to
			// turn scaling off. The fixes apply only once it is confirmed.
			base.Fixes = []string{fmt.Sprintf("nothing to change while transfers from %s are fast; if they are slow, capture longer or at both ends (tcpwin diagnose FILE PEERFILE) to confirm, and only then:", send)}
			for _, x := range rewriteFixes(recv, send)[1:] {
				base.Fixes = append(base.Fixes, "if confirmed, "+x)
			}
		}
	case collapsed:
		base.Kind, base.Severity = KindScaleExposure, SeverityWarning
		base.Summary = fmt.Sprintf("%s's window fell from %d in its %s to a raw %d right after the handshake (about 2^%d less) although its %s here carries %s; %s",
			recv, rs.synWin, synName(ri), rs.firstRaw, ev.ImpliedShift, synName(ri), wscaleText(offered(cs)), flowText())
		base.Cause = fmt.Sprintf("%s probably scales its windows by 2^%d and a middlebox between it and this capture point rewrote or stripped the option, so %s reads them unscaled (the 2006 failure)", recv, ev.ImpliedShift, send)
		base.Fixes = rewriteFixes(recv, send)
	default:
		return nil
	}
	return []Finding{base}
}

// Zero-window stalls are reported by what they cost: the share of the
// sender's transfer time spent stalled. Below zeroInfoShare they are
// normal flow control (a receiver briefly behind, as on a busy host) and
// not reported; a WARNING needs zeroWarnShare of the time and at least
// zeroWarnStall in all (a few milliseconds of stalls in a 50 ms transfer
// between two namespaces is not a problem anyone could see).
const (
	zeroInfoShare = 0.01
	zeroWarnShare = 0.10
	zeroWarnStall = 100 * time.Millisecond
)

// zeroFinding reports side ri's zero-window advertisements when they cost
// throughput.
func (d *Diagnoser) zeroFinding(c *Conn, cd *connDiag, ri int) []Finding {
	rs := &cd.side[ri]
	recv, send := endpointName(c, ri), endpointName(c, 1-ri)
	ev := cd.evidence(c, ri)
	ev.Flow = cd.flowStats(1 - ri)
	ev.ZeroWindows, ev.Stalls = rs.zeroWins, rs.stalls
	ev.StallTotalMS, ev.StallMaxMS = ms(rs.stallSum), ms(rs.stallMax)
	sev := SeverityInfo
	var b strings.Builder
	fmt.Fprintf(&b, "%s advertised a zero window %d times: %s stalled %d times", recv, rs.zeroWins, send, rs.stalls)
	if rs.stallSum > 0 {
		fmt.Fprintf(&b, ", %.0f ms in total (longest %.0f ms)", ev.StallTotalMS, ev.StallMaxMS)
	}
	if dur := ev.Flow.DurationMS; dur > 0 {
		share := ev.StallTotalMS / dur
		if share < zeroInfoShare {
			return nil
		}
		if share >= zeroWarnShare && rs.stallSum >= zeroWarnStall {
			sev = SeverityWarning
		}
		fmt.Fprintf(&b, ": %.0f%% of the %.0f ms transfer, which would have been about %.0f%% faster without them", 100*share, dur, 100*share/(1-min(share, 0.99)))
	}
	return []Finding{{
		Kind: KindZeroWindow, Severity: sev, Conn: d.ref(c), Side: sideName(ri),
		Summary:  b.String(),
		Cause:    fmt.Sprintf("%s's receive buffer filled up: the application on %s read more slowly than %s sent; not a network or window-scaling fault", recv, recv, send),
		Fixes:    []string{fmt.Sprintf("make the application on %s read faster; a larger receive buffer (net.ipv4.tcp_rmem max on %s) only absorbs longer bursts", recv, hostOf(recv))},
		Evidence: ev,
	}}
}
