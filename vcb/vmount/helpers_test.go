package vmount

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/bulletproof-labs/wsvcb/internal/diskimg"
	"github.com/bulletproof-labs/wsvcb/internal/testenv"
)

func blob(n int, seed uint64) string {
	var s [32]byte
	s[0] = byte(seed)
	b := make([]byte, n)
	rand.NewChaCha8(s).Read(b)
	return string(b)
}

// fatFiles go into the FAT test partition (mkfs.vfat + mcopy -s).
var fatFiles = map[string]string{
	"EFI/BOOT/BOOTX64.EFI":           blob(300_001, 1),
	"grub/grub.cfg":                  "set timeout=5\n",
	"Long File Name With Spaces.txt": "long names survive\n",
	"big.bin":                        blob(2<<20+17, 2),
	"empty.txt":                      "",
	"a/b/c/d/deep.txt":               "deep\n",
}

// fatDisk is an MBR disk with one FAT partition, converted with
// `qemu-img convert -f raw -O vmdk -o subformat=streamOptimized`.
func fatDisk(t testing.TB) string {
	t.Helper()
	return cachedImage(t, "fat", func(dir string) string {
		raw := diskimg.Raw(t, dir, diskimg.Layout{Table: "mbr", Parts: []diskimg.Part{
			{FS: "vfat", MiB: 20, Label: "BOOT", Files: fatFiles},
		}})
		return diskimg.VMDK(t, raw, "streamOptimized")
	})
}

// images holds the test disks, built once per test binary (read-only
// afterwards) and removed by TestMain.
var images struct {
	sync.Mutex
	dir   string
	paths map[string]string
}

func cachedImage(t testing.TB, name string, build func(dir string) string) string {
	t.Helper()
	images.Lock()
	defer images.Unlock()
	if p, ok := images.paths[name]; ok {
		return p
	}
	if images.dir == "" {
		d, err := os.MkdirTemp("", "vmount-test-")
		must(t, err)
		images.dir, images.paths = d, map[string]string{}
	}
	dir := filepath.Join(images.dir, name)
	os.RemoveAll(dir)
	must(t, os.MkdirAll(dir, 0o755))
	p := build(dir)
	images.paths[name] = p
	return p
}

// ext4Files go into the ext4 test image; ext4Tree adds a symbolic link,
// a hard link and modes.
var ext4Files = map[string]string{
	"etc/hostname":          "backup-vm\n",
	"etc/shadow":            "root:*:19000::::::\n",
	"usr/bin/tool":          "#!/bin/sh\necho hi\n",
	"var/lib/blob.bin":      blob(2<<20+333, 3),
	"home/user/empty.txt":   "",
	"home/user/notes-a.md":  "# notes\n",
	"home/user/dir/x/y.txt": "y\n",
}

// ext4Sparse is the content of ext4SparseName in the ext4 test image: 1
// MiB of holes around 8 KiB of data at 300 KiB.
var ext4Sparse = func() string {
	b := make([]byte, 1<<20)
	copy(b[300<<10:], blob(8192, 11))
	return string(b)
}()

const ext4SparseName = "var/lib/sparse.bin"

// ext4Disk is an ext4 file system on a whole disk (no partition table),
// made with `mkfs.ext4 -q -F -L root -d SRC disk.raw 16M` (SRC holds
// ext4Files, a symlink etc/localtime -> ../usr/share/zoneinfo/UTC, a hard
// link usr/bin/tool2, a setuid usr/bin/su, a sticky tmp, a fifo
// run/initctl, a sparse var/lib/sparse.bin) and converted with
// `qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse`.
func ext4Disk(t testing.TB, bigMiB int) string {
	t.Helper()
	return cachedImage(t, "ext4-"+strconv.Itoa(bigMiB), func(dir string) string { return buildExt4(t, dir, bigMiB) })
}

func buildExt4(t testing.TB, dir string, bigMiB int) string {
	src := filepath.Join(dir, "src")
	for name, content := range ext4Files {
		p := filepath.Join(src, filepath.FromSlash(name))
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(content), 0o644))
	}
	must(t, os.Chmod(filepath.Join(src, "etc/shadow"), 0o600))
	must(t, os.Chmod(filepath.Join(src, "usr/bin/tool"), 0o755))
	must(t, os.Symlink("../usr/share/zoneinfo/UTC", filepath.Join(src, "etc/localtime")))
	must(t, os.Link(filepath.Join(src, "usr/bin/tool"), filepath.Join(src, "usr/bin/tool2")))
	must(t, os.MkdirAll(filepath.Join(src, "run"), 0o755))
	must(t, syscall.Mkfifo(filepath.Join(src, "run/initctl"), 0o600))
	must(t, os.MkdirAll(filepath.Join(src, "tmp"), 0o755))
	must(t, os.Chmod(filepath.Join(src, "tmp"), 0o1777|os.ModeSticky))
	must(t, os.WriteFile(filepath.Join(src, "usr/bin/su"), []byte("su\n"), 0o755))
	must(t, os.Chmod(filepath.Join(src, "usr/bin/su"), 0o755|os.ModeSetuid))
	// var/lib/sparse.bin: truncate -s 1M with two blocks written in the
	// middle; mkfs.ext4 -d keeps the holes.
	sp, err := os.Create(filepath.Join(src, filepath.FromSlash(ext4SparseName)))
	must(t, err)
	_, err = sp.WriteAt([]byte(ext4Sparse[300<<10:300<<10+8192]), 300<<10)
	must(t, err)
	must(t, sp.Truncate(int64(len(ext4Sparse))))
	must(t, sp.Close())
	size := 16
	if bigMiB > 0 {
		f, err := os.Create(filepath.Join(src, "large.bin"))
		must(t, err)
		r := rand.NewChaCha8([32]byte{9})
		buf := make([]byte, 1<<20)
		for range bigMiB {
			r.Read(buf)
			_, err := f.Write(buf)
			must(t, err)
		}
		must(t, f.Close())
		size += bigMiB + bigMiB/8
	}
	raw := filepath.Join(dir, "disk.raw")
	diskimg.Run(t, testenv.RequireTool(t, "mkfs.ext4"), "-q", "-F", "-L", "root", "-d", src, raw, strconv.Itoa(size)+"M")
	return diskimg.VMDK(t, raw, "monolithicSparse")
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// entry is what walking a mounted tree sees of one name.
type entry struct {
	Mode  fs.FileMode
	Size  int64
	Sum   string // SHA-256 of a regular file
	Link  string // symlink target
	MTime int64  // seconds
	UID   uint32
	GID   uint32
}

// walk reads every name under root with os/filepath (through the kernel).
func walk(t *testing.T, root string) map[string]entry {
	t.Helper()
	got := map[string]entry{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." || rel == "lost+found" && d.IsDir() {
			if rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		e := entry{Mode: fi.Mode(), MTime: fi.ModTime().Unix(), UID: st.Uid, GID: st.Gid}
		switch {
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if int64(len(b)) != fi.Size() {
				t.Errorf("%s: stat size %d, read %d bytes", rel, fi.Size(), len(b))
			}
			e.Size, e.Sum = fi.Size(), sum(string(b))
		case fi.Mode()&fs.ModeSymlink != 0:
			e.Link, err = os.Readlink(p)
			if err != nil {
				return err
			}
			e.Size = fi.Size()
		}
		got[filepath.ToSlash(rel)] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:8])
}

// checkFiles compares the regular files of a walk with what was put in.
func checkFiles(t *testing.T, got map[string]entry, want map[string]string) {
	t.Helper()
	var names []string
	for n, e := range got {
		if e.Mode.IsRegular() {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		w, ok := want[n]
		if !ok {
			t.Errorf("unexpected file %s", n)
			continue
		}
		if g := got[n]; g.Size != int64(len(w)) || g.Sum != sum(w) {
			t.Errorf("%s: %d bytes sha256 %s, want %d bytes %s", n, g.Size, g.Sum, len(w), sum(w))
		}
	}
	for n := range want {
		if _, ok := got[n]; !ok {
			t.Errorf("missing %s", n)
		}
	}
}

// requireMount skips (or fails in CI) without root, qemu-img or /dev/fuse.
func requireMount(t testing.TB) {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "qemu-img")
	testenv.RequirePath(t, "/dev/fuse")
}

// checkClean fails if anything of the mount on dir with state in stateDir
// is left: a mount, a loop device backed by its FUSE file, a state file.
func checkClean(t *testing.T, stateDir, dir string) {
	t.Helper()
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mi), dir) || strings.Contains(string(mi), stateDir) {
		t.Errorf("mount left behind:\n%s", mi)
	}
	ms, _ := filepath.Glob(filepath.Join(stateDir, "*"))
	if len(ms) > 0 {
		t.Errorf("state left behind: %v", ms)
	}
	bs, _ := filepath.Glob("/sys/block/loop*/loop/backing_file")
	for _, b := range bs {
		if c, _ := os.ReadFile(b); strings.HasPrefix(string(c), stateDir) {
			t.Errorf("loop device left behind: %s -> %s", b, c)
		}
	}
}
