package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/bulletproof-labs/wsvcb/internal/testenv"
	"github.com/bulletproof-labs/wsvcb/tcpwin"
)

// tcptraceConn is one connection of `tcptrace -l` output.
type tcptraceConn struct {
	a, b   string
	stats  [2]map[string]string // a->b, b->a
	merged bool                 // a mid-stream continuation tcptrace split off was merged in
}

// mergeSplits folds a connection without SYNs into an earlier one with the
// same endpoints: tcptrace 6.6.7 splits arkime-modbus.pcap's
// 10.0.0.57:2578 connection at a 255-second pause (frame 40) although the
// sequence numbers continue; tcpwin keeps one connection. Packet, byte,
// zero-window counts are summed and maxima combined; minima and averages
// are not compared for merged connections. It returns how many it merged.
func mergeSplits(conns []tcptraceConn, complete []string) ([]tcptraceConn, int) {
	var out []tcptraceConn
	n := 0
next:
	for i, c := range conns {
		if !strings.Contains(complete[i], "(SYNs: 0)") {
			out = append(out, c)
			continue
		}
		for j := range out {
			p := &out[j]
			if p.a == c.a && p.b == c.b {
				for d := range p.stats {
					for _, f := range []string{"total packets", "actual data bytes", "zero win adv"} {
						x, _ := strconv.Atoi(p.stats[d][f])
						y, _ := strconv.Atoi(c.stats[d][f])
						p.stats[d][f] = strconv.Itoa(x + y)
					}
					x, _ := strconv.Atoi(p.stats[d]["max win adv"])
					y, _ := strconv.Atoi(c.stats[d]["max win adv"])
					p.stats[d]["max win adv"] = strconv.Itoa(max(x, y))
				}
				p.merged = true
				n++
				continue next
			}
		}
		out = append(out, c)
	}
	return out, n
}

var (
	tcptraceConnLine = regexp.MustCompile(`^TCP connection [0-9]+:$`)
	tcptraceHost     = regexp.MustCompile(`^\s*host [a-z]+:\s+(\S+)$`)
	// "     total packets:             8           total packets:             7"
	tcptraceStat = regexp.MustCompile(`^\s+([a-zA-Z0-9 /]+?):\s+(\S+)(?: [a-z]+)?\s+([a-zA-Z0-9 /]+?):\s+(\S+)`)
)

func parseTcptrace(text string) ([]tcptraceConn, []string) {
	var conns []tcptraceConn
	var complete []string
	var c *tcptraceConn
	for _, line := range strings.Split(text, "\n") {
		if tcptraceConnLine.MatchString(line) {
			conns = append(conns, tcptraceConn{stats: [2]map[string]string{{}, {}}})
			c = &conns[len(conns)-1]
			complete = append(complete, "")
			continue
		}
		if c != nil && strings.Contains(line, "complete conn:") {
			complete[len(complete)-1] = line
		}
		if c == nil {
			continue
		}
		if m := tcptraceHost.FindStringSubmatch(line); m != nil {
			if c.a == "" {
				c.a = m[1]
			} else {
				c.b = m[1]
			}
			continue
		}
		if m := tcptraceStat.FindStringSubmatch(line); m != nil && m[1] == m[3] {
			c.stats[0][m[1]] = m[2]
			c.stats[1][m[3]] = m[4]
		}
	}
	return conns, complete
}

func endpoint(e tcpwin.Endpoint) string { return e.Addr.String() + ":" + strconv.Itoa(int(e.Port)) }

// TestConnsTcptrace compares the per-connection statistics with
// `tcptrace -l` (output committed in tcpwin/testdata/golden, command in the
// .cmd files): packets, data bytes ("actual data bytes"), max/min/zero
// window advertisements exactly; the average where tcptrace's divisor is the
// same as ours. Known difference in tcptrace's average: it divides the sum
// by all packets of a direction (non-SYN ones when scaling is on), also
// resets and segments without ACK, which add no window; tcpwin divides by
// the windows summed.
func TestConnsTcptrace(t *testing.T) {
	for _, name := range []string{"retina-tls_ciphers.pcap", "ppa-http_espn.pcapng", "arkime-modbus.pcap"} {
		t.Run(name, func(t *testing.T) {
			path := testenv.SharedCapture(t, name)
			text, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(t), "tcpwin", "testdata", "golden", name+".tcptrace.txt"))
			if err != nil {
				t.Fatal(err)
			}
			want, complete := parseTcptrace(string(text))
			want, merged := mergeSplits(want, complete)
			if wantMerged := map[string]int{"arkime-modbus.pcap": 1}[name]; merged != wantMerged {
				t.Errorf("merged %d tcptrace splits, want %d", merged, wantMerged)
			}
			src, err := tcpwin.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			a := tcpwin.NewAnalyzer(src, nil)
			// Count per direction what tcptrace divides by.
			type key struct {
				id  uint64
				dir tcpwin.Dir
			}
			rsts := map[key]int{}
			for a.Next() {
				r := a.Result()
				f := r.Segment.Flags
				if f.Has(tcpwin.FlagRST) || !(f.Has(tcpwin.FlagACK) || f.Has(tcpwin.FlagSYN)) {
					rsts[key{r.Conn.ID, r.Dir}]++
				}
			}
			if err := a.Err(); err != nil {
				t.Fatal(err)
			}
			got := a.Conns()
			if len(got) != len(want) {
				t.Fatalf("%d connections, tcptrace has %d", len(got), len(want))
			}
			avgChecked := 0
			for i, w := range want {
				c := &got[i]
				ga, gb := endpoint(c.A), endpoint(c.B)
				sides := [2]int{0, 1}
				switch {
				case ga == w.a && gb == w.b:
				case ga == w.b && gb == w.a:
					sides = [2]int{1, 0}
				default:
					t.Errorf("conn %d: %s-%s, tcptrace %s-%s", i+1, ga, gb, w.a, w.b)
					continue
				}
				for d, wd := range w.stats {
					s := &c.Side[sides[d]]
					win := s.Windows()
					check := func(field string, got uint64) {
						if wd[field] != strconv.FormatUint(got, 10) {
							t.Errorf("conn %d %s dir %d %s: got %d, tcptrace %s", i+1, ga, d, field, got, wd[field])
						}
					}
					check("total packets", s.Stats.Packets)
					check("actual data bytes", s.Stats.Bytes)
					check("max win adv", uint64(win.Max))
					check("zero win adv", win.Zero)
					if w.merged {
						continue
					}
					check("min win adv", uint64(win.Min))
					if rsts[key{c.ID, tcpwin.Dir(sides[d])}] == 0 {
						check("avg win adv", uint64(win.Avg()))
						avgChecked++
					}
				}
			}
			t.Logf("%d connections, %d averages compared", len(want), avgChecked)
		})
	}
}
