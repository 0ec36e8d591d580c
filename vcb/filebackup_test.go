package vcb_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulletproof-labs/wsvcb/internal/diskimg"
	"github.com/bulletproof-labs/wsvcb/vcb"
	"github.com/bulletproof-labs/wsvcb/vcb/vcbtest"
)

// newFileEnv creates VM "files01" whose disk is a real MBR disk with an
// ext4 and a FAT file system (built with mkfs.ext4, mkfs.vfat, mcopy).
func newFileEnv(t *testing.T) (*env, vcb.VMInfo) {
	t.Helper()
	raw := diskimg.Raw(t, t.TempDir(), diskimg.Layout{Table: "mbr", Parts: []diskimg.Part{
		{FS: "ext4", MiB: 8, Label: "root", Files: map[string]string{
			"etc/hostname":     "files01\n",
			"etc/app/conf.ini": "[main]\nkey = value\n",
			"home/alice/notes": strings.Repeat("note ", 50000),
		}},
		{FS: "vfat", MiB: 4, Label: "BOOT", Files: map[string]string{"EFI/BOOT.TXT": "boot me\n"}},
	}})
	st, err := os.Stat(raw)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	ctx := context.Background()
	obj, err := vcbtest.CreateVM(ctx, e.c.Vim(), vcbtest.VMSpec{Name: "files01", DiskSizes: []int64{st.Size()}, PowerOn: true, Direct: true})
	if err != nil {
		t.Fatal(err)
	}
	local, err := vcbtest.EnableCBT(e.sim.Model).DiskFile(obj.Reference(), 0)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(local, data, 0o644); err != nil {
		t.Fatal(err)
	}
	vm, err := e.c.Find(ctx, vcb.Selector{Kind: vcb.SelectName, Value: "files01"})
	if err != nil {
		t.Fatal(err)
	}
	return e, vm
}

func TestBackupFiles(t *testing.T) {
	e, vm := newFileEnv(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "files01")
	res, err := e.c.BackupFiles(ctx, vm, dir, []string{"/etc", "/home/alice/notes", "/EFI"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d files, %d bytes, %d disk bytes fetched", res.Files, res.Bytes, res.Fetched)
	if res.Files != 4 {
		t.Fatalf("copied %d files, want 4", res.Files)
	}
	for p, want := range map[string]string{
		"files/scsi0-0-p1/etc/hostname":     "files01\n",
		"files/scsi0-0-p1/etc/app/conf.ini": "[main]\nkey = value\n",
		"files/scsi0-0-p1/home/alice/notes": strings.Repeat("note ", 50000),
		"files/scsi0-0-p2/EFI/BOOT.TXT":     "boot me\n",
	} {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil || string(got) != want {
			t.Fatalf("%s: %q %v", p, got, err)
		}
	}
	if _, err := vcb.VerifyFiles(dir); err != nil {
		t.Fatal(err)
	}
	// The list is sha256sum's format: check it with the real tool.
	if sum, err := exec.LookPath("sha256sum"); err == nil {
		cmd := exec.Command(sum, "-c", "--quiet", vcb.FileListName)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sha256sum -c: %v\n%s", err, out)
		}
	}
	// Only a small part of the disk was read.
	if res.Fetched >= vm.Disks[0].CapacityBytes {
		t.Errorf("fetched %d bytes of a %d-byte disk", res.Fetched, vm.Disks[0].CapacityBytes)
	}
	assertNoSnapshots(t, e, vm.MoRef)

	// A damaged copy is found.
	if err := os.WriteFile(filepath.Join(dir, "files/scsi0-0-p1/etc/hostname"), []byte("evil\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := vcb.VerifyFiles(dir); !errors.Is(err, vcb.ErrChecksum) {
		t.Fatalf("VerifyFiles after damage: %v", err)
	}
}

func TestBackupFilesMissingPath(t *testing.T) {
	e, vm := newFileEnv(t)
	dir := filepath.Join(t.TempDir(), "files01")
	_, err := e.c.BackupFiles(context.Background(), vm, dir, []string{"/etc", "/nonexistent"}, nil)
	if !errors.Is(err, vcb.ErrNotFound) {
		t.Fatalf("err %v, want ErrNotFound", err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(dir)); len(ents) != 0 {
		t.Fatalf("left behind: %v", ents)
	}
	assertNoSnapshots(t, e, vm.MoRef)
}

func FuzzParseFileList(f *testing.F) {
	f.Add([]byte(strings.Repeat("a", 64) + "  files/scsi0-0-p1/etc/hostname\n"))
	f.Add([]byte(strings.Repeat("A", 64) + "  files/../x\n"))
	f.Add([]byte(strings.Repeat("0", 64) + "  /etc/passwd\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ents, err := vcb.ParseFileList(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, e := range ents {
			if strings.HasPrefix(e.Path, "/") || !strings.HasPrefix(e.Path, vcb.FilesDir+"/") {
				t.Fatalf("accepted path %q", e.Path)
			}
			for _, el := range strings.Split(e.Path, "/") {
				if el == ".." || el == "." || el == "" {
					t.Fatalf("accepted path %q", e.Path)
				}
			}
		}
	})
}
