// Package promwin exports TCP window-scaling observations as Prometheus
// metrics, for any program: a Monitor runs segments (from a capture file,
// tcpwin/live or any tcpwin.Source) through a tcpwin.Tracker and a
// tcpwin.Diagnoser and implements prometheus.Collector.
//
// Metrics (all prefixed tcpwin_):
//
//	segments_total                         TCP segments observed
//	connections_total                      connections tracked
//	live_connections                       connections currently tracked
//	handshakes_total{scaling}              completed handshakes: on, off, one_sided
//	wscale_shift{side}                     histogram of negotiated shifts (scaling on), side initiator|responder
//	syn_without_wscale_total{side}         SYNs without the window-scale option
//	findings_total{kind,severity}          diagnoses (see tcpwin.Kind)
//	suspected_wscale_rewrites_total        window plateaus and wscale changes: a middlebox rewriting or stripping the option
//	conn_max_window_bytes{side}            histogram of each connection's largest effective window
//	zero_windows_total                     zero-window advertisements
//	evictions_total{reason}                connections evicted: lru, idle
//	capture_received_total, capture_dropped_total   kernel counters of a live capture (Options.CaptureStats)
//
// It is a separate package so that tcpwin does not depend on the Prometheus
// client.
package promwin
