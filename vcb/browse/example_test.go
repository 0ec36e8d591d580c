package browse_test

import (
	"fmt"
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
