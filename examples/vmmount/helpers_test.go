package main

import (
	"crypto/sha256"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func jsonInt(t *testing.T, js, key string) int {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatal(err)
	}
	f, ok := m[key].(float64)
	if !ok || f <= 0 {
		t.Fatalf("%s missing in %s", key, js)
	}
	return int(f)
}

func syscallKill(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }

// checkTree walks dir with os/filepath and compares names, sizes and
// SHA-256 of the regular files with want.
func checkTree(t *testing.T, dir string, want map[string]string) {
	t.Helper()
	got := map[string][32]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if fi.Size() != int64(len(b)) {
			t.Errorf("%s: size %d, read %d bytes", rel, fi.Size(), len(b))
		}
		got[filepath.ToSlash(rel)] = sha256.Sum256(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range want {
		if g, ok := got[name]; !ok || g != sha256.Sum256([]byte(content)) {
			t.Errorf("%s: missing or different (have %v)", name, ok)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d files, want %d", len(got), len(want))
	}
}
