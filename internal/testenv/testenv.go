// Package testenv holds the test-environment checks shared by the project's
// tests: root and tool requirements that skip locally but fail in CI, and the
// location of the shared reference captures.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// InCI reports whether the tests run in CI (CI=true), where requirements that
// cannot be met are failures rather than skips.
func InCI() bool { return os.Getenv("CI") == "true" }

// unmet skips the test, or fails it in CI.
func unmet(t testing.TB, msg string) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI=true: %s", msg)
	}
	t.Skipf("skipping: %s (run as root with CI=true to make this mandatory)", msg)
}

// RequireRoot skips the test unless it runs as root on Linux; in CI it fails.
func RequireRoot(t testing.TB) {
	t.Helper()
	if runtime.GOOS != "linux" {
		unmet(t, "needs Linux, running on "+runtime.GOOS)
		return
	}
	if os.Geteuid() != 0 {
		unmet(t, "needs root (network namespaces, /proc/sys writes)")
	}
}

// RequireTool returns the path of an external program, skipping the test
// when it is not installed (failing in CI, where .ci/run installs it).
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		unmet(t, name+" is not installed")
	}
	return p
}

// RequirePath skips the test unless path exists (a device such as
// /dev/fuse); in CI, where .ci/run provides it, it fails.
func RequirePath(t testing.TB, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		unmet(t, path+" is missing")
	}
}

// ModuleRoot returns the directory holding go.mod.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// SharedCapture returns the path of a real public capture in
// ../shared/captures (relative to the module root), skipping the test when
// the shared folder is not present next to the checkout.
func SharedCapture(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(ModuleRoot(t), "..", "shared", "captures", name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("skipping: shared capture %s not available: %v", name, err)
	}
	return p
}
