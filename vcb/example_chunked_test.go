package vcb_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/bulletproof-labs/wsvcb/vcb"
	"github.com/bulletproof-labs/wsvcb/vcb/chunkstore"
	"github.com/bulletproof-labs/wsvcb/vcb/vcbtest"
)

// A full chunked backup, a change of 64 KiB in the guest, then an
// incremental backup that reads only that change through changed block
// tracking (QueryChangedDiskAreas, added to the simulator by vcbtest), and
// a restore of the incremental, which holds the whole disk.
func ExampleClient_BackupChunked() {
	defer vcbtest.Quiet()()
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
	cbt := vcbtest.EnableCBT(sim.Model)
	obj, err := vcbtest.CreateVM(ctx, c.Vim(), vcbtest.VMSpec{Name: "db01", DiskSizes: []int64{4 << 20}, Seed: 1, PowerOn: true})
	if err != nil {
		log.Fatal(err)
	}
	_ = cbt.Track(obj.Reference())
	vm, _ := c.Find(ctx, vcb.Selector{Kind: vcb.SelectName, Value: "db01"})

	tmp, _ := os.MkdirTemp("", "vcb-example-")
	defer os.RemoveAll(tmp)
	store, err := chunkstore.Open(filepath.Join(tmp, "chunks"))
	if err != nil {
		log.Fatal(err)
	}
	full, err := c.BackupChunked(ctx, vm, filepath.Join(tmp, "db01-1"), &vcb.ChunkedOptions{Store: store})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("full: %d bytes read, %d chunks\n", full.Transferred, full.Disks[0].Chunks)

	_ = cbt.WriteAt(obj.Reference(), 0, make([]byte, 64<<10), 1<<20) // the guest writes 64 KiB
	inc, err := c.BackupChunked(ctx, vm, filepath.Join(tmp, "db01-2"), &vcb.ChunkedOptions{Store: store, Parent: filepath.Join(tmp, "db01-1")})
	if err != nil {
		log.Fatal(err)
	}
	d := inc.Disks[0]
	fmt.Printf("incremental: %v, %d bytes read, %d chunk changed\n", d.Incremental, inc.Transferred, d.Changed)

	if _, err := vcb.VerifyChunked(filepath.Join(tmp, "db01-2"), store); err != nil {
		log.Fatal(err)
	}
	res, err := c.RestoreChunked(ctx, filepath.Join(tmp, "db01-2"), store, &vcb.RestoreOptions{Name: "db01-restored"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.VM.Name, "verified:", res.Verified)
	// Output:
	// full: 4194304 bytes read, 16 chunks
	// incremental: true, 65536 bytes read, 1 chunk changed
	// db01-restored verified: true
}
