package tcpwin_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bulletproof-labs/wsvcb/tcpwin"
)

// The netlab helper's captures (testdata/lab, see its README.md and
// lab.cmd): every middlebox rule and the seed's fixes, 4 s bulk transfers,
// first 200 frames of each side.
func TestDiagnoseNetlabCaptures(t *testing.T) {
	want := map[string][]string{
		"healthy-client": nil, "healthy-server": nil,
		"rewritten-client": {"window-plateau/critical/a"}, "rewritten-server": {"window-plateau/critical/a"},
		// The seed verbatim: the client offers 6, the middlebox writes 0.
		"rewritten-6to0-client": {"window-plateau/critical/a"}, "rewritten-6to0-server": {"window-plateau/critical/a"},
		// Same rewrite, but the client's buffer is locked at 3 MiB: its
		// first raw window is already 49152, the transfer runs at link
		// speed and one capture cannot tell (the pair can, below).
		"rewritten-6to0-bigbuf-client": nil, "rewritten-6to0-bigbuf-server": nil,
		"strip-client-client": {"one-sided-scaling/warning/b"}, "strip-client-server": {"scaling-off/info/a"},
		"strip-server-client": {"one-sided-scaling/warning/b", "scale-exposure/warning/b"}, "strip-server-server": nil,
		"strip-both-client": {"one-sided-scaling/warning/b"}, "strip-both-server": {"scaling-off/info/a"},
		// The seed's fixes on the client: scaling off works; the small
		// buffers alone do not here (net.core.rmem_max 4 MiB keeps the
		// offered shift at 7, still rewritten); with SO_RCVBUF the client
		// offers 1 and the middlebox lets it through.
		"fix-noscaling-client": {"scaling-off/info/a"}, "fix-noscaling-server": {"scaling-off/info/a"},
		"fix-smallbufs-client": {"window-plateau/critical/a"}, "fix-smallbufs-server": {"window-plateau/critical/a"},
		"fix-smallbufs+rcvbuf-client": nil, "fix-smallbufs+rcvbuf-server": nil,
	}
	for name, w := range want {
		src, err := tcpwin.Open(filepath.Join("testdata", "lab", name+".pcap"))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := tcpwin.Diagnose(context.Background(), src, nil)
		src.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := sigs(rep.Findings); !slices.Equal(got, w) {
			t.Errorf("%s: findings %q, want %q", name, got, w)
		}
	}
}

func TestDiagnoseNetlabPairs(t *testing.T) {
	want := map[string]string{
		"healthy":               "",
		"rewritten":             "a wscale 10 -> 0 critical",
		"rewritten-6to0":        "a wscale 6 -> 0 critical",
		"rewritten-6to0-bigbuf": "a wscale 6 -> 0 critical",
		"strip-client":          "a wscale 10 -> none warning",
		"strip-server":          "b wscale 10 -> none critical",
		"strip-both":            "a wscale 10 -> none warning",
		"fix-noscaling":         "",
		"fix-smallbufs":         "a wscale 7 -> 0 critical",
		"fix-smallbufs+rcvbuf":  "",
	}
	for name, w := range want {
		var sa, sb tcpwin.FileSource
		var err error
		if sa, err = tcpwin.Open(filepath.Join("testdata", "lab", name+"-server.pcap")); err != nil {
			t.Fatal(err)
		}
		if sb, err = tcpwin.Open(filepath.Join("testdata", "lab", name+"-client.pcap")); err != nil {
			t.Fatal(err)
		}
		rep, err := tcpwin.DiagnosePair(context.Background(), sa, sb, nil)
		sa.Close()
		sb.Close()
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, f := range rep.Findings {
			if f.Kind == tcpwin.KindSYNOptionChanged && f.Evidence.Option == "wscale" {
				got = f.Side + " wscale " + f.Evidence.Before + " -> " + f.Evidence.After + " " + f.Severity.String()
			}
		}
		if rep.Matched != 1 || got != w {
			t.Errorf("%s: matched %d, change %q, want %q", name, rep.Matched, got, w)
		}
	}
}
