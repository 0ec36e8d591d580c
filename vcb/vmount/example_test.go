package vmount_test

import (
	"fmt"
	"log"

	"github.com/bulletproof-labs/wsvcb/vcb/vmdk"
	"github.com/bulletproof-labs/wsvcb/vcb/vmount"
)

// Mount partition 2 of a backed-up disk read-only on /mnt/restore, in one
// process (examples/vmmount runs the FUSE server in a background process
// instead, so that the mount outlives the command). Needs root, so it is
// compiled but not run.
func Example() {
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
	// ... copy files out of /mnt/restore ...
	if err := m.Unmount("/mnt/restore"); err != nil {
		log.Fatal(err)
	}
}
