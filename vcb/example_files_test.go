package vcb_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/bulletproof-labs/wsvcb/vcb"
	"github.com/bulletproof-labs/wsvcb/vcb/vcbtest"
)

// A file-level backup (vcbMounter -t file) of a VM whose disk is an ext4
// file system made with mkfs.ext4 -d.
func ExampleClient_BackupFiles() {
	defer vcbtest.Quiet()()
	tmp, _ := os.MkdirTemp("", "vcb-example-")
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, "src")
	_ = os.MkdirAll(filepath.Join(src, "etc"), 0o755)
	_ = os.WriteFile(filepath.Join(src, "etc", "hostname"), []byte("web01\n"), 0o644)
	img := filepath.Join(tmp, "disk.img")
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", "-d", src, img, "8M").CombinedOutput(); err != nil {
		log.Fatalf("mkfs.ext4: %v %s", err, out)
	}
	disk, _ := os.ReadFile(img)

	sim, err := vcbtest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer sim.Close()
	ctx := context.Background()
	c, err := vcb.Dial(ctx, &vcb.Config{URL: sim.URL.String(), Username: sim.Username, Password: sim.Password, Thumbprint: sim.Thumbprint})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	obj, err := vcbtest.CreateVM(ctx, c.Vim(), vcbtest.VMSpec{Name: "web01", DiskSizes: []int64{int64(len(disk))}, PowerOn: true})
	if err != nil {
		log.Fatal(err)
	}
	if err := vcbtest.EnableCBT(sim.Model).WriteAt(obj.Reference(), 0, disk, 0); err != nil {
		log.Fatal(err)
	}
	vm, _ := c.Find(ctx, vcb.Selector{Kind: vcb.SelectName, Value: "web01"})

	dir := filepath.Join(tmp, "web01-files")
	res, err := c.BackupFiles(ctx, vm, dir, []string{"/etc"}, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Files, "file(s)")
	b, _ := os.ReadFile(filepath.Join(dir, "files", "scsi0-0-p0", "etc", "hostname"))
	fmt.Printf("%s", b)
	if _, err := vcb.VerifyFiles(dir); err != nil {
		log.Fatal(err)
	}
	list, _ := os.ReadFile(filepath.Join(dir, vcb.FileListName))
	fmt.Printf("%s", list[66:])
	// Output:
	// 1 file(s)
	// web01
	// files/scsi0-0-p0/etc/hostname
}
