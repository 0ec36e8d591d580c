package browse_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/disk"
	"github.com/diskfs/go-diskfs/filesystem"

	"github.com/bulletproof-labs/wsvcb/vcb/browse"
)

// makeFAT writes a 2 MiB unpartitioned FAT disk holding /etc/hostname.
func makeFAT(path string) error {
	d, err := diskfs.Create(path, 2<<20, diskfs.SectorSize512)
	if err != nil {
		return err
	}
	defer d.Close()
	fsys, err := d.CreateFilesystem(disk.FilesystemSpec{Partition: 0, FSType: filesystem.TypeFat32, VolumeLabel: "DEMO"})
	if err != nil {
		return err
	}
	if err := fsys.Mkdir("/etc"); err != nil {
		return err
	}
	f, err := fsys.OpenFile("/etc/hostname", os.O_CREATE|os.O_RDWR)
	if err != nil {
		return err
	}
	if _, err := f.Write([]byte("backup-vm\n")); err != nil {
		return err
	}
	return f.Close()
}

// Open a disk image (VMDK or raw), pick its first file system, list a
// directory and read a file, as `vmmount ls` and `vmmount cat` do.
func Example() {
	dir, _ := os.MkdirTemp("", "browse")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "disk.img")
	if err := makeFAT(path); err != nil {
		fmt.Println(err)
		return
	}
	t, _ := browse.ParseTarget(path + ":/etc/hostname")
	img, err := browse.OpenImage(t.Disk)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer img.Close()
	d, err := browse.Open(img, img.Size)
	if err != nil {
		fmt.Println(err)
		return
	}
	fsys, err := d.FileSystem(t.Partition)
	if err != nil {
		fmt.Println(err)
		return
	}
	ents, _ := fsys.ReadDir("/etc")
	for _, e := range ents {
		fmt.Println(e.Name())
	}
	b, _ := fsys.ReadFile(t.Path)
	fmt.Printf("%s %s %q\n", img.Format, fsys.Label, b)
	// Output:
	// hostname
	// raw DEMO "backup-vm\n"
}

// A GPT header that declares a million partition entries is refused
// before go-diskfs would allocate a table for them.
func ExampleFormatError() {
	img := make([]byte, 1<<20)
	h := img[512:]
	copy(h, "EFI PART")
	binary.LittleEndian.PutUint32(h[8:], 0x00010000) // revision 1.0
	binary.LittleEndian.PutUint32(h[12:], 92)        // header size
	binary.LittleEndian.PutUint64(h[24:], 1)
	binary.LittleEndian.PutUint64(h[32:], 2047)
	binary.LittleEndian.PutUint64(h[40:], 34)
	binary.LittleEndian.PutUint64(h[48:], 2014)
	binary.LittleEndian.PutUint64(h[72:], 2)     // entry array LBA
	binary.LittleEndian.PutUint32(h[80:], 1<<20) // entries
	binary.LittleEndian.PutUint32(h[84:], 128)   // entry size
	binary.LittleEndian.PutUint32(h[16:], crc32.ChecksumIEEE(h[:92]))

	_, err := browse.Open(bytes.NewReader(img), int64(len(img)))
	fmt.Println(err)
	fmt.Println(errors.Is(err, browse.ErrCorrupt), errors.Is(err, browse.ErrBadImage))
	// Output:
	// browse: corrupt gpt at byte 592: numberOfPartitionEntries: 1048576 entries exceed 16384
	// true true
}
