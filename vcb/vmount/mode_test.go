package vmount

import (
	"errors"
	"testing"
)

func TestResolveMode(t *testing.T) {
	var probed []string
	old := modprobe
	modprobe = func(name string) error { probed = append(probed, name); return errors.New("not found") }
	t.Cleanup(func() { modprobe = old })
	// A type no kernel has: auto falls back to FUSE after trying modprobe.
	if m, err := ResolveMode("", "nosuchfs"); m != ModeFUSE || err != nil {
		t.Errorf("auto: %q, %v", m, err)
	}
	if len(probed) != 1 || probed[0] != "nosuchfs" {
		t.Errorf("modprobe calls %v", probed)
	}
	if _, err := ResolveMode(ModeKernel, "nosuchfs"); !errors.Is(err, ErrMode) {
		t.Errorf("kernel mode without the driver: %v", err)
	}
	if m, err := ResolveMode("FUSE", "nosuchfs"); m != ModeFUSE || err != nil {
		t.Errorf("fuse: %q, %v", m, err)
	}
	if _, err := ResolveMode("bogus", "ext4"); !errors.Is(err, ErrMode) {
		t.Errorf("bogus mode: %v", err)
	}
	// A type the kernel lists (this file system's, surely): kernel mode.
	if KernelHasFS("proc") && !KernelCanMount("proc") {
		t.Error("proc is listed but not mountable?")
	}
}
