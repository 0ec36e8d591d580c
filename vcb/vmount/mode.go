package vmount

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// Mount modes.
const (
	// ModeAuto picks ModeKernel when the kernel can mount the partition's
	// file system type and ModeFUSE when it cannot.
	ModeAuto = "auto"
	// ModeKernel exposes the disk as a flat file through FUSE, maps the
	// partition with a loop device and mounts it with the kernel's driver.
	ModeKernel = "kernel"
	// ModeFUSE serves the partition's file tree itself through FUSE (read
	// by vcb/browse in Go), so it needs no kernel file-system driver and
	// no loop device.
	ModeFUSE = "fuse"
)

// ErrMode means an unknown mount mode or one that cannot mount the file
// system (ModeKernel without the kernel driver).
var ErrMode = errors.New("vmount: mount mode")

// KernelFSType is the kernel's name for a file system type as vcb/browse
// reports it ("fat16" -> "vfat"; ext2/3/4 are all mounted by "ext4").
func KernelFSType(t string) string {
	switch t {
	case "fat12", "fat16", "fat32", "vfat":
		return "vfat"
	case "ext2", "ext3", "ext4":
		return "ext4"
	}
	return t
}

// modprobe loads a kernel module; a variable so tests can stub it.
var modprobe = func(name string) error {
	return exec.Command("modprobe", "-q", name).Run()
}

// KernelCanMount reports whether the kernel can mount fstype (a vcb/browse
// or kernel type name): it is in /proc/filesystems, or `modprobe` loads it.
func KernelCanMount(fstype string) bool {
	k := KernelFSType(fstype)
	if KernelHasFS(k) {
		return true
	}
	if modprobe(k) != nil {
		return false
	}
	return KernelHasFS(k)
}

// ResolveMode turns mode ("" or ModeAuto, ModeKernel, ModeFUSE) into the
// mode to use for a file system of type fstype.
func ResolveMode(mode, fstype string) (string, error) {
	switch strings.ToLower(mode) {
	case "", ModeAuto:
		if KernelCanMount(fstype) {
			return ModeKernel, nil
		}
		return ModeFUSE, nil
	case ModeKernel:
		if !KernelCanMount(fstype) {
			return "", fmt.Errorf("%w: the kernel cannot mount %s (not in /proc/filesystems, modprobe %s fails); use -fs fuse", ErrMode, fstype, KernelFSType(fstype))
		}
		return ModeKernel, nil
	case ModeFUSE:
		return ModeFUSE, nil
	}
	return "", fmt.Errorf("%w: %q (want %s, %s or %s)", ErrMode, mode, ModeAuto, ModeKernel, ModeFUSE)
}
