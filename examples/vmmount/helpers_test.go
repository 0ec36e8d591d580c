package main

import (
	"encoding/json"
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
