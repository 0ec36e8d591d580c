package browse_test

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/bulletproof-labs/wsvcb/vcb/browse"
)

// FuzzBrowse feeds damaged disks to the partition and file system readers:
// they must return errors, never panic or hang.
func FuzzBrowse(f *testing.F) {
	p := filepath.Join(f.TempDir(), "fat.img")
	if err := makeFAT(p); err != nil {
		f.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	f.Add(b[:64<<10]) // boot sector, FATs and root directory
	mbr := make([]byte, 4096)
	mbr[510], mbr[511] = 0x55, 0xaa
	copy(mbr[446:], []byte{0, 0, 0, 0, 0x83, 0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0})
	f.Add(mbr)
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := browse.Open(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		for _, p := range d.Partitions() {
			if p.Start < 0 || p.Start+p.Size > int64(len(b)) {
				t.Fatalf("partition %+v outside the disk", p)
			}
		}
		fsys, err := d.FileSystem(-1)
		if err != nil {
			return
		}
		n := 0
		fs.WalkDir(fsys, ".", func(p string, de fs.DirEntry, err error) error {
			if n++; err != nil || n > 50 {
				return fs.SkipAll
			}
			if de.Type().IsRegular() {
				if f, err := fsys.Open(p); err == nil {
					io.CopyN(io.Discard, f, 1<<20)
					f.Close()
				}
			}
			return nil
		})
	})
}

func TestExtractRefusesNothingOutside(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fat.img")
	if err := makeFAT(p); err != nil {
		t.Fatal(err)
	}
	img, err := browse.OpenImage(p)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	d, _ := browse.Open(img, img.Size)
	fsys, err := d.FileSystem(0)
	if err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	n, size, err := browse.Extract(fsys, "/", dest)
	if err != nil || n != 1 || size != 10 {
		t.Fatalf("Extract = %d, %d, %v", n, size, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "etc", "hostname")); string(b) != "backup-vm\n" {
		t.Fatalf("extracted %q", b)
	}
	for _, s := range []string{"d.vmdk@2:/etc/x", "d.vmdk:/", "d.vmdk", "a@b.vmdk@1"} {
		tg, err := browse.ParseTarget(s)
		t.Logf("%s -> %+v %v", s, tg, err)
	}
	if tg, _ := browse.ParseTarget("dir/d.vmdk@2:/etc/x"); tg.Disk != "dir/d.vmdk" || tg.Partition != 2 || tg.Path != "/etc/x" {
		t.Errorf("ParseTarget = %+v", tg)
	}
	if _, err := browse.ParseTarget("a@b.vmdk@x:/"); err == nil {
		t.Error("bad partition accepted")
	}
}
