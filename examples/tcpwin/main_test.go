package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulletproof-labs/wsvcb/internal/testenv"
)

func runCmd(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"nope"},
		{"windows"},
		{"windows", "a", "b"},
		{"windows", "-o", "xml", "f"},
		{"windows", "-bogus", "f"},
		{"calc"},
		{"calc", "-win", "70000", "-shift", "1"},
		{"calc", "-win", "1", "-shift", "256"},
		{"calc", "-win", "1"},
		{"calc", "-buf", "x"},
		{"calc", "-buf", "1", "-win", "1", "-shift", "1"},
		{"calc", "-buf", "1", "extra"},
	} {
		code, out, errs := runCmd(args...)
		if code != exitUsage || !strings.Contains(errs, "usage:") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
	if code, out, _ := runCmd("help"); code != 0 || !strings.Contains(out, "usage:") {
		t.Errorf("help: %d %q", code, out)
	}
}

func TestCalc(t *testing.T) {
	for _, tc := range []struct {
		args []string
		out  string
		warn bool
	}{
		{[]string{"calc", "-win", "501", "-shift", "7"}, "win\tshift\tclamped\tscale\twindow\n501\t7\t0\t128\t64128\n", false},
		{[]string{"calc", "-shift", "15", "-win", "65535"}, "win\tshift\tclamped\tscale\twindow\n65535\t14\t1\t16384\t1073725440\n", true},
		{[]string{"calc", "-buf", "4194304"}, "buf\tshift\tscale\tmax_window\tfits\n4194304\t7\t128\t8388480\t1\n", false},
		{[]string{"calc", "-buf", "2000000000"}, "buf\tshift\tscale\tmax_window\tfits\n2000000000\t14\t16384\t1073725440\t0\n", true},
		{[]string{"calc", "-o", "json", "-buf", "65535"}, "[\n{\"buf\":65535,\"shift\":0,\"scale\":1,\"max_window\":65535,\"fits\":1}\n]\n", false},
	} {
		code, out, errs := runCmd(tc.args...)
		if code != 0 || out != tc.out || (errs != "") != tc.warn {
			t.Errorf("%q: exit %d\n got %q\nwant %q\nstderr %q", tc.args, code, out, tc.out, errs)
		}
	}
}

func TestWindowsJSON(t *testing.T) {
	path := testenv.SharedCapture(t, "ppa-http_espn.pcapng")
	code, out, errs := runCmd("windows", "-o", "json", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var rows []map[string]*int64
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 928 {
		t.Fatalf("%d rows", len(rows))
	}
	r := rows[0] // frame 3, the first SYN: scale is null
	if *r["frame"] != 3 || *r["syn"] != 1 || r["scale"] != nil || *r["window"] != 5840 {
		t.Errorf("row 0: %v", r)
	}
	r = rows[2]
	if *r["scale"] != 64 || *r["window"] != 5888 {
		t.Errorf("row 2: %v", r)
	}
}

func TestHandshakesJSONAbsentOptions(t *testing.T) {
	path := testenv.SharedCapture(t, "ppa-http_espn.pcapng")
	code, out, _ := runCmd("handshakes", path, "-o", "json") // flags after FILE work too
	if code != 0 {
		t.Fatal(code)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 50 || rows[0]["src"] != "172.16.0.122" || rows[1]["sackok"] != float64(0) {
		t.Errorf("rows: %d %v", len(rows), rows[:2])
	}
}

func TestConns(t *testing.T) {
	path := testenv.SharedCapture(t, "ppa-http_espn.pcapng")
	code, out, errs := runCmd("conns", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	rows := splitTSV([]byte(out))
	if strings.Join(rows[0], ",") != strings.Join(connCols, ",") {
		t.Errorf("header %q", rows[0])
	}
	if len(rows) < 2 || len(rows[1]) != len(connCols) {
		t.Fatalf("rows %q", rows)
	}
	code, out, _ = runCmd("conns", "-o", "json", path)
	var js []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &js) != nil || len(js) != len(rows)-1 {
		t.Errorf("json conns: %d rows vs %d", len(js), len(rows)-1)
	}
}

func TestInputErrors(t *testing.T) {
	dir := t.TempDir()
	// Missing file.
	code, _, errs := runCmd("windows", filepath.Join(dir, "missing.pcap"))
	if code != exitInput || !strings.Contains(errs, "missing.pcap") {
		t.Errorf("missing: %d %q", code, errs)
	}
	// Garbage.
	garbage := filepath.Join(dir, "garbage")
	os.WriteFile(garbage, []byte("\x00\x01\x02\x03 this is not a capture\x00\xff"), 0o644)
	code, _, errs = runCmd("windows", garbage)
	if code != exitInput || !strings.Contains(errs, "garbage") {
		t.Errorf("garbage: %d %q", code, errs)
	}
	// Truncated: everything before the damage is printed, then the error
	// names the file and the frame.
	src := testenv.SharedCapture(t, "retina-tls_ciphers.pcap")
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	trunc := filepath.Join(dir, "trunc.pcap")
	os.WriteFile(trunc, b[:len(b)/2], 0o644)
	code, out, errs := runCmd("windows", trunc)
	rows := splitTSV([]byte(out))
	if code != exitInput || len(rows) < 100 || !strings.Contains(errs, "trunc.pcap") || !strings.Contains(errs, "frame") {
		t.Errorf("truncated: exit %d, %d rows, stderr %q", code, len(rows), errs)
	}
	// JSON output stays a valid array.
	code, out, _ = runCmd("windows", "-o", "json", trunc)
	var js []map[string]any
	if code != exitInput || json.Unmarshal([]byte(out), &js) != nil || len(js) != len(rows)-1 {
		t.Errorf("truncated json: exit %d, %d rows", code, len(js))
	}
}

func TestStdin(t *testing.T) {
	src := testenv.SharedCapture(t, "arkime-v6.pcap")
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	old := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = old }()
	code, out, errs := runCmd("windows", "-")
	if code != 0 || len(splitTSV([]byte(out))) != 63 {
		t.Errorf("stdin: %d %q", code, errs)
	}
}
