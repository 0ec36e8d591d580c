package netlab

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/bulletproof-labs/wsvcb/internal/testenv"
)

// TestRmemMaxReadOnlyInNamespace pins the fact the seed's second fix runs
// into on this kernel: net.core.rmem_max is visible in a fresh namespace
// with the host's value but cannot be written there, so tcp_rmem alone
// cannot bring the offered shift below ilog2(rmem_max)-15.
func TestRmemMaxReadOnlyInNamespace(t *testing.T) {
	testenv.RequireRoot(t)
	ns, err := NewNS("netlab-rmemmax")
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	host, err := os.ReadFile("/proc/sys/net/core/rmem_max")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ns.Sysctl("net.core.rmem_max")
	if err != nil {
		t.Fatal(err)
	}
	if got != strings.TrimSpace(string(host)) {
		t.Logf("namespace rmem_max %s differs from host %s", got, host)
	}
	err = ns.SetSysctl("net.core.rmem_max", "212992")
	switch {
	case err == nil:
		t.Logf("this kernel lets a namespace write net.core.rmem_max (per-namespace since 6.1x?)")
	case errors.Is(err, fs.ErrPermission) || errors.Is(err, fs.ErrNotExist):
		t.Logf("net.core.rmem_max in a namespace: %v", err)
	default:
		t.Fatalf("unexpected error: %v", err)
	}
}
