package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/bulletproof-labs/wsvcb/internal/testenv"
)

func TestUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"-bogus"}, &out, &errb); code != 2 {
		t.Fatalf("exit %d", code)
	}
}

func TestRunHealthyAndRewritten(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "ethtool")
	var out, errb bytes.Buffer
	dir := t.TempDir()
	code := run([]string{"-cases", "healthy,rewritten", "-duration", "1s", "-out", dir}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	s := out.String()
	if !strings.Contains(s, "healthy") || !strings.Contains(s, "rewritten") || !strings.Contains(s, "rw 1") {
		t.Fatalf("table:\n%s", s)
	}
	t.Log("\n" + s)
}
