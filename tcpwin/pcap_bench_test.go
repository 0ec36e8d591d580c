package tcpwin

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// benchCapture returns the large benchmark capture, read into memory so
// that the benchmarks measure decoding, not the disk. It comes from
// scripts/gen-bench-capture.sh (TCPWIN_BENCH_PCAP overrides the default
// testdata/bench/big.pcap); without it the benchmarks skip.
func benchCapture(b *testing.B) []byte {
	b.Helper()
	p := os.Getenv("TCPWIN_BENCH_PCAP")
	if p == "" {
		p = filepath.Join("testdata", "bench", "big.pcap")
	}
	data, err := os.ReadFile(p)
	if err != nil {
		b.Skipf("no benchmark capture (%v): run scripts/gen-bench-capture.sh as root", err)
	}
	return data
}

// reportRate adds packets/s and allocations per packet.
func reportRate(b *testing.B, packets int, start time.Time) {
	el := time.Since(start).Seconds()
	if packets > 0 && el > 0 {
		b.ReportMetric(float64(packets)/el, "pkts/s")
		b.ReportMetric(el*1e9/float64(packets), "ns/pkt")
	}
}

// BenchmarkBareDLP is the reference: gopacket's pcapgo reader with
// ZeroCopyReadPacketData and a DecodingLayerParser for Ethernet (802.1Q),
// IPv4, IPv6 and TCP, touching the TCP window so nothing is optimised
// away. One op is one pass over the whole capture.
func BenchmarkBareDLP(b *testing.B) {
	data := benchCapture(b)
	var (
		eth     layers.Ethernet
		dot1q   layers.Dot1Q
		ip4     layers.IPv4
		ip6     layers.IPv6
		tcp     layers.TCP
		decoded []gopacket.LayerType
	)
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &dot1q, &ip4, &ip6, &tcp)
	parser.IgnoreUnsupported = true
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	packets, sum := 0, 0
	start := time.Now()
	for b.Loop() {
		r, err := pcapgo.NewReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		for {
			frame, _, err := r.ZeroCopyReadPacketData()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			packets++
			if err := parser.DecodeLayers(frame, &decoded); err != nil {
				continue
			}
			for _, l := range decoded {
				if l == layers.LayerTypeTCP {
					sum += int(tcp.Window)
				}
			}
		}
	}
	reportRate(b, packets, start)
	_ = sum
}

// BenchmarkSource is this package's reader and frame decoder over the same
// capture: every TCP segment with addresses, ports, flags, window, options
// and payload length.
func BenchmarkSource(b *testing.B) {
	data := benchCapture(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	packets, sum := 0, 0
	start := time.Now()
	for b.Loop() {
		src, err := NewReader(bytes.NewReader(data), "bench")
		if err != nil {
			b.Fatal(err)
		}
		for {
			s, err := src.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			packets++
			sum += int(s.Window) + len(s.Options)
		}
	}
	reportRate(b, packets, start)
	_ = sum
}
