package main

import (
	"bytes"
	"regexp"
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
	// The middlebox edits every copy of the client's SYN: "rw 1", or more
	// if a loaded machine made the client retransmit it.
	if !regexp.MustCompile(`(?m)^healthy\s.*\brw 0 strip 0\b`).MatchString(s) ||
		!regexp.MustCompile(`(?m)^rewritten\s.*\brw [1-9][0-9]* strip 0\b`).MatchString(s) {
		t.Fatalf("table:\n%s", s)
	}
	t.Log("\n" + s)
}
