package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulletproof-labs/wsvcb/internal/diskimg"
	"github.com/bulletproof-labs/wsvcb/internal/testenv"
	"github.com/bulletproof-labs/wsvcb/vcb/vmount"
)

var files = map[string]string{
	"etc/hostname":        "backup-vm\n",
	"etc/fstab":           "/dev/sda2 / ext4 defaults 0 1\n",
	"home/alice/todo.txt": strings.Repeat("restore me\n", 5000),
}

var bootFiles = map[string]string{
	"grub/grub.cfg":        "set timeout=5\n",
	"EFI/BOOT/BOOTX64.EFI": strings.Repeat("\x7fELF boot loader ", 12345),
	"Long File Name.txt":   "long names survive\n",
	"empty":                "",
}

// testDisk builds an MBR disk (FAT boot partition, ext4 root), converted
// with `qemu-img convert -f raw -O vmdk -o subformat=streamOptimized`.
func testDisk(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	raw := diskimg.Raw(t, dir, diskimg.Layout{Table: "mbr", Parts: []diskimg.Part{
		{FS: "vfat", MiB: 34, Label: "BOOT", Files: bootFiles},
		{FS: "ext4", MiB: 20, Label: "root", Files: files},
	}})
	return diskimg.VMDK(t, raw, "streamOptimized")
}

// wholeDisk is an ext4 file system without partition table, as
// monolithicSparse: qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse.
func wholeDisk(t *testing.T) string {
	raw := diskimg.Raw(t, t.TempDir(), diskimg.Layout{Parts: []diskimg.Part{{FS: "ext4", MiB: 12, Label: "data", Files: files}}})
	return diskimg.VMDK(t, raw, "monolithicSparse")
}

func vm(t *testing.T, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), args, &out); err != nil {
		t.Fatalf("vmmount %s: %v", strings.Join(args, " "), err)
	}
	return out.String()
}

func TestBrowseCommands(t *testing.T) {
	t.Parallel()
	disk := testDisk(t)
	parts := vm(t, "parts", disk)
	for _, want := range []string{"fat16", "BOOT", "ext4", "root", "0x0c", "0x83"} {
		if !strings.Contains(parts, want) {
			t.Errorf("parts output lacks %q:\n%s", want, parts)
		}
	}
	if info := vm(t, "info", disk); !strings.Contains(info, "vmdk/streamOptimized") || !strings.Contains(info, "table:   mbr") {
		t.Errorf("info:\n%s", info)
	}
	// Default partition: the first with a file system (FAT); @2 selects ext4.
	if ls := vm(t, "ls", disk+":/"); !strings.Contains(ls, "grub/") {
		t.Errorf("ls / of partition 1:\n%s", ls)
	}
	if ls := vm(t, "ls", disk+"@2:/etc"); ls != "fstab\nhostname\n" {
		t.Errorf("ls @2:/etc = %q", ls)
	}
	if ls := vm(t, "ls", "-l", "-p", "2", disk+":/home/alice"); !strings.Contains(ls, "55000") || !strings.Contains(ls, "todo.txt") {
		t.Errorf("ls -l -p 2:\n%s", ls)
	}
	if got := vm(t, "cat", disk+"@2:/etc/hostname"); got != files["etc/hostname"] {
		t.Errorf("cat hostname = %q", got)
	}
	dest := t.TempDir()
	vm(t, "get", disk+"@2:/home", dest)
	b, err := os.ReadFile(filepath.Join(dest, "alice", "todo.txt"))
	if err != nil || string(b) != files["home/alice/todo.txt"] {
		t.Errorf("get: %v, %d bytes", err, len(b))
	}
	if out := vm(t, "check", disk); !strings.Contains(out, "no errors") {
		t.Errorf("check: %s", out)
	}
	// convert round trip: vmdk -> raw -> monolithicSparse, all equal per qemu-img compare.
	conv := t.TempDir()
	vm(t, "convert", "-t", "raw", disk, filepath.Join(conv, "d.raw"))
	vm(t, "convert", "-t", "monolithicSparse", filepath.Join(conv, "d.raw"), filepath.Join(conv, "d.vmdk"))
	qemu := testenv.RequireTool(t, "qemu-img")
	diskimg.Run(t, qemu, "compare", disk, filepath.Join(conv, "d.raw"))
	diskimg.Run(t, qemu, "compare", disk, filepath.Join(conv, "d.vmdk"))
	diskimg.Run(t, qemu, "check", filepath.Join(conv, "d.vmdk"))
	var out bytes.Buffer
	if err := run(context.Background(), []string{"cat", disk + "@2:/etc/nope"}, &out); err == nil {
		t.Error("cat of a missing file succeeded")
	}
	if err := run(context.Background(), []string{"cat", disk + "@7:/etc/hostname"}, &out); err == nil {
		t.Error("partition 7 exists?")
	}
}

// TestMountRoot runs the built binary as VCB did:
//
//	vmmount -d disk.vmdk -p 2 [-fs kernel|fuse|auto] -sysdl DIR ; cat DIR/etc/hostname ; vmmount -u DIR
//
// and then the crash path: mount, SIGKILL the FUSE server, vmmount -u DIR,
// for the ext4 and the FAT partition in both modes (FAT in kernel mode
// only where the kernel has vfat).
func TestMountRoot(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "qemu-img")
	testenv.RequirePath(t, "/dev/fuse")
	t.Parallel()
	disk := testDisk(t)
	bin := filepath.Join(t.TempDir(), "vmmount")
	diskimg.Run(t, "go", "build", "-o", bin, ".")
	for _, c := range []mountCase{
		{disk + "@2", "", false, "home/alice/todo.txt", files["home/alice/todo.txt"], "kernel"},
		{disk + "@2", "kernel", true, "etc/hostname", files["etc/hostname"], "kernel"},
		{disk + "@2", "fuse", false, "home/alice/todo.txt", files["home/alice/todo.txt"], "fuse"},
		{disk, "kernel", false, "grub/grub.cfg", "set timeout=5\n", "kernel"}, // first file system: FAT
		{disk, "fuse", true, "grub/grub.cfg", "set timeout=5\n", "fuse"},
		{disk, "auto", false, "grub/grub.cfg", "set timeout=5\n", map[bool]string{true: "kernel", false: "fuse"}[vmount.KernelCanMount("vfat")]},
		{wholeDisk(t), "", false, "etc/hostname", files["etc/hostname"], "kernel"},
	} {
		t.Run(c.target[len(filepath.Dir(c.target))+1:]+"/"+c.fs+map[bool]string{true: "/crash"}[c.crash], func(t *testing.T) {
			t.Parallel() // each with its own state and mount directory
			c.run(t, bin, disk)
		})
	}
}

type mountCase struct {
	target string
	fs     string // -fs
	crash  bool
	file   string
	want   string
	mode   string // the mode -l must show
}

// run mounts c.target with the CLI, reads through the mount, optionally
// kills the FUSE server, unmounts and checks that nothing is left.
func (c mountCase) run(t *testing.T, bin, disk string) {
	state := t.TempDir()
	vmb := func(args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "VMMOUNT_STATE_DIR="+state)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	{
		if c.target == disk && c.fs == "kernel" && !vmount.KernelCanMount("vfat") {
			if _, err := vmb("-d", c.target, "-fs", "kernel", "-sysdl", filepath.Join(t.TempDir(), "m")); err == nil {
				t.Error("-fs kernel mounted FAT on a kernel without vfat")
			}
			t.Skip("kernel without vfat (/proc/filesystems, modprobe): FAT kernel-mode mount not tested")
		}
		dir := filepath.Join(t.TempDir(), "mnt")
		t.Cleanup(func() { vmb("-u", dir) })
		args := []string{"-d", c.target, "-sysdl", dir}
		if c.fs != "" {
			args = append(args, "-fs", c.fs)
		}
		out, err := vmb(args...)
		if err != nil {
			t.Fatalf("mount: %v\n%s", err, out)
		}
		t.Logf("%s", out)
		b, err := os.ReadFile(filepath.Join(dir, c.file))
		if err != nil || string(b) != c.want {
			t.Fatalf("%s through the mount: %d bytes, %v", c.file, len(b), err)
		}
		if c.target == disk { // the FAT partition: every file, by SHA-256
			checkTree(t, dir, bootFiles)
		}
		if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o644); err == nil {
			t.Fatal("the mount is writable")
		}
		list, _ := vmb("-l")
		if !strings.Contains(list, dir) || !strings.Contains(list, " "+c.mode+" ") || (c.mode == "kernel") != strings.Contains(list, "/dev/loop") {
			t.Errorf("-l:\n%s", list)
		}
		m, _ := filepath.Glob(filepath.Join(state, "*.json"))
		if len(m) != 1 {
			t.Fatalf("state files %v", m)
		}
		js, _ := os.ReadFile(m[0])
		pid := jsonInt(t, string(js), "fusePid")
		if c.crash {
			// Kill the FUSE server hard, as a crash would.
			if err := syscallKill(pid); err != nil {
				t.Fatal(err)
			}
		}
		if out, err := vmb("-u", dir); err != nil {
			t.Fatalf("-u: %v\n%s", err, out)
		}
		// The server is gone (or a zombie nobody reaped yet: empty cmdline).
		if cl, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && strings.Contains(string(cl), state) {
			t.Errorf("FUSE server %d still runs: %q", pid, cl)
		}
		mi, _ := os.ReadFile("/proc/self/mountinfo")
		if strings.Contains(string(mi), dir) || strings.Contains(string(mi), state) {
			t.Fatalf("mount left behind:\n%s", mi)
		}
		if m, _ := filepath.Glob(filepath.Join(state, "*")); len(m) > 0 && !(len(m) == 1 && strings.HasSuffix(m[0], ".log")) {
			t.Errorf("state left behind: %v", m)
		}
		if _, err := vmb("-u", dir); err == nil {
			t.Error("second -u succeeded")
		}
	}
}

// An unknown -fs mode is refused before the disk is opened or anything
// is mounted.
func TestMountBadMode(t *testing.T) {
	err := run(context.Background(), []string{"-d", "/nonexistent.vmdk", "-fs", "bogus", "-sysdl", t.TempDir()}, io.Discard)
	if !errors.Is(err, vmount.ErrMode) || !strings.Contains(err.Error(), `"bogus"`) {
		t.Fatalf("err = %v, want vmount.ErrMode naming the mode", err)
	}
}
