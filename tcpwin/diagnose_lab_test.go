package tcpwin_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bulletproof-labs/wsvcb/tcpwin"
)

// The captures under testdata/lab come from internal/netlab (see its
// README.md and lab.cmd): a bulk transfer server -> client through a
// middlebox applying one rule, recorded on the client's and on the
// server's side.

func diagnoseFile(t *testing.T, name string) *tcpwin.Report {
	t.Helper()
	src, err := tcpwin.Open(filepath.Join("testdata", "lab", name))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	rep, err := tcpwin.Diagnose(context.Background(), src, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func diagnosePair(t *testing.T, a, b string) *tcpwin.Report {
	t.Helper()
	sa, err := tcpwin.Open(filepath.Join("testdata", "lab", a))
	if err != nil {
		t.Fatal(err)
	}
	defer sa.Close()
	sb, err := tcpwin.Open(filepath.Join("testdata", "lab", b))
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	rep, err := tcpwin.DiagnosePair(context.Background(), sa, sb, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// sig is a finding's identity for comparisons: kind/severity/side.
func sigs(fs []tcpwin.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, string(f.Kind)+"/"+f.Severity.String()+"/"+f.Side)
	}
	return out
}

func TestDiagnoseLabOneSide(t *testing.T) {
	cases := []struct {
		file string
		want []string
	}{
		// Healthy: nothing, from either side.
		{"healthy-client.pcap", nil},
		{"healthy-server.pcap", nil},
		// The seed: the client's wscale 10 rewritten to 0. At the client the
		// server's bytes in flight plateau at the raw window 63 although
		// the client scales it to 64512; at the server the client's window
		// falls from 64240 (SYN) to 63 under a SYN saying wscale 0.
		{"rewritten-client.pcap", []string{"window-plateau/critical/a"}},
		{"rewritten-server.pcap", []string{"window-plateau/critical/a"}},
		// Stripped from the client's SYN: the client sees a one-sided
		// handshake; the server sees no scaling at all.
		{"strip-client-client.pcap", []string{"one-sided-scaling/warning/b"}},
		{"strip-client-server.pcap", []string{"scaling-off/info/a"}},
		// Stripped from the server's SYN-ACK: at the client, one-sided, and
		// the server's window collapses by 2^10 after a SYN-ACK without
		// the option: the server scales, the client does not. At the server
		// everything looks fine (the client sends no data to expose it).
		{"strip-server-client.pcap", []string{"one-sided-scaling/warning/b", "scale-exposure/warning/b"}},
		{"strip-server-server.pcap", nil},
		// Stripped both ways: the SYN-ACK has none to strip, as strip-client.
		{"strip-both-client.pcap", []string{"one-sided-scaling/warning/b"}},
		{"strip-both-server.pcap", []string{"scaling-off/info/a"}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			rep := diagnoseFile(t, c.file)
			got := sigs(rep.Findings)
			if !slices.Equal(got, c.want) {
				t.Errorf("findings %q, want %q", got, c.want)
				for _, f := range rep.Findings {
					t.Logf("%s: %s", f.Kind, f.Summary)
				}
			}
			if rep.Captures[0].Conns != 1 || len(rep.Conns[0]) != 1 {
				t.Errorf("want one connection, got %+v", rep.Captures[0])
			}
		})
	}
}

func TestDiagnoseLabPlateauEvidence(t *testing.T) {
	for _, file := range []string{"rewritten-client.pcap", "rewritten-server.pcap"} {
		rep := diagnoseFile(t, file)
		if len(rep.Findings) != 1 {
			t.Fatalf("%s: %d findings", file, len(rep.Findings))
		}
		f := rep.Findings[0]
		ev := f.Evidence
		fl := ev.Flow
		if fl == nil {
			t.Fatalf("%s: no flow evidence", file)
		}
		// The tcpdump of the capture shows "win 63" from the client and
		// 63-byte segments from the server throughout.
		if ev.RawWindow != 63 || fl.MaxInFlight != 63 || fl.Retransmissions != 0 || fl.AboveRawWindow != 0 {
			t.Errorf("%s: evidence %+v flow %+v", file, ev, *fl)
		}
		if fl.FlightsPerRTT < 0.7 || fl.FlightsPerRTT > 1.3 {
			t.Errorf("%s: %.2f flights per RTT, want about one", file, fl.FlightsPerRTT)
		}
		if fl.RTTms < 30 || fl.RTTms > 80 {
			t.Errorf("%s: RTT %.1f ms, the lab's is about 40", file, fl.RTTms)
		}
		if !strings.Contains(f.Conn.A, ":") || f.Side != "a" {
			t.Errorf("%s: conn %+v side %s", file, f.Conn, f.Side)
		}
		switch file {
		case "rewritten-client.pcap":
			if ev.Shift != 10 || ev.EffectiveWindow != 63<<10 {
				t.Errorf("client side: shift %d effective %d", ev.Shift, ev.EffectiveWindow)
			}
		case "rewritten-server.pcap":
			if ev.Shift != 0 || ev.SYNWindow != 64240 || ev.ImpliedShift != 10 {
				t.Errorf("server side: shift %d SYN window %d implied %d", ev.Shift, ev.SYNWindow, ev.ImpliedShift)
			}
		}
		fixes := strings.Join(f.Fixes, "\n")
		host, _, _ := strings.Cut(f.Conn.A, ":")
		for _, w := range []string{"net.ipv4.tcp_window_scaling=0", "4096 87380 174760", "on " + host + ": sysctl"} {
			if !strings.Contains(fixes, w) {
				t.Errorf("%s: fixes lack %q:\n%s", file, w, fixes)
			}
		}
		// sysctl fixes belong to a host, never to a host:port.
		if strings.Contains(fixes, "on "+f.Conn.A) {
			t.Errorf("%s: a fix is addressed to %s, not to its host:\n%s", file, f.Conn.A, fixes)
		}
		if !strings.Contains(f.Cause, "2006") {
			t.Errorf("%s: cause does not name the 2006 failure: %s", file, f.Cause)
		}
	}
}

func TestDiagnoseLabPair(t *testing.T) {
	type change struct{ side, sev, before, after string }
	cases := []struct {
		name string
		want []change
	}{
		{"healthy", nil},
		{"rewritten", []change{{"a", "critical", "10", "0"}}},
		{"strip-client", []change{{"a", "warning", "10", "none"}}},
		{"strip-server", []change{{"b", "critical", "10", "none"}}},
		{"strip-both", []change{{"a", "warning", "10", "none"}}},
	}
	for _, c := range cases {
		for _, order := range [][2]string{{"client", "server"}, {"server", "client"}} {
			t.Run(c.name+"/"+order[0]+"-first", func(t *testing.T) {
				rep := diagnosePair(t, c.name+"-"+order[0]+".pcap", c.name+"-"+order[1]+".pcap")
				if rep.Matched != 1 {
					t.Fatalf("matched %d connections, want 1", rep.Matched)
				}
				var got []change
				for _, f := range rep.Findings {
					if f.Kind != tcpwin.KindSYNOptionChanged {
						continue
					}
					if f.Evidence.Option != "wscale" {
						t.Errorf("unexpected change %s: %s", f.Evidence.Option, f.Summary)
						continue
					}
					got = append(got, change{f.Side, f.Severity.String(), f.Evidence.Before, f.Evidence.After})
					// Before is as sent, After as received, whatever the
					// argument order: the vantage points are known.
					if strings.Contains(f.Summary, "unknown") {
						t.Errorf("vantage unknown: %s (%v)", f.Summary, f.Evidence.Vantage)
					}
				}
				if !slices.Equal(got, c.want) {
					t.Errorf("changes %+v, want %+v", got, c.want)
				}
				for i, cs := range rep.Conns {
					want := "near a"
					if (i == 0) != (order[0] == "client") {
						want = "near b"
					}
					if cs[0].Vantage != want {
						t.Errorf("capture %d (%s first): vantage %q, want %q", i, order[0], cs[0].Vantage, want)
					}
				}
			})
		}
	}
}

func TestDiagnoseReportJSON(t *testing.T) {
	rep := diagnosePair(t, "rewritten-client.pcap", "rewritten-server.pcap")
	b, err := rep.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var back tcpwin.Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Findings) != len(rep.Findings) || back.Findings[0].Severity != tcpwin.SeverityCritical {
		t.Errorf("round trip lost findings: %s", b)
	}
	var raw struct {
		Findings []map[string]any `json:"findings"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	f := raw.Findings[len(raw.Findings)-1]
	if f["kind"] != "syn-option-changed" || f["severity"] != "critical" {
		t.Errorf("last finding %v", f)
	}
	ev := f["evidence"].(map[string]any)
	if ev["option"] != "wscale" || ev["before"] != "10" || ev["after"] != "0" {
		t.Errorf("evidence %v", ev)
	}
}
