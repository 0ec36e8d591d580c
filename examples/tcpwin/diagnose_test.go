package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func diagFile(name string) string {
	return filepath.Join("..", "..", "tcpwin", "testdata", name)
}

func runDiagnose(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := cmdDiagnose(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCmdDiagnoseSeed(t *testing.T) {
	code, out, errs := runDiagnose(diagFile("text/seed-blog.txt"))
	if code != exitOK || errs != "" {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	for _, w := range []string{"INFO scale-exposure", "wscale 6", "92 bytes", "net.ipv4.tcp_window_scaling=0", "4096 87380 174760"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	// -min warning hides the info.
	_, out, _ = runDiagnose("-min", "warning", diagFile("text/seed-blog.txt"))
	if strings.Contains(out, "scale-exposure") || !strings.Contains(out, "1 findings: 0 critical, 0 warning, 1 info") {
		t.Errorf("-min warning:\n%s", out)
	}
}

func TestCmdDiagnosePairJSON(t *testing.T) {
	code, out, errs := runDiagnose("-o", "json", diagFile("lab/rewritten-server.pcap"), diagFile("lab/rewritten-client.pcap"))
	if code != exitFindings {
		t.Fatalf("exit %d, want %d; stderr %s", code, exitFindings, errs)
	}
	var rep struct {
		Captures []struct{ Name string } `json:"captures"`
		Matched  int                     `json:"matched"`
		Findings []struct {
			Kind     string `json:"kind"`
			Severity string `json:"severity"`
			Side     string `json:"side"`
			Evidence struct {
				Option, Before, After string
			} `json:"evidence"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Matched != 1 || len(rep.Captures) != 2 || !strings.HasSuffix(rep.Captures[0].Name, "rewritten-server.pcap") {
		t.Errorf("report %+v", rep)
	}
	var kinds []string
	for _, f := range rep.Findings {
		kinds = append(kinds, f.Kind+"/"+f.Severity)
		if f.Kind == "syn-option-changed" && (f.Evidence.Option != "wscale" || f.Evidence.Before != "10" || f.Evidence.After != "0" || f.Side != "a") {
			t.Errorf("change %+v", f)
		}
	}
	want := "window-plateau/critical window-plateau/critical syn-option-changed/critical"
	if strings.Join(kinds, " ") != want {
		t.Errorf("findings %v, want %s", kinds, want)
	}
}

func TestCmdDiagnoseHealthy(t *testing.T) {
	code, out, _ := runDiagnose(diagFile("lab/healthy-client.pcap"), diagFile("lab/healthy-server.pcap"))
	if code != exitOK || !strings.Contains(out, "no window-scaling problems found") || !strings.Contains(out, "matched 1 connections") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

func TestCmdDiagnoseErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.pcap")
	if err := os.WriteFile(bad, []byte("\xd4\xc3\xb2\xa1\x02\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{nil, exitUsage, "want FILE [PEERFILE]"},
		{[]string{"a", "b", "c"}, exitUsage, "got 3 arguments"},
		{[]string{"-o", "xml", "a"}, exitUsage, `-o "xml"`},
		{[]string{"-min", "loud", "a"}, exitUsage, `-min "loud"`},
		{[]string{"-nope", "a"}, exitUsage, "flag provided but not defined"},
		{[]string{"/nonexistent/x.pcap"}, exitInput, "no such file"},
		{[]string{bad}, exitInput, "truncated"},
	} {
		code, _, errs := runDiagnose(c.args...)
		if code != c.code || !strings.Contains(errs, c.msg) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", c.args, code, errs, c.code, c.msg)
		}
	}
}

// TestCmdDiagnoseBadOptionValue: an option value tcpdump cannot print (mss
// 70000, wscale 300) is a malformed line like a bad win: reported with its
// line, never an empty diagnosis with exit 0.
func TestCmdDiagnoseBadOptionValue(t *testing.T) {
	dir := t.TempDir()
	for _, bad := range []string{"mss 70000,wscale 7", "mss 1460,wscale 300"} {
		p := filepath.Join(dir, "bad.txt")
		line := "10:00:00.000001 IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [S], seq 1, win 5840, options [" + bad + "], length 0\n"
		require.NoError(t, os.WriteFile(p, []byte(line), 0o644))
		code, out, errs := runDiagnose(p)
		assert.Equal(t, exitInput, code, out)
		assert.Contains(t, errs, "bad.txt:1:")
		assert.Contains(t, errs, "bad option")
		assert.NotContains(t, out, "no window-scaling problems found")
		hcode, _, herrs := runCmd("handshakes", p)
		assert.Equal(t, exitInput, hcode, herrs)
		assert.Contains(t, herrs, "bad option")
	}
}
