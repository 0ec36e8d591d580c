package promwin_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/bulletproof-labs/wsvcb/tcpwin"
	"github.com/bulletproof-labs/wsvcb/tcpwin/promwin"
	"github.com/prometheus/client_golang/prometheus"
)

// gather returns every sample as "name{label="value",...}" -> value;
// histograms as name_count and name_bucket{...,le="x"}.
func gather(t *testing.T, c prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			name := func(suffix string, extra ...string) string {
				all := append(append([]string{}, ls...), extra...)
				sort.Strings(all)
				if len(all) == 0 {
					return mf.GetName() + suffix
				}
				return mf.GetName() + suffix + "{" + strings.Join(all, ",") + "}"
			}
			switch {
			case m.Counter != nil:
				out[name("")] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[name("")] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				out[name("_count")] = float64(m.GetHistogram().GetSampleCount())
				for _, b := range m.GetHistogram().GetBucket() {
					out[name("_bucket", fmt.Sprintf("le=%q", fmt.Sprint(b.GetUpperBound())))] = float64(b.GetCumulativeCount())
				}
			}
		}
	}
	return out
}

func monitorFile(t *testing.T, names ...string) *promwin.Monitor {
	t.Helper()
	m := promwin.NewMonitor(nil)
	for _, n := range names {
		src, err := tcpwin.Open(filepath.Join("..", "testdata", "lab", n))
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Run(context.Background(), src); err != nil {
			t.Fatal(err)
		}
		src.Close()
	}
	return m
}

func TestMonitorLabCaptures(t *testing.T) {
	m := monitorFile(t, "healthy-client.pcap", "rewritten-client.pcap", "strip-client-client.pcap", "strip-both-server.pcap")
	got := gather(t, m)
	want := map[string]float64{
		`tcpwin_connections_total`:                                           4,
		`tcpwin_live_connections`:                                            0,
		`tcpwin_handshakes_total{scaling="on"}`:                              2,
		`tcpwin_handshakes_total{scaling="one_sided"}`:                       1,
		`tcpwin_handshakes_total{scaling="off"}`:                             1,
		`tcpwin_wscale_shift_count{side="initiator"}`:                        2,
		`tcpwin_wscale_shift_bucket{le="9",side="initiator"}`:                0,
		`tcpwin_wscale_shift_bucket{le="10",side="initiator"}`:               2,
		`tcpwin_syn_without_wscale_total{side="responder"}`:                  2,
		`tcpwin_syn_without_wscale_total{side="initiator"}`:                  1,
		`tcpwin_findings_total{kind="window-plateau",severity="critical"}`:   1,
		`tcpwin_findings_total{kind="one-sided-scaling",severity="warning"}`: 1,
		`tcpwin_findings_total{kind="scaling-off",severity="info"}`:          1,
		`tcpwin_suspected_wscale_rewrites_total`:                             1,
		`tcpwin_evictions_total{reason="lru"}`:                               0,
		`tcpwin_evictions_total{reason="idle"}`:                              0,
		`tcpwin_conn_max_window_bytes_count{side="initiator"}`:               4,
		`tcpwin_zero_windows_total`:                                          0,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	if got["tcpwin_segments_total"] < 700 {
		t.Errorf("segments %v", got["tcpwin_segments_total"])
	}
	if _, ok := got["tcpwin_capture_dropped_total"]; ok {
		t.Error("capture counters without CaptureStats")
	}
}

func TestMonitorEvictionsAndCapture(t *testing.T) {
	m := promwin.NewMonitor(&promwin.Options{
		Tracker:      &tcpwin.Config{MaxConns: 1},
		CaptureStats: func() (uint64, uint64) { return 10, 3 },
	})
	for _, n := range []string{"healthy-client.pcap", "rewritten-client.pcap"} {
		src, err := tcpwin.Open(filepath.Join("..", "testdata", "lab", n))
		if err != nil {
			t.Fatal(err)
		}
		for {
			seg, err := src.Next()
			if err != nil {
				break
			}
			m.Observe(seg)
		}
		src.Close()
	}
	got := gather(t, m)
	if got[`tcpwin_evictions_total{reason="lru"}`] != 1 || got["tcpwin_live_connections"] != 1 ||
		got["tcpwin_capture_received_total"] != 10 || got["tcpwin_capture_dropped_total"] != 3 {
		t.Errorf("metrics %v", got)
	}
	m.Flush()
	if got := gather(t, m); got["tcpwin_live_connections"] != 0 || got[`tcpwin_findings_total{kind="window-plateau",severity="critical"}`] != 1 {
		t.Errorf("after flush %v", got)
	}
}

func TestMonitorPairFinding(t *testing.T) {
	m := promwin.NewMonitor(nil)
	m.ObserveFinding(tcpwin.Finding{Kind: tcpwin.KindSYNOptionChanged, Severity: tcpwin.SeverityCritical, Evidence: tcpwin.Evidence{Option: "wscale"}})
	m.ObserveFinding(tcpwin.Finding{Kind: tcpwin.KindSYNOptionChanged, Severity: tcpwin.SeverityInfo, Evidence: tcpwin.Evidence{Option: "mss"}})
	got := gather(t, m)
	if got["tcpwin_suspected_wscale_rewrites_total"] != 1 || got[`tcpwin_findings_total{kind="syn-option-changed",severity="info"}`] != 1 {
		t.Errorf("%v", got)
	}
}
