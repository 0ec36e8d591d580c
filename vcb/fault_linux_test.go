//go:build linux

package vcb_test

import (
	"context"
	"errors"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/bulletproof-labs/wsvcb/internal/testenv"
	"github.com/bulletproof-labs/wsvcb/vcb"
)

// TestFaultRealDiskFull backs up a 3 MiB disk onto a 1 MiB tmpfs: the
// kernel's own ENOSPC, not an injected one.
func TestFaultRealDiskFull(t *testing.T) {
	testenv.RequireRoot(t)
	fe := newFaultEnv(t, nil)
	mnt := filepath.Join(t.TempDir(), "small")
	if err := mkdir(mnt); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "size=1m"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(mnt, 0); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})
	dir := filepath.Join(mnt, "backups", "app01")
	_, err := fe.c.Backup(context.Background(), fe.vm, dir, nil)
	if !errors.Is(err, vcb.ErrWrite) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("err = %v, want ErrWrite wrapping ENOSPC", err)
	}
	t.Log(err)
	fe.assertClean(t, dir)
}
