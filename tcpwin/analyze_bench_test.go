package tcpwin

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// analyzeBenchCapture returns the benchmark capture's bytes and name: the
// large real capture of scripts/gen-bench-capture.sh (bulk transfers
// between two network namespaces; $TCPWIN_BENCH_PCAP, default
// testdata/bench/big.pcap), or, when it is absent, a synthetic
// Ethernet/IPv4 capture so the benchmark always runs.
func analyzeBenchCapture(b *testing.B) ([]byte, string) {
	b.Helper()
	p := os.Getenv("TCPWIN_BENCH_PCAP")
	if p == "" {
		p = filepath.Join("testdata", "bench", "big.pcap")
	}
	if data, err := os.ReadFile(p); err == nil {
		return data, p
	}
	return synthCapture(b, 64, 2000), "synthetic"
}

// synthCapture writes an Ethernet pcap with conns interleaved connections,
// each a handshake with window scaling and then pkts data/ACK segments
// carrying timestamps, like a Linux bulk transfer.
func synthCapture(b testing.TB, conns, pkts int) []byte {
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 1448)
	sb := gopacket.NewSerializeBuffer()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tsOpt := layers.TCPOption{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: make([]byte, 8)}
	write := func(c int, fromCli bool, syn, ack bool, win uint16, data []byte, opts []layers.TCPOption) {
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
		tcp := &layers.TCP{SrcPort: layers.TCPPort(30000 + c), DstPort: 5201, SYN: syn, ACK: ack, Window: win, Options: opts, Seq: 1, Ack: 1}
		if !fromCli {
			ip.SrcIP, ip.DstIP = ip.DstIP, ip.SrcIP
			tcp.SrcPort, tcp.DstPort = tcp.DstPort, tcp.SrcPort
		}
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			b.Fatal(err)
		}
		if err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(data)); err != nil {
			b.Fatal(err)
		}
		now = now.Add(10 * time.Microsecond)
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: now, CaptureLength: len(sb.Bytes()), Length: len(sb.Bytes())}, sb.Bytes()); err != nil {
			b.Fatal(err)
		}
	}
	synOpts := func(shift byte) []layers.TCPOption {
		return []layers.TCPOption{
			{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{5, 180}},
			{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2},
			tsOpt,
			{OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{shift}},
		}
	}
	for c := 0; c < conns; c++ {
		write(c, true, true, false, 64240, nil, synOpts(10))
		write(c, false, true, true, 65160, nil, synOpts(7))
		write(c, true, false, true, 502, nil, []layers.TCPOption{{OptionType: layers.TCPOptionKindNop}, {OptionType: layers.TCPOptionKindNop}, tsOpt})
	}
	nopts := []layers.TCPOption{{OptionType: layers.TCPOptionKindNop}, {OptionType: layers.TCPOptionKindNop}, tsOpt}
	for i := 0; i < pkts; i++ {
		for c := 0; c < conns; c++ {
			if i%2 == 0 {
				write(c, true, false, true, 502, payload, nopts)
			} else {
				write(c, false, false, true, 8000, nil, nopts)
			}
		}
	}
	return buf.Bytes()
}

// reportPerPacket adds packets/s (wall) and cpu-ns/pkt (CPU time) metrics
// for n packets since start (wall) and cpu0 (CPU time).
func reportPerPacket(b *testing.B, n int, cpu0 time.Duration) {
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "packets/s")
	if c := cpuTime() - cpu0; c > 0 && n > 0 {
		b.ReportMetric(float64(c.Nanoseconds())/float64(n), "cpu-ns/pkt")
	}
}

// BenchmarkAnalyze measures the full analysis (capture decoding, option
// parsing, connection tracking, statistics) per packet over a capture held
// in memory; one op is one TCP segment. Compare with the bare gopacket
// DecodingLayerParser loop over the same file in the same run.
func BenchmarkAnalyze(b *testing.B) {
	data, name := analyzeBenchCapture(b)
	b.Logf("capture %s, %d bytes", name, len(data))
	b.SetBytes(0)
	b.ReportAllocs()
	var a *Analyzer
	start := func() {
		src, err := NewReader(bytes.NewReader(data), name)
		if err != nil {
			b.Fatal(err)
		}
		a = NewAnalyzer(src, &Config{OnClose: func(*Conn) {}}) // bounded: no kept summaries
	}
	start()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if !a.Next() {
			if err := a.Err(); err != nil {
				b.Fatal(err)
			}
			start()
			if !a.Next() {
				b.Fatal("no TCP segments in the capture")
			}
		}
	}
	reportPerPacket(b, b.N, cpu0)
}

// BenchmarkObserve measures the tracker alone on pre-built segments.
func BenchmarkObserve(b *testing.B) {
	tr := NewTracker(nil)
	s := &trkSim{}
	tr.Observe(s.seg(true, FlagSYN, 64240, 0, trkSYNOpts(7)))
	tr.Observe(s.seg(false, FlagSYN|FlagACK, 65160, 0, trkSYNOpts(2)))
	ts := []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}
	segs := [2]*Segment{s.seg(true, FlagACK, 502, 1448, ts), s.seg(false, FlagACK, 8000, 0, ts)}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		tr.Observe(segs[i&1])
	}
	reportPerPacket(b, b.N, cpu0)
}

// BenchmarkParseOptions measures option decoding of a Linux SYN.
func BenchmarkParseOptions(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := ParseOptions(optLinuxSYN); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAnalyzeBaseline is the reference for BenchmarkAnalyze: a bare
// gopacket zero-copy loop (pcapgo reader, DecodingLayerParser over
// Ethernet/VLAN/IPv4/IPv6/TCP) over the same capture, doing no analysis.
// One op is one packet.
func BenchmarkAnalyzeBaseline(b *testing.B) {
	data, name := analyzeBenchCapture(b)
	b.Logf("capture %s, %d bytes", name, len(data))
	b.ReportAllocs()
	var (
		eth     layers.Ethernet
		dot1q   layers.Dot1Q
		ip4     layers.IPv4
		ip6     layers.IPv6
		tcp     layers.TCP
		payload gopacket.Payload
		decoded = make([]gopacket.LayerType, 0, 8)
	)
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &dot1q, &ip4, &ip6, &tcp, &payload)
	parser.IgnoreUnsupported = true
	var r *pcapgo.Reader
	start := func() {
		var err error
		r, err = pcapgo.NewReader(bytes.NewReader(data))
		if err != nil {
			b.Skipf("baseline reads classic pcap only: %v", err)
		}
	}
	start()
	b.ResetTimer()
	cpu0 := cpuTime()
	sink := 0
	for i := 0; i < b.N; i++ {
		frame, _, err := r.ZeroCopyReadPacketData()
		if err == io.EOF {
			start()
			frame, _, err = r.ZeroCopyReadPacketData()
		}
		if err != nil {
			b.Fatal(err)
		}
		_ = parser.DecodeLayers(frame, &decoded)
		if len(decoded) >= 3 {
			sink += int(tcp.Window)
		}
	}
	reportPerPacket(b, b.N, cpu0)
	_ = sink
}

// BenchmarkAnalyzeVsBaseline runs the full analysis and the bare gopacket
// loop (as in BenchmarkAnalyzeBaseline) over the same capture, alternating
// in chunks of 16384 packets so that both see the same machine load, and
// reports each one's packets/s and the ratio analysis/baseline (target >=
// 0.8), in wall time and in CPU time. One op is one pass over the capture
// with each.
func BenchmarkAnalyzeVsBaseline(b *testing.B) {
	data, name := analyzeBenchCapture(b)
	b.Logf("capture %s, %d bytes", name, len(data))
	var (
		eth     layers.Ethernet
		dot1q   layers.Dot1Q
		ip4     layers.IPv4
		ip6     layers.IPv6
		tcp     layers.TCP
		payload gopacket.Payload
		decoded = make([]gopacket.LayerType, 0, 8)
	)
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &dot1q, &ip4, &ip6, &tcp, &payload)
	parser.IgnoreUnsupported = true
	const chunk = 16384
	var wallA, wallB, cpuA, cpuB time.Duration
	var pktsA, pktsB int
	sink := 0
	b.ReportAllocs()
	b.ResetTimer()
	runtime.LockOSThread() // threadCPUTime measures this goroutine
	defer runtime.UnlockOSThread()
	for i := 0; i < b.N; i++ {
		src, err := NewReader(bytes.NewReader(data), name)
		if err != nil {
			b.Fatal(err)
		}
		a := NewAnalyzer(src, &Config{OnClose: func(*Conn) {}})
		r, err := pcapgo.NewReader(bytes.NewReader(data))
		if err != nil {
			b.Skipf("baseline reads classic pcap only: %v", err)
		}
		doneA, doneB := false, false
		for !doneA || !doneB {
			if !doneA {
				t0, c0 := time.Now(), threadCPUTime()
				for n := 0; n < chunk; n++ {
					if !a.Next() {
						doneA = true
						break
					}
					pktsA++
				}
				wallA += time.Since(t0)
				cpuA += threadCPUTime() - c0
			}
			if !doneB {
				t0, c0 := time.Now(), threadCPUTime()
				for n := 0; n < chunk; n++ {
					frame, _, err := r.ZeroCopyReadPacketData()
					if err != nil {
						doneB = true
						break
					}
					_ = parser.DecodeLayers(frame, &decoded)
					if len(decoded) >= 3 {
						sink += int(tcp.Window)
					}
					pktsB++
				}
				wallB += time.Since(t0)
				cpuB += threadCPUTime() - c0
			}
		}
		if err := a.Err(); err != nil {
			b.Fatal(err)
		}
	}
	rate := func(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }
	b.ReportMetric(rate(pktsA, wallA), "analyze-pkts/s")
	b.ReportMetric(rate(pktsB, wallB), "baseline-pkts/s")
	b.ReportMetric(rate(pktsA, wallA)/rate(pktsB, wallB), "ratio-wall")
	if cpuA > 0 && cpuB > 0 {
		b.ReportMetric(rate(pktsA, cpuA)/rate(pktsB, cpuB), "ratio-cpu")
	}
	_ = sink
}
