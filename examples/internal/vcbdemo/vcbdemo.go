// Package vcbdemo is the README's main job for the vcb package: it starts
// an in-process vSphere simulator, creates a VM whose disks hold real
// bytes, backs it up through a snapshot and an NFC export lease, restores
// it as a copy, and shows that the restored disks are byte-identical. No
// root, no vCenter, no network beyond loopback.
package vcbdemo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/bulletproof-labs/wsvcb/vcb"
	"github.com/bulletproof-labs/wsvcb/vcb/vcbtest"
)

// Disk sizes of the demo VM.
var diskSizes = []int64{12 << 20, 4 << 20}

// Run performs the demo and writes a report to w.
//
// Run silences the standard logger while the simulator runs (it logs its
// own TLS and HTTP chatter there) and restores it on return.
func Run(ctx context.Context, w io.Writer) error {
	defer vcbtest.Quiet()()
	sim, err := vcbtest.Start()
	if err != nil {
		return err
	}
	defer sim.Close()
	fmt.Fprintf(w, "vcsim: embedded vCenter simulator on %s (certificate pinned by thumbprint)\n", sim.URL.Host)

	c, err := vcb.Dial(ctx, &vcb.Config{URL: sim.URL.String(), Username: sim.Username, Password: sim.Password, Thumbprint: sim.Thumbprint})
	if err != nil {
		return err
	}
	defer c.Close()

	const name = "web01"
	if _, err := vcbtest.CreateVM(ctx, c.Vim(), vcbtest.VMSpec{Name: name, DiskSizes: diskSizes, Seed: 2009, PowerOn: true}); err != nil {
		return err
	}
	sel, _ := vcb.ParseSelector("name:" + name)
	vm, err := c.Find(ctx, sel)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "vcbvmname -s %s: moref:%s power:%s disks:%d\n", sel, vm.MoRef, vm.PowerState, len(vm.Disks))
	for _, d := range vm.Disks {
		fmt.Fprintf(w, "  %s %s %d MiB\n", d.Slot, d.File, d.CapacityBytes>>20)
	}

	tmp, err := os.MkdirTemp("", "vcbdemo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, name+"-fullvm")
	m, err := c.Backup(ctx, vm, dir, &vcb.BackupOptions{Compression: vcb.CompressionZstd})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "vcbmounter -a moref:%s -r DIR -t fullvm: quiesced snapshot %q, exported via HttpNfcLease, snapshot removed\n", vm.MoRef, m.Snapshot)
	for _, f := range m.Files {
		fmt.Fprintf(w, "  %-7s %-26s %9d bytes\n", f.Kind, f.Name, f.Size)
	}
	if _, err := vcb.Verify(dir); err != nil {
		return err
	}
	fmt.Fprintf(w, "verify: %d files match the manifest\n", len(m.Files))
	snaps, err := snapshotCount(ctx, c, vm.MoRef)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "source VM snapshots left: %d\n", snaps)

	const copyName = name + "-restored"
	res, err := c.Restore(ctx, dir, &vcb.RestoreOptions{Name: copyName})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "vcbrestore -s DIR (as copy %q): moref:%s disks:%d, read back verified: %v\n", copyName, res.VM.MoRef, len(res.VM.Disks), res.Verified)

	finder := find.NewFinder(c.Vim(), false)
	finder.SetDatacenter(c.Datacenter())
	ds, err := finder.Datastore(ctx, "LocalDS_0")
	if err != nil {
		return err
	}
	identical := true
	for i := range diskSizes {
		src, err := dsSum(ctx, ds, vcbtest.DiskPath(name, i))
		if err != nil {
			return err
		}
		dst, err := dsSum(ctx, ds, vcbtest.DiskPath(copyName, i))
		if err != nil {
			return err
		}
		same := src == dst
		identical = identical && same
		fmt.Fprintf(w, "disk %d sha256 source   %s\n", i, src)
		fmt.Fprintf(w, "disk %d sha256 restored %s  identical=%v\n", i, dst, same)
	}
	if !identical {
		return fmt.Errorf("vcbdemo: restored disks differ from the source")
	}
	fmt.Fprintln(w, "result: restored disks are byte-identical to the source")
	return nil
}

// dsSum hashes a datastore file read with govmomi's own datastore
// download, independent of package vcb.
func dsSum(ctx context.Context, ds *object.Datastore, rel string) (string, error) {
	rc, _, err := ds.Download(ctx, rel, nil)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func snapshotCount(ctx context.Context, c *vcb.Client, moref string) (int, error) {
	var vm mo.VirtualMachine
	ref := types.ManagedObjectReference{Type: "VirtualMachine", Value: moref}
	if err := property.DefaultCollector(c.Vim()).RetrieveOne(ctx, ref, []string{"snapshot"}, &vm); err != nil {
		return 0, err
	}
	if vm.Snapshot == nil {
		return 0, nil
	}
	return len(vm.Snapshot.RootSnapshotList), nil
}
