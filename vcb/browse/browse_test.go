package browse_test

import (
	"bytes"
	"crypto/sha256"
	"io/fs"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/bulletproof-labs/wsvcb/internal/diskimg"
	"github.com/bulletproof-labs/wsvcb/vcb/browse"
	"github.com/bulletproof-labs/wsvcb/vcb/vmdk"
)

func blob(n int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return string(b)
}

var rootFiles = map[string]string{
	"etc/hostname":                        "backup-vm\n",
	"etc/os-release":                      "NAME=\"Test Linux\"\nVERSION_ID=1\n",
	"etc/ssh/sshd_config":                 "PermitRootLogin no\n",
	"var/lib/blob.bin":                    blob(1<<20+123, 1),
	"home/user/empty.txt":                 "",
	"home/user/notes-a-long-file-name.md": "# notes\n",
}

var bootFiles = map[string]string{
	"EFI/BOOT/BOOTX64.EFI": blob(70000, 2),
	"grub.cfg":             "set timeout=5\n",
	"LongFileName.txt":     "long names survive\n",
}

// layouts are disks with MBR and GPT tables, FAT and ext4 partitions.
var layouts = map[string]diskimg.Layout{
	"mbr": {Table: "mbr", Parts: []diskimg.Part{
		{FS: "vfat", MiB: 40, Label: "BOOT", Files: bootFiles},
		{FS: "ext4", MiB: 24, Label: "root", Files: rootFiles},
	}},
	"gpt": {Table: "gpt", Parts: []diskimg.Part{
		{FS: "vfat", MiB: 8, Label: "ESP", Files: bootFiles},
		{FS: "ext4", MiB: 24, Label: "root", Files: rootFiles},
	}},
	"whole": {Parts: []diskimg.Part{{FS: "ext4", MiB: 16, Label: "data", Files: rootFiles}}},
}

// checkFS compares a browsed file system with the files it was built from.
func checkFS(t *testing.T, fsys *browse.FS, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || p == "lost+found" {
			return nil
		}
		b, err := fsys.ReadFile(p)
		if err != nil {
			return err
		}
		got[p] = string(b)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() != int64(len(b)) {
			t.Errorf("%s: size %d, read %d bytes", p, info.Size(), len(b))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for k := range want {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		g, ok := got[name]
		if !ok {
			t.Errorf("missing %s (have %v)", name, keys(got))
			continue
		}
		if g != want[name] {
			t.Errorf("%s: %d bytes sha256 %x, want %d bytes %x", name, len(g), sha256.Sum256([]byte(g)), len(want[name]), sha256.Sum256([]byte(want[name])))
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d files %v, want %d", len(got), keys(got), len(want))
	}
}

func keys(m map[string]string) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}

// TestBrowseVMDK builds disks with go-diskfs tables, mkfs.ext4 -d and
// mkfs.vfat + mcopy, converts them with
// `qemu-img convert -f raw -O vmdk -o subformat=streamOptimized`, and
// browses them through vmdk.Open and browse.Open.
func TestBrowseVMDK(t *testing.T) {
	for name, l := range layouts {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			raw := diskimg.Raw(t, dir, l)
			img := diskimg.VMDK(t, raw, "streamOptimized")
			d, err := vmdk.Open(img)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			disk, err := browse.Open(d, d.Size())
			if err != nil {
				t.Fatal(err)
			}
			if disk.Table() != l.Table {
				t.Fatalf("table %q, want %q", disk.Table(), l.Table)
			}
			if l.Table == "" {
				fsys, err := disk.FileSystem(-1)
				if err != nil {
					t.Fatal(err)
				}
				checkFS(t, fsys, l.Parts[0].Files)
				return
			}
			parts := disk.Partitions()
			if len(parts) != len(l.Parts) {
				t.Fatalf("partitions %+v, want %d", parts, len(l.Parts))
			}
			start := int64(1 << 20)
			for i, p := range l.Parts {
				if parts[i].Index != i+1 || parts[i].Start != start || parts[i].Size != p.MiB<<20 {
					t.Errorf("partition %d = %+v, want start %d size %d", i+1, parts[i], start, p.MiB<<20)
				}
				start += p.MiB << 20
				fsys, err := disk.FileSystem(i + 1)
				if err != nil {
					t.Fatal(err)
				}
				wantType := map[string]string{"ext4": "ext4", "vfat": "fat"}[p.FS]
				if len(fsys.Type) < 3 || fsys.Type[:3] != wantType[:3] {
					t.Errorf("partition %d type %s, want %s", i+1, fsys.Type, p.FS)
				}
				if fsys.Label != p.Label {
					t.Errorf("partition %d label %q, want %q", i+1, fsys.Label, p.Label)
				}
				checkFS(t, fsys, p.Files)
			}
			// -1 picks the first partition with a file system.
			if fsys, err := disk.FileSystem(-1); err != nil || fsys.Partition != 1 {
				t.Errorf("FileSystem(-1) = %v, %v", fsys, err)
			}
			if _, err := disk.FileSystem(9); err == nil {
				t.Error("partition 9 exists?")
			}
		})
	}
}

// Garbage disks give errors, not panics.
func TestBrowseGarbage(t *testing.T) {
	for _, b := range [][]byte{make([]byte, 1<<20), []byte(blob(1<<20, 3))} {
		d, err := browse.Open(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			continue
		}
		if _, err := d.FileSystem(-1); err == nil {
			t.Error("file system found in garbage")
		}
	}
}
