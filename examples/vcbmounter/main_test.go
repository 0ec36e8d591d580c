package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSimBackupVerifyRelease(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo-%t")
	var out, errb bytes.Buffer
	ctx := context.Background()
	if code := run(ctx, []string{"-sim", "-a", "name:vcbdemo", "-r", dir, "-t", "fullvm", "-z", "-q"}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), "demo-*"))
	if len(matches) != 1 || !strings.Contains(out.String(), "backed up vcbdemo") {
		t.Fatalf("backups %v, output:\n%s", matches, out.String())
	}
	out.Reset()
	if code := run(ctx, []string{"-verify", matches[0]}, nil, &out, &errb); code != 0 || !strings.Contains(out.String(), "files verified") {
		t.Fatalf("verify exit %d: %s %s", code, out.String(), errb.String())
	}
	other := t.TempDir()
	if code := run(ctx, []string{"-d", other}, nil, &out, &errb); code == 0 {
		t.Fatal("-d removed a directory that is not a backup")
	}
	if code := run(ctx, []string{"-d", matches[0]}, nil, &out, &errb); code != 0 {
		t.Fatalf("-d exit %d: %s", code, errb.String())
	}
	if _, err := os.Stat(matches[0]); !os.IsNotExist(err) {
		t.Fatalf("backup still there: %v", err)
	}
	if code := run(ctx, []string{"-sim", "-a", "name:vcbdemo", "-r", dir, "-t", "file"}, nil, &out, &errb); code == 0 {
		t.Fatal("-t file accepted")
	}
}

// TestSimProgressNoCarriageReturns: with stderr not a terminal the
// progress is plain lines with the disk bytes read.
func TestSimProgressNoCarriageReturns(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"-sim", "-a", "name:vcbdemo", "-r", dir}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if strings.Contains(errb.String(), "\r") {
		t.Fatalf("\\r in non-terminal progress:\n%q", errb.String())
	}
	if !strings.Contains(errb.String(), "backup export") || !strings.Contains(errb.String(), " in ") {
		t.Fatalf("no transfer summary:\n%s", errb.String())
	}
}
