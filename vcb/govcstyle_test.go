package vcb_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/bulletproof-labs/wsvcb/vcb"
	"github.com/bulletproof-labs/wsvcb/vcb/vcbtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// createGovcStyle creates a VM the way `govc vm.create -ds LocalDS_0
// -disk <capacity> name` does: an LSI Logic controller and a new disk
// (FileOperation create), so that vcsim writes a text descriptor at
// name/name.vmdk and an empty extent name/name-flat.vmdk. Then it fills
// the extent with data as `govc datastore.upload data name/name-flat.vmdk`
// does, and returns the datastore.
func createGovcStyle(t *testing.T, e *env, name string, capacity int64, data []byte) *object.Datastore {
	t.Helper()
	ctx := context.Background()
	finder := find.NewFinder(e.c.Vim(), false)
	finder.SetDatacenter(e.c.Datacenter())
	ds, err := finder.Datastore(ctx, "LocalDS_0")
	require.NoError(t, err)
	pool, err := vcbtest.DefaultPool(ctx, finder)
	require.NoError(t, err)
	folders, err := e.c.Datacenter().Folders(ctx)
	require.NoError(t, err)

	var devices object.VirtualDeviceList
	ctrl, err := devices.CreateSCSIController("lsilogic")
	require.NoError(t, err)
	devices = append(devices, ctrl)
	disk := devices.CreateDisk(ctrl.(types.BaseVirtualController), ds.Reference(), ds.Path(name+"/"+name+".vmdk"))
	disk.CapacityInKB = capacity / 1024
	devices = append(devices, disk)
	changes, err := devices.ConfigSpec(types.VirtualDeviceConfigSpecOperationAdd)
	require.NoError(t, err)
	for _, c := range changes {
		if _, ok := c.GetVirtualDeviceConfigSpec().Device.(*types.VirtualDisk); ok {
			c.GetVirtualDeviceConfigSpec().FileOperation = types.VirtualDeviceConfigSpecFileOperationCreate
		}
	}
	spec := types.VirtualMachineConfigSpec{
		Name: name, GuestId: "otherGuest64", NumCPUs: 1, MemoryMB: 128,
		Files:        &types.VirtualMachineFileInfo{VmPathName: "[LocalDS_0]"},
		DeviceChange: changes,
	}
	task, err := folders.VmFolder.CreateVM(ctx, spec, pool, nil)
	require.NoError(t, err)
	_, err = task.WaitForResult(ctx, nil)
	require.NoError(t, err)

	// vcsim laid the disk out as a descriptor plus a flat extent.
	rc, _, err := ds.Download(ctx, name+"/"+name+".vmdk", nil)
	require.NoError(t, err)
	desc, _ := io.ReadAll(rc)
	rc.Close()
	require.Contains(t, string(desc), name+"-flat.vmdk", "vcsim no longer writes a descriptor naming a flat extent")

	p := soap.DefaultUpload
	p.ContentLength = int64(len(data))
	require.NoError(t, ds.Upload(ctx, bytes.NewReader(data), name+"/"+name+"-flat.vmdk", &p))
	return ds
}

func download(t *testing.T, ds *object.Datastore, rel string) []byte {
	t.Helper()
	rc, _, err := ds.Download(context.Background(), rel, nil)
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return b
}

// TestBackupGovcStyleDescriptorDisk is issue 11: the lease serves the
// descriptor; the backup must hold the flat extent's data, and a restore
// as a copy must put it where the copy's descriptor points.
func TestBackupGovcStyleDescriptorDisk(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	const capacity = 4 << 20
	data := make([]byte, capacity)
	rng := rand.NewChaCha8([32]byte{11})
	_, _ = rng.Read(data)
	ds := createGovcStyle(t, e, "vm1", capacity, data)

	vm, err := e.c.Find(ctx, mustSel(t, "name:vm1"))
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "vm1")
	man, err := e.c.Backup(ctx, vm, dir, nil)
	require.NoError(t, err)
	disks := man.Disks()
	require.Len(t, disks, 1)
	assert.Equal(t, int64(capacity), disks[0].RawSize)
	assert.Equal(t, int64(capacity), disks[0].Capacity)
	assert.Equal(t, vcb.FormatFlat, disks[0].Format)
	stored, err := os.ReadFile(filepath.Join(dir, disks[0].Name))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(data, stored), "backup's disk content differs from the uploaded bytes")
	_, err = vcb.Verify(dir)
	require.NoError(t, err)

	res, err := e.c.Restore(ctx, dir, &vcb.RestoreOptions{Name: "vm1-copy"})
	require.NoError(t, err)
	assert.True(t, res.Verified)
	got := download(t, ds, "vm1-copy/vm1-copy-flat.vmdk")
	assert.True(t, bytes.Equal(data, got), "restored flat extent differs from the source (%d bytes)", len(got))
	assert.Contains(t, string(download(t, ds, "vm1-copy/vm1-copy.vmdk")), `"vm1-copy-flat.vmdk"`)
}

// TestBackupShortExtentFails: `govc vm.create -disk 4MB` then an upload
// of less than the capacity: the backup must fail with a typed error
// naming the disk and leave neither a folder nor a snapshot.
func TestBackupShortExtentFails(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	const capacity = 4 << 20
	createGovcStyle(t, e, "short", capacity, make([]byte, capacity/2))
	vm, err := e.c.Find(ctx, mustSel(t, "name:short"))
	require.NoError(t, err)
	parent := t.TempDir()
	_, err = e.c.Backup(ctx, vm, filepath.Join(parent, "short"), nil)
	require.Error(t, err)
	assert.ErrorIs(t, err, vcb.ErrIncomplete)
	var dse *vcb.DiskSizeError
	require.True(t, errors.As(err, &dse), "%v", err)
	assert.Contains(t, dse.Disk, "short/short.vmdk")
	assert.Equal(t, int64(capacity), dse.Capacity)
	assert.Equal(t, int64(capacity/2), dse.Got)
	entries, err := os.ReadDir(parent)
	require.NoError(t, err)
	assert.Empty(t, entries, "partial backup left behind")
	assertNoSnapshots(t, e, vm.MoRef)
}

// TestVerifyChecksCapacity: -verify refuses a flat disk whose content does
// not cover the capacity the manifest records.
func TestVerifyChecksCapacity(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	const capacity = 1 << 20
	createGovcStyle(t, e, "cap", capacity, make([]byte, capacity))
	vm, err := e.c.Find(ctx, mustSel(t, "name:cap"))
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "cap")
	_, err = e.c.Backup(ctx, vm, dir, nil)
	require.NoError(t, err)
	mp := filepath.Join(dir, vcb.ManifestFile)
	js, err := os.ReadFile(mp)
	require.NoError(t, err)
	bad := bytes.Replace(js, []byte(`"capacityBytes": 1048576`), []byte(`"capacityBytes": 2097152`), -1)
	require.NotEqual(t, js, bad)
	require.NoError(t, os.WriteFile(mp, bad, 0o644))
	_, err = vcb.Verify(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "capacity 2097152")
}
