package vcb_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bulletproof-labs/wsvcb/vcb"
	"github.com/bulletproof-labs/wsvcb/vcb/vcbtest"
	"github.com/vmware/govmomi/find"
)

// backupOne creates a VM with real disks and backs it up.
func backupOne(t *testing.T, e *env, name string, sizes []int64, seed uint64, opts *vcb.BackupOptions) (vcb.VMInfo, string) {
	t.Helper()
	ctx := context.Background()
	if _, err := vcbtest.CreateVM(ctx, e.c.Vim(), vcbtest.VMSpec{Name: name, DiskSizes: sizes, Seed: seed, PowerOn: true}); err != nil {
		t.Fatal(err)
	}
	vm, err := e.c.Find(ctx, mustSel(t, "name:"+name))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), name)
	if _, err := e.c.Backup(ctx, vm, dir, opts); err != nil {
		t.Fatal(err)
	}
	return vm, dir
}

func TestRestoreInPlace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	vm, dir := backupOne(t, e, "inplace", []int64{2 << 20}, 11, nil)

	// Powered on: refused even with overwrite.
	_, err := e.c.Restore(ctx, dir, &vcb.RestoreOptions{Overwrite: true})
	if !errors.Is(err, vcb.ErrPoweredOn) {
		t.Fatalf("overwrite of a running VM: %v, want ErrPoweredOn", err)
	}
	obj, _ := e.findObject(ctx, vm.MoRef)
	task, err := obj.PowerOff(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := e.c.Restore(ctx, dir, &vcb.RestoreOptions{Overwrite: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Replaced != vm.MoRef || res.VM.Name != "inplace" || res.VM.BIOSUUID != vm.BIOSUUID {
		t.Fatalf("in-place restore: %+v (original %s %s)", res, vm.MoRef, vm.BIOSUUID)
	}
	if got := datastoreSum(t, e, vcbtest.DiskPath("inplace", 0)); got != sum(vcbtest.DiskContent(11, 2<<20)) {
		t.Fatalf("restored disk differs")
	}
}

func TestRestoreAltCatalogOtherVCenter(t *testing.T) {
	t.Parallel()
	src := newEnv(t)
	_, dir := backupOne(t, src, "moved", []int64{1 << 20, 1 << 20}, 5, &vcb.BackupOptions{Compression: vcb.CompressionZstd})

	// A second, independent simulator: another vCenter.
	dst := newEnv(t)
	ctx := context.Background()
	folders, err := dst.c.Datacenter().Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := folders.VmFolder.CreateFolder(ctx, "restored"); err != nil {
		t.Fatal(err)
	}
	// Edit the catalog as one did for vcbRestore -a.
	f, err := os.Open(filepath.Join(dir, vcb.CatalogFile))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := vcb.ParseCatalog(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	cat.Set(vcb.CatDisplayName, "moved-copy")
	cat.Set(vcb.CatFolder, "/DC0/vm/restored")
	alt := filepath.Join(t.TempDir(), "alt.catalog")
	out, _ := os.Create(alt)
	if _, err := cat.WriteTo(out); err != nil {
		t.Fatal(err)
	}
	out.Close()

	res, err := dst.c.Restore(ctx, dir, &vcb.RestoreOptions{Catalog: alt})
	if err != nil {
		t.Fatal(err)
	}
	finder := find.NewFinder(dst.c.Vim(), false)
	finder.SetDatacenter(dst.c.Datacenter())
	if _, err := finder.VirtualMachine(ctx, "/DC0/vm/restored/moved-copy"); err != nil {
		t.Fatalf("restored VM not in the catalog's folder: %v (%+v)", err, res.VM)
	}
	for i := range 2 {
		if got := datastoreSum(t, dst, vcbtest.DiskPath("moved-copy", i)); got != sum(vcbtest.DiskContent(5+uint64(i), 1<<20)) {
			t.Fatalf("disk %d differs", i)
		}
	}
	// An explicit folder that does not exist is an error, and nothing is left.
	_, err = dst.c.Restore(ctx, dir, &vcb.RestoreOptions{Name: "x2", Folder: "/DC0/vm/nope"})
	if !errors.Is(err, vcb.ErrNotFound) {
		t.Fatalf("missing folder: %v", err)
	}
}

func TestRestoreRefusesCorruptBackup(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, dir := backupOne(t, e, "corrupt", []int64{1 << 20}, 9, nil)
	p := filepath.Join(dir, "scsi0-0-corrupt.vmdk")
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0xff, 0x00, 0xff}, 4096); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = vcb.Verify(dir)
	var ve *vcb.VerifyError
	if !errors.As(err, &ve) || !errors.Is(err, vcb.ErrChecksum) || len(ve.Mismatches) != 1 || ve.Mismatches[0].Name != "scsi0-0-corrupt.vmdk" {
		t.Fatalf("Verify: %v", err)
	}
	_, err = e.c.Restore(context.Background(), dir, &vcb.RestoreOptions{Name: "corrupt-copy"})
	if !errors.Is(err, vcb.ErrChecksum) {
		t.Fatalf("Restore of a corrupt backup: %v", err)
	}
	if vms, _ := e.c.List(context.Background(), mustSel(t, "name:corrupt-copy")); len(vms) != 0 {
		t.Fatal("a VM was created from a corrupt backup")
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	if _, err := vcbtest.CreateVM(ctx, e.c.Vim(), vcbtest.VMSpec{Name: "rot", DiskSizes: []int64{64 << 10}, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	vm, err := e.c.Find(ctx, mustSel(t, "name:rot"))
	if err != nil {
		t.Fatal(err)
	}
	other, dirOther := backupOne(t, e, "other", []int64{64 << 10}, 2, nil)
	_ = other
	parent := t.TempDir()
	if err := os.Rename(dirOther, filepath.Join(parent, "other-1")); err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for i := range 4 {
		d := filepath.Join(parent, "rot-"+string(rune('a'+i)))
		if _, err := e.c.Backup(ctx, vm, d, &vcb.BackupOptions{Keep: 2}); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, d)
		time.Sleep(10 * time.Millisecond)
	}
	got, _, err := vcb.Backups(parent)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{dirs[3], dirs[2], filepath.Join(parent, "other-1")}
	if len(got) != len(want) {
		t.Fatalf("after rotation: %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("after rotation: %v, want %v", got, want)
		}
	}
}
