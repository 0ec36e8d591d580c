package vmount_test

import (
	"fmt"
	"log"

	"github.com/bulletproof-labs/wsvcb/vcb/vmdk"
	"github.com/bulletproof-labs/wsvcb/vcb/vmount"
)

// Mount the first file system of a backed-up disk read-only on
// /mnt/restore in this process, letting the package pick the mode. Needs
// root, so it is compiled but not run.
func ExampleManager_Mount() {
	m := &vmount.Manager{} // state in /run/vmmount
	mt, err := m.Mount("/mnt/restore", "/backup/vm1/disk.vmdk", nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("mounted", mt.FSType, "in", mt.Mode, "mode")
	// ... copy files out of /mnt/restore ...
	if err := mt.Close(); err != nil { // or, after a crash: m.Unmount("/mnt/restore")
		log.Fatal(err)
	}
}

// Mount partition 2 step by step, as examples/vmmount does with its
// background server process: Prepare records the mount, Serve starts the
// FUSE server (there: in the background process), Started records its PID
// and, in kernel mode, attaches the loop device and mounts.
func ExampleManager_Prepare() {
	m := &vmount.Manager{}
	s, err := m.Prepare("/mnt/restore", "/backup/vm1/disk.vmdk", &vmount.Options{Partition: 2, Mode: vmount.ModeFUSE})
	if err != nil {
		log.Fatal(err)
	}
	srv, err := vmount.Serve(s)
	if err != nil {
		log.Fatal(err)
	}
	go srv.Wait()
	if err := m.Started(s, 0); err != nil { // 0: served by this process
		log.Fatal(err)
	}
	if err := m.Unmount(s.Dir); err != nil {
		log.Fatal(err)
	}
}

// The lower-level kernel-mode steps on any io.ReaderAt: ServeDisk exposes
// the disk as a flat file, MountFS maps and mounts the partition.
func ExampleServeDisk() {
	d, err := vmdk.Open("/backup/vm1/disk.vmdk")
	if err != nil {
		log.Fatal(err)
	}
	m := &vmount.Manager{}
	s, err := m.NewState("/mnt/restore", "/backup/vm1/disk.vmdk")
	if err != nil {
		log.Fatal(err)
	}
	srv, err := vmount.ServeDisk(d, d.Size(), s.FuseDir)
	if err != nil {
		log.Fatal(err)
	}
	go srv.Wait()
	s.Partition, s.Offset, s.Size, s.FSType = 2, 1<<20, 20<<20, "ext4"
	if err := m.MountFS(s); err != nil {
		log.Fatal(err)
	}
	fmt.Println("mounted on", s.Dir, "via", s.LoopDev)
	if err := m.Unmount("/mnt/restore"); err != nil {
		log.Fatal(err)
	}
}

// Which mode ModeAuto picks for a file system type.
func ExampleResolveMode() {
	mode, err := vmount.ResolveMode(vmount.ModeFUSE, "fat16")
	fmt.Println(mode, err)
	_, err = vmount.ResolveMode("nfs", "ext4")
	fmt.Println(err)
	fmt.Println(vmount.KernelFSType("fat32"), vmount.KernelFSType("ext3"))
	// Output:
	// fuse <nil>
	// vmount: mount mode: "nfs" (want auto, kernel or fuse)
	// vfat ext4
}
