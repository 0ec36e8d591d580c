package vmount

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestTreeFAT mounts the FAT partition of a streamOptimized VMDK in
// ModeFUSE and walks it with os/filepath: names, sizes and SHA-256 of the
// contents are what mcopy put in.
func TestTreeFAT(t *testing.T) {
	requireMount(t)
	t.Parallel()
	disk := fatDisk(t)
	m := &Manager{StateDir: t.TempDir()}
	dir := filepath.Join(t.TempDir(), "mnt")
	mt, err := m.Mount(dir, disk, &Options{Mode: ModeFUSE})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Unmount(dir) })
	if mt.Mode != ModeFUSE || mt.Partition != 1 || mt.FSType[:3] != "fat" || mt.LoopDev != "" {
		t.Fatalf("state %+v", mt.State)
	}
	got := walk(t, dir)
	checkFiles(t, got, fatFiles)
	for _, d := range []string{"EFI", "EFI/BOOT", "grub", "a/b/c/d"} {
		if e, ok := got[d]; !ok || !e.Mode.IsDir() || e.Mode.Perm() != 0o755 {
			t.Errorf("directory %s: %+v", d, e)
		}
	}
	if e := got["grub/grub.cfg"]; e.Mode != 0o644 || e.UID != 0 || e.MTime < 1e9 {
		t.Errorf("grub.cfg: %+v (want 0644, root, an mtime)", e)
	}
	readOnly(t, dir, "grub/grub.cfg")
	if _, err := os.Stat(filepath.Join(dir, "nope")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stat of a missing name: %v", err)
	}
	if err := mt.Close(); err != nil {
		t.Fatal(err)
	}
	checkClean(t, m.StateDir, dir)
}

// readOnly checks that nothing can be written through the mount.
func readOnly(t *testing.T, dir, file string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "new"), nil, 0o644); !errors.Is(err, syscall.EROFS) {
		t.Errorf("create: %v, want EROFS", err)
	}
	if f, err := os.OpenFile(filepath.Join(dir, file), os.O_WRONLY, 0); !errors.Is(err, syscall.EROFS) {
		t.Errorf("open for writing: %v, want EROFS", err)
		if err == nil {
			f.Close()
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o755); !errors.Is(err, syscall.EROFS) {
		t.Errorf("mkdir: %v, want EROFS", err)
	}
}

// TestTreeExt4VsKernel mounts one ext4 image twice, in ModeFUSE and in
// ModeKernel, and compares what the two walks see: names, types, modes,
// owners, sizes, mtimes, symlink targets and contents.
func TestTreeExt4VsKernel(t *testing.T) {
	requireMount(t)
	t.Parallel()
	if !KernelCanMount("ext4") {
		t.Skip("kernel without ext4")
	}
	disk := ext4Disk(t, 0)
	m := &Manager{StateDir: t.TempDir()}
	walks := map[string]map[string]entry{}
	for _, mode := range []string{ModeFUSE, ModeKernel} {
		dir := filepath.Join(t.TempDir(), mode)
		mt, err := m.Mount(dir, disk, &Options{Mode: mode})
		if err != nil {
			t.Fatal(mode, err)
		}
		t.Cleanup(func() { m.Unmount(dir) })
		if mt.Mode != mode || mt.Partition != 0 || mt.FSType != "ext4" {
			t.Fatalf("state %+v", mt.State)
		}
		walks[mode] = walk(t, dir)
		readOnly(t, dir, "etc/hostname")
		if mode == ModeFUSE {
			var st syscall.Stat_t
			must(t, syscall.Stat(filepath.Join(dir, "usr/bin/tool"), &st))
			var st2 syscall.Stat_t
			must(t, syscall.Stat(filepath.Join(dir, "usr/bin/tool2"), &st2))
			if st.Ino != st2.Ino || st.Nlink != 2 {
				t.Errorf("hard link: inodes %d %d, nlink %d", st.Ino, st2.Ino, st.Nlink)
			}
		}
		if err := mt.Close(); err != nil {
			t.Fatal(err)
		}
		checkClean(t, m.StateDir, dir)
	}
	fuse, kernel := walks[ModeFUSE], walks[ModeKernel]
	want := map[string]string{"usr/bin/tool2": ext4Files["usr/bin/tool"], "usr/bin/su": "su\n", ext4SparseName: ext4Sparse}
	for n, c := range ext4Files {
		want[n] = c
	}
	checkFiles(t, fuse, want)
	if fuse["etc/localtime"].Link != "../usr/share/zoneinfo/UTC" {
		t.Errorf("symlink: %+v", fuse["etc/localtime"])
	}
	for name, mode := range map[string]os.FileMode{"etc/shadow": 0o600, "usr/bin/tool": 0o755,
		"usr/bin/su": 0o755 | os.ModeSetuid, "tmp": 0o777 | os.ModeDir | os.ModeSticky, "run/initctl": 0o600 | os.ModeNamedPipe} {
		if fuse[name].Mode != mode {
			t.Errorf("%s: mode %v, want %v", name, fuse[name].Mode, mode)
		}
	}
	for name, k := range kernel {
		f, ok := fuse[name]
		if !ok {
			t.Errorf("%s: only in the kernel mount", name)
			continue
		}
		if k.Mode.IsDir() { // directory sizes are FS-specific: compare the rest
			k.Size, f.Size = 0, 0
		}
		if f != k {
			t.Errorf("%s:\n fuse   %+v\n kernel %+v", name, f, k)
		}
	}
	for name := range fuse {
		if _, ok := kernel[name]; !ok {
			t.Errorf("%s: only in the FUSE mount", name)
		}
	}
}
