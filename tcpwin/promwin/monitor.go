package promwin

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/bulletproof-labs/wsvcb/tcpwin"
	"github.com/prometheus/client_golang/prometheus"
)

const namespace = "tcpwin"

// Options configure a Monitor. The zero value (or nil) gives defaults.
type Options struct {
	// Tracker bounds the connection table (OnClose and KeepClosed are
	// managed by the Monitor). Nil: tcpwin's defaults.
	Tracker *tcpwin.Config
	// Diagnose tunes the Diagnoser.
	Diagnose *tcpwin.DiagnoseConfig
	// CaptureStats, when set, is called at every scrape for a live
	// capture's kernel counters (see tcpwin/live.Source.Stats).
	CaptureStats func() (received, dropped uint64)
	// OnFinding, when set, is called with every finding (under the
	// Monitor's lock: do not call back into the Monitor).
	OnFinding func(tcpwin.Finding)
}

// Monitor tracks connections and diagnoses them, counting what it sees in
// Prometheus metrics. It is safe for concurrent use: Observe and Run may
// run while the registry scrapes.
type Monitor struct {
	opts Options

	mu   sync.Mutex
	tr   *tcpwin.Tracker
	diag *tcpwin.Diagnoser
	done map[uint64]bool

	segments    prometheus.Counter
	handshakes  *prometheus.CounterVec
	shift       *prometheus.HistogramVec
	noWScale    *prometheus.CounterVec
	findings    *prometheus.CounterVec
	rewrites    prometheus.Counter
	maxWindow   *prometheus.HistogramVec
	zeroWindows prometheus.Counter

	connsDesc, liveDesc, evictDesc, recvDesc, dropDesc *prometheus.Desc
}

// NewMonitor returns a Monitor; register it with a prometheus.Registerer.
func NewMonitor(opts *Options) *Monitor {
	m := &Monitor{done: map[uint64]bool{}}
	if opts != nil {
		m.opts = *opts
	}
	m.segments = prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "segments_total",
		Help: "TCP segments observed."})
	m.handshakes = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "handshakes_total",
		Help: "Handshakes seen (both SYNs), by window scaling: on, off (neither SYN offered it), one_sided (only one did)."}, []string{"scaling"})
	m.shift = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "wscale_shift",
		Help:    "Negotiated window-scale shift counts (RFC 7323) of connections with scaling on, by side.",
		Buckets: prometheus.LinearBuckets(0, 1, 15)}, []string{"side"})
	m.noWScale = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "syn_without_wscale_total",
		Help: "SYN segments of completed handshakes without the window-scale option, by side."}, []string{"side"})
	m.findings = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "findings_total",
		Help: "Window-scaling diagnoses, by kind and severity."}, []string{"kind", "severity"})
	m.rewrites = prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "suspected_wscale_rewrites_total",
		Help: "Connections where a middlebox probably rewrote or stripped the window-scale option (window plateaus at the raw window, wscale changed between captures)."})
	m.maxWindow = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "conn_max_window_bytes",
		Help:    "Largest effective (scaled) window each connection advertised, by side, observed when the connection ends.",
		Buckets: prometheus.ExponentialBuckets(1024, 4, 11)}, []string{"side"})
	m.zeroWindows = prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "zero_windows_total",
		Help: "Zero-window advertisements on ACK segments."})
	m.connsDesc = prometheus.NewDesc(namespace+"_connections_total", "Connections tracked.", nil, nil)
	m.liveDesc = prometheus.NewDesc(namespace+"_live_connections", "Connections currently tracked.", nil, nil)
	m.evictDesc = prometheus.NewDesc(namespace+"_evictions_total", "Connections evicted from the tracker, by reason: lru (table full), idle.", []string{"reason"}, nil)
	m.recvDesc = prometheus.NewDesc(namespace+"_capture_received_total", "Frames the kernel passed to the capture socket (drops included).", nil, nil)
	m.dropDesc = prometheus.NewDesc(namespace+"_capture_dropped_total", "Frames the kernel dropped because the capture socket's buffer was full.", nil, nil)

	tc := tcpwin.Config{}
	if m.opts.Tracker != nil {
		tc = *m.opts.Tracker
	}
	tc.KeepClosed = false
	tc.OnClose = m.closed
	m.tr = tcpwin.NewTracker(&tc)
	m.diag = tcpwin.NewDiagnoser(m.opts.Diagnose)
	return m
}

func sideLabel(i int) string {
	if i == 0 {
		return "initiator"
	}
	return "responder"
}

// Observe analyses one segment.
func (m *Monitor) Observe(seg *tcpwin.Segment) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.segments.Inc()
	r := m.tr.Observe(seg)
	c := r.Conn
	if seg.Flags.Has(tcpwin.FlagACK) && !seg.Flags.Has(tcpwin.FlagRST) && seg.Window == 0 {
		m.zeroWindows.Inc()
	}
	if m.done[c.ID] {
		return
	}
	m.report(m.diag.Observe(r))
	if seg.Flags.Has(tcpwin.FlagSYN) && c.Handshake() && c.Side[r.Dir].SYNs == 1 {
		m.handshake(c)
	}
	if c.Finished() {
		m.done[c.ID] = true
		m.finish(c)
	}
}

func (m *Monitor) handshake(c *tcpwin.Conn) {
	a, b := c.Side[0].SYN.Has(tcpwin.HasWindowScale), c.Side[1].SYN.Has(tcpwin.HasWindowScale)
	switch {
	case a && b:
		m.handshakes.WithLabelValues("on").Inc()
		for i := range c.Side {
			m.shift.WithLabelValues(sideLabel(i)).Observe(float64(c.Side[i].Shift))
		}
	case !a && !b:
		m.handshakes.WithLabelValues("off").Inc()
	default:
		m.handshakes.WithLabelValues("one_sided").Inc()
	}
	for i, ok := range []bool{a, b} {
		if !ok {
			m.noWScale.WithLabelValues(sideLabel(i)).Inc()
		}
	}
}

// finish diagnoses a connection that ended or left the tracker.
func (m *Monitor) finish(c *tcpwin.Conn) {
	for i := range c.Side {
		if w := c.Side[i].Stats.Win; w.N > 0 {
			m.maxWindow.WithLabelValues(sideLabel(i)).Observe(float64(w.Max))
		}
	}
	m.report(m.diag.Close(c))
}

// closed is the tracker's OnClose (called with m.mu held).
func (m *Monitor) closed(c *tcpwin.Conn) {
	if !m.done[c.ID] {
		m.finish(c)
	}
	delete(m.done, c.ID)
}

func (m *Monitor) report(fs []tcpwin.Finding) {
	for _, f := range fs {
		m.ObserveFinding(f)
		if m.opts.OnFinding != nil {
			m.opts.OnFinding(f)
		}
	}
}

// ObserveFinding counts a finding made elsewhere (for example by
// tcpwin.DiagnosePair on two captures).
func (m *Monitor) ObserveFinding(f tcpwin.Finding) {
	m.findings.WithLabelValues(string(f.Kind), f.Severity.String()).Inc()
	if f.Kind == tcpwin.KindWindowPlateau || (f.Kind == tcpwin.KindSYNOptionChanged && f.Evidence.Option == "wscale") {
		m.rewrites.Inc()
	}
}

// Flush ends every tracked connection, diagnosing it (call it at the end
// of a replayed capture).
func (m *Monitor) Flush() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tr.Flush()
}

// Run observes every segment of src until its end (io.EOF, then Flush) or
// ctx is done, skipping malformed frames. It returns src's error, or ctx's.
func (m *Monitor) Run(ctx context.Context, src tcpwin.Source) error {
	for n := 0; ; n++ {
		if n&255 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		seg, err := src.Next()
		switch {
		case errors.Is(err, tcpwin.ErrBadFrame):
			continue
		case errors.Is(err, io.EOF):
			m.Flush()
			return nil
		case err != nil:
			return err
		}
		m.Observe(seg)
	}
}

// Describe implements prometheus.Collector.
func (m *Monitor) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.collectors() {
		c.Describe(ch)
	}
	for _, d := range []*prometheus.Desc{m.connsDesc, m.liveDesc, m.evictDesc} {
		ch <- d
	}
	if m.opts.CaptureStats != nil {
		ch <- m.recvDesc
		ch <- m.dropDesc
	}
}

// Collect implements prometheus.Collector.
func (m *Monitor) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.collectors() {
		c.Collect(ch)
	}
	m.mu.Lock()
	st := m.tr.Stats()
	m.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(m.connsDesc, prometheus.CounterValue, float64(st.Conns))
	ch <- prometheus.MustNewConstMetric(m.liveDesc, prometheus.GaugeValue, float64(st.Live))
	ch <- prometheus.MustNewConstMetric(m.evictDesc, prometheus.CounterValue, float64(st.Evicted), "lru")
	ch <- prometheus.MustNewConstMetric(m.evictDesc, prometheus.CounterValue, float64(st.Expired), "idle")
	if m.opts.CaptureStats != nil {
		recv, drop := m.opts.CaptureStats()
		ch <- prometheus.MustNewConstMetric(m.recvDesc, prometheus.CounterValue, float64(recv))
		ch <- prometheus.MustNewConstMetric(m.dropDesc, prometheus.CounterValue, float64(drop))
	}
}

func (m *Monitor) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.segments, m.handshakes, m.shift, m.noWScale, m.findings, m.rewrites, m.maxWindow, m.zeroWindows}
}
