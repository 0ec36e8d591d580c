package sysctl

import (
	"fmt"
	"math"
	"strings"
)

// Kind is the shape of a sysctl value.
type Kind int

// Value kinds.
const (
	KindUnknown Kind = iota // inferred from the current value
	KindInt                 // one integer
	KindBool                // 0 or 1
	KindInts                // a fixed-length vector of integers (tcp_rmem)
	KindString              // free text on one line (tcp_congestion_control)
)

func (k Kind) String() string {
	return [...]string{"unknown", "int", "bool", "int vector", "string"}[k]
}

// Spec is what the package knows about a key: its kind, arity and the
// range the kernel documents (Documentation/networking/ip-sysctl.rst and
// the proc handler's extra1/extra2 bounds).
type Spec struct {
	Kind     Kind
	Fields   int   // number of fields for KindInts
	Min, Max int64 // inclusive bounds for every field when Ranged
	Ranged   bool
	// WriteOnly keys cannot be read back (net.ipv4.route.flush).
	WriteOnly bool
	// Rounded keys are stored in clock ticks (jiffies), so the value read
	// back may differ from the value written by rounding (writing 1 to
	// neigh locktime, in 1/100 s, reads back 0 with HZ=250). A differing
	// integer read-back is accepted with a warning instead of being undone.
	Rounded bool
	// Check runs on the parsed fields after the range check; it returns
	// warnings (accepted but suspicious) or an error (refused).
	Check func(v []int64) (warnings []string, err error)
	Doc   string
}

const (
	intMax = math.MaxInt32
	intMin = math.MinInt32
)

func boolSpec(doc string) Spec { return Spec{Kind: KindBool, Min: 0, Max: 1, Ranged: true, Doc: doc} }
func rangeSpec(min, max int64, doc string) Spec {
	return Spec{Kind: KindInt, Min: min, Max: max, Ranged: true, Doc: doc}
}

func ticks(min int64, doc string) Spec {
	return Spec{Kind: KindInt, Min: min, Max: intMax, Ranged: true, Rounded: true, Doc: doc}
}

// memTriple is tcp_rmem/tcp_wmem: min, default, max; each >= 1 (extra1 =
// SYSCTL_ONE in net/ipv4/sysctl_net_ipv4.c). The kernel accepts
// min > default or default > max; we warn.
func memTriple(doc string) Spec {
	return Spec{Kind: KindInts, Fields: 3, Min: 1, Max: intMax, Ranged: true, Doc: doc,
		Check: func(v []int64) ([]string, error) {
			var w []string
			if v[0] > v[1] {
				w = append(w, fmt.Sprintf("min %d > default %d", v[0], v[1]))
			}
			if v[1] > v[2] {
				w = append(w, fmt.Sprintf("default %d > max %d", v[1], v[2]))
			}
			if v[0] > v[2] {
				w = append(w, fmt.Sprintf("min %d > max %d", v[0], v[2]))
			}
			return w, nil
		}}
}

// knowledge holds the keys the package validates precisely. Other keys are
// validated by shape: the arity and integer-ness of their current value.
var knowledge = map[string]Spec{
	// The seed's fixes and their neighbours (net/ipv4/sysctl_net_ipv4.c).
	"net.ipv4.tcp_window_scaling":            boolSpec("RFC 7323 window scaling"),
	"net.ipv4.tcp_timestamps":                rangeSpec(0, 2, "RFC 7323 timestamps: 0 off, 1 random offset, 2 no offset"),
	"net.ipv4.tcp_sack":                      boolSpec("selective acknowledgements"),
	"net.ipv4.tcp_dsack":                     boolSpec("duplicate SACK"),
	"net.ipv4.tcp_fack":                      boolSpec("obsolete, ignored"),
	"net.ipv4.tcp_rmem":                      memTriple("receive buffer min, default, max (bytes)"),
	"net.ipv4.tcp_wmem":                      memTriple("send buffer min, default, max (bytes)"),
	"net.ipv4.tcp_adv_win_scale":             rangeSpec(-31, 31, "overhead share of the receive buffer"),
	"net.ipv4.tcp_app_win":                   rangeSpec(0, 31, "bytes reserved for application buffer (2^n share)"),
	"net.ipv4.tcp_moderate_rcvbuf":           boolSpec("receive buffer auto-tuning"),
	"net.ipv4.tcp_no_metrics_save":           boolSpec("do not cache metrics on close"),
	"net.ipv4.tcp_slow_start_after_idle":     boolSpec("reset cwnd after idle"),
	"net.ipv4.tcp_ecn":                       rangeSpec(0, 5, "explicit congestion notification mode"),
	"net.ipv4.tcp_ecn_fallback":              boolSpec("ECN fallback"),
	"net.ipv4.tcp_mtu_probing":               rangeSpec(0, 2, "packetization-layer path MTU discovery"),
	"net.ipv4.tcp_syncookies":                rangeSpec(0, 2, "SYN cookies"),
	"net.ipv4.tcp_tw_reuse":                  rangeSpec(0, 2, "reuse TIME-WAIT sockets"),
	"net.ipv4.tcp_fin_timeout":               rangeSpec(0, intMax, "FIN-WAIT-2 timeout (s)"),
	"net.ipv4.tcp_keepalive_time":            rangeSpec(1, intMax, "keepalive idle time (s)"),
	"net.ipv4.tcp_keepalive_intvl":           rangeSpec(1, intMax, "keepalive probe interval (s)"),
	"net.ipv4.tcp_keepalive_probes":          rangeSpec(1, intMax, "keepalive probes"),
	"net.ipv4.tcp_syn_retries":               rangeSpec(1, 127, "SYN retransmissions"),
	"net.ipv4.tcp_synack_retries":            rangeSpec(0, intMax, "SYN-ACK retransmissions"),
	"net.ipv4.tcp_retries1":                  rangeSpec(0, 255, "retries before reporting to IP"),
	"net.ipv4.tcp_retries2":                  rangeSpec(0, intMax, "retries before killing the connection"),
	"net.ipv4.tcp_max_syn_backlog":           rangeSpec(0, intMax, "SYN queue length"),
	"net.ipv4.tcp_max_tw_buckets":            rangeSpec(0, intMax, "TIME-WAIT buckets"),
	"net.ipv4.tcp_notsent_lowat":             rangeSpec(0, math.MaxUint32, "unsent bytes low-water mark"),
	"net.ipv4.tcp_min_snd_mss":               rangeSpec(48, 65535, "minimum send MSS"),
	"net.ipv4.tcp_base_mss":                  rangeSpec(0, intMax, "initial MSS for MTU probing"),
	"net.ipv4.tcp_frto":                      rangeSpec(0, 2, "F-RTO"),
	"net.ipv4.tcp_reordering":                rangeSpec(0, intMax, "initial reordering level"),
	"net.ipv4.tcp_rfc1337":                   boolSpec("RFC 1337 TIME-WAIT assassination hazards"),
	"net.ipv4.tcp_autocorking":               boolSpec("autocorking"),
	"net.ipv4.tcp_fastopen":                  rangeSpec(0, intMax, "TCP Fast Open flags"),
	"net.ipv4.tcp_congestion_control":        {Kind: KindString, Doc: "congestion control algorithm"},
	"net.ipv4.tcp_workaround_signed_windows": boolSpec("assume no window scaling if the peer never sent it"),
	"net.ipv4.ip_forward":                    boolSpec("IPv4 forwarding"),
	"net.ipv4.ip_default_ttl":                rangeSpec(1, 255, "default TTL"),
	"net.ipv4.ip_no_pmtu_disc":               rangeSpec(0, 3, "path MTU discovery mode"),
	"net.ipv4.ip_local_port_range": {Kind: KindInts, Fields: 2, Min: 1, Max: 65535, Ranged: true,
		Doc: "ephemeral port range (low high)",
		Check: func(v []int64) ([]string, error) {
			if v[0] > v[1] {
				return nil, fmt.Errorf("low %d > high %d (the kernel refuses it)", v[0], v[1])
			}
			return nil, nil
		}},
	"net.ipv4.route.flush": {Kind: KindInt, Min: intMin, Max: intMax, Ranged: true, WriteOnly: true, Doc: "flush the routing cache"},
	// net/core/sysctl_net_core.c.
	"net.core.rmem_max":           rangeSpec(0, intMax, "maximum receive buffer (bytes; kernel floor SOCK_MIN_RCVBUF)"),
	"net.core.wmem_max":           rangeSpec(0, intMax, "maximum send buffer (bytes; kernel floor SOCK_MIN_SNDBUF)"),
	"net.core.rmem_default":       rangeSpec(0, intMax, "default receive buffer (bytes)"),
	"net.core.wmem_default":       rangeSpec(0, intMax, "default send buffer (bytes)"),
	"net.core.optmem_max":         rangeSpec(0, intMax, "ancillary buffer size"),
	"net.core.somaxconn":          rangeSpec(0, intMax, "listen backlog limit"),
	"net.core.netdev_max_backlog": rangeSpec(0, intMax, "input queue length"),
	"net.core.netdev_budget":      rangeSpec(0, intMax, "NAPI budget"),
	"net.core.default_qdisc":      {Kind: KindString, Doc: "default queueing discipline"},
	"net.core.busy_poll":          rangeSpec(0, intMax, "busy poll time (us)"),
	"net.core.busy_read":          rangeSpec(0, intMax, "busy read time (us)"),
	"net.core.txrehash":           boolSpec("rehash on negative routing advice"),
	"net.core.tstamp_allow_data":  boolSpec("allow timestamping with payload"),
	"net.core.bpf_jit_enable":     rangeSpec(0, 2, "BPF JIT"),
}

// patternKnowledge is matched when no exact entry exists.
var patternKnowledge = []struct {
	pattern Key
	spec    Spec
}{
	{MustParsePattern("net.ipv4.conf.*.rp_filter"), rangeSpec(0, 2, "reverse path filter")},
	{MustParsePattern("net.ipv4.conf.*.forwarding"), boolSpec("forwarding on the interface")},
	{MustParsePattern("net.ipv4.conf.*.accept_redirects"), boolSpec("accept ICMP redirects")},
	{MustParsePattern("net.ipv4.conf.*.send_redirects"), boolSpec("send ICMP redirects")},
	{MustParsePattern("net.ipv4.conf.*.arp_ignore"), rangeSpec(0, 8, "ARP reply mode")},
	{MustParsePattern("net.ipv4.conf.*.arp_announce"), rangeSpec(0, 2, "ARP source address mode")},
	{MustParsePattern("net.ipv6.conf.*.disable_ipv6"), boolSpec("disable IPv6")},
	{MustParsePattern("net.*.neigh.*.anycast_delay"), ticks(0, "anycast reply delay (1/100 s)")},
	{MustParsePattern("net.*.neigh.*.proxy_delay"), ticks(0, "proxy reply delay (1/100 s)")},
	{MustParsePattern("net.*.neigh.*.locktime"), ticks(0, "minimum entry lifetime (1/100 s)")},
	{MustParsePattern("net.*.neigh.*.base_reachable_time_ms"), ticks(0, "reachable time base (ms)")},
	{MustParsePattern("net.*.neigh.*.retrans_time_ms"), ticks(0, "retransmit time (ms)")},
	{MustParsePattern("net.*.neigh.*.interval_probe_time_ms"), ticks(1, "probe interval (ms)")},
	{MustParsePattern("net.*.neigh.*.base_reachable_time"), ticks(0, "deprecated: reachable time base (s)")},
	{MustParsePattern("net.*.neigh.*.retrans_time"), ticks(0, "deprecated: retransmit time (1/100 s)")},
	{MustParsePattern("net.ipv6.conf.*.forwarding"), boolSpec("IPv6 forwarding")},
}

// MustParsePattern is ParsePattern for constant patterns; it panics on error.
func MustParsePattern(s string) Key {
	k, err := ParsePattern(s)
	if err != nil {
		panic(err)
	}
	return k
}

// Lookup returns the package's knowledge of key k.
func Lookup(k Key) (Spec, bool) {
	name := k.String()
	if s, ok := knowledge[name]; ok {
		return s, true
	}
	if strings.HasPrefix(name, "net.") {
		for _, p := range patternKnowledge {
			if k.Match(p.pattern) {
				return p.spec, true
			}
		}
	}
	return Spec{}, false
}
