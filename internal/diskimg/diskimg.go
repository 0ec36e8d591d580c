// Package diskimg builds real partitioned disk images for tests with the
// system's tools: go-diskfs writes the MBR or GPT, `mkfs.ext4 -d` and
// `mkfs.vfat` + `mcopy` (mtools) create populated file systems without
// root, and `qemu-img convert` turns the raw disk into a VMDK.
package diskimg

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/partition/gpt"
	"github.com/diskfs/go-diskfs/partition/mbr"

	"github.com/bulletproof-labs/wsvcb/internal/testenv"
)

// Part is one partition to create.
type Part struct {
	FS    string            // "ext4" or "vfat"
	MiB   int64             // size
	Label string            // file system label
	Files map[string]string // path (slash-separated, relative) -> content
}

// Layout describes a disk.
type Layout struct {
	Table string // "mbr", "gpt" or "" (one file system on the whole disk)
	Parts []Part
}

const startSector = 2048 // 1 MiB alignment, as fdisk does

// Raw builds the raw disk image in dir and returns its path. Commands used:
//
//	mkfs.ext4 -q -F -L LABEL -d SRCDIR part.img SIZEM
//	mkfs.vfat -n LABEL -C part.img SIZEK ; mcopy -s -i part.img SRCDIR/* ::/
func Raw(t testing.TB, dir string, l Layout) string {
	t.Helper()
	raw := filepath.Join(dir, "disk.raw")
	var total int64 = 1 << 20
	for _, p := range l.Parts {
		total += p.MiB << 20
	}
	total += 1 << 20 // room for the GPT backup
	if l.Table == "" {
		if len(l.Parts) != 1 {
			t.Fatal("diskimg: a disk without table holds exactly one file system")
		}
		img := fsImage(t, dir, 0, l.Parts[0])
		if err := os.Rename(img, raw); err != nil {
			t.Fatal(err)
		}
		return raw
	}
	d, err := diskfs.Create(raw, total, diskfs.SectorSize512)
	if err != nil {
		t.Fatal(err)
	}
	start := int64(startSector)
	var mparts []*mbr.Partition
	var gparts []*gpt.Partition
	for i, p := range l.Parts {
		n := p.MiB << 20 / 512
		switch l.Table {
		case "mbr":
			typ := mbr.Linux
			if p.FS == "vfat" {
				typ = mbr.Fat32LBA
			}
			mparts = append(mparts, &mbr.Partition{Index: i + 1, Type: typ, Start: uint32(start), Size: uint32(n)})
		case "gpt":
			typ := gpt.LinuxFilesystem
			if p.FS == "vfat" {
				typ = gpt.MicrosoftBasicData
			}
			gparts = append(gparts, &gpt.Partition{Index: i + 1, Start: uint64(start), End: uint64(start + n - 1),
				Type: typ, Name: p.Label})
		}
		start += n
	}
	if l.Table == "mbr" {
		err = d.Partition(&mbr.Table{LogicalSectorSize: 512, PhysicalSectorSize: 512, Partitions: mparts})
	} else {
		err = d.Partition(&gpt.Table{LogicalSectorSize: 512, PhysicalSectorSize: 512, ProtectiveMBR: true, Partitions: gparts})
	}
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	f, err := os.OpenFile(raw, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	start = startSector
	for i, p := range l.Parts {
		img := fsImage(t, dir, i+1, p)
		b, err := os.ReadFile(img)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt(b, start*512); err != nil {
			t.Fatal(err)
		}
		os.Remove(img)
		start += p.MiB << 20 / 512
	}
	return raw
}

func fsImage(t testing.TB, dir string, n int, p Part) string {
	t.Helper()
	src := filepath.Join(dir, "src"+string(rune('0'+n)))
	names := make([]string, 0, len(p.Files))
	for name := range p.Files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fp := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(fp), 0o755); err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, "/") {
			continue
		}
		if err := os.WriteFile(fp, []byte(p.Files[name]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(src, 0o755)
	img := filepath.Join(dir, "part"+string(rune('0'+n))+".img")
	switch p.FS {
	case "ext4":
		Run(t, testenv.RequireTool(t, "mkfs.ext4"), "-q", "-F", "-L", p.Label, "-d", src, img, itoa(p.MiB)+"M")
	case "vfat":
		Run(t, testenv.RequireTool(t, "mkfs.vfat"), "-n", p.Label, "-C", img, itoa(p.MiB<<10))
		ents, _ := os.ReadDir(src)
		if len(ents) > 0 {
			args := []string{"-s", "-i", img}
			for _, e := range ents {
				args = append(args, filepath.Join(src, e.Name()))
			}
			Run(t, testenv.RequireTool(t, "mcopy"), append(args, "::/")...)
		}
	default:
		t.Fatalf("diskimg: unknown file system %q", p.FS)
	}
	return img
}

// VMDK converts raw into a VMDK of the given qemu subformat:
//
//	qemu-img convert -f raw -O vmdk -o subformat=SUB disk.raw disk.vmdk
func VMDK(t testing.TB, raw, subformat string) string {
	t.Helper()
	out := strings.TrimSuffix(raw, filepath.Ext(raw)) + ".vmdk"
	Run(t, testenv.RequireTool(t, "qemu-img"), "convert", "-f", "raw", "-O", "vmdk", "-o", "subformat="+subformat, raw, out)
	return out
}

// Run runs a command and fails the test with its output on error.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
