package vcb_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulletproof-labs/wsvcb/vcb"
	"github.com/bulletproof-labs/wsvcb/vcb/vcbtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

func snapshotDescriptions(t *testing.T, vm *object.VirtualMachine) map[string]string {
	t.Helper()
	var m mo.VirtualMachine
	require.NoError(t, vm.Properties(context.Background(), vm.Reference(), []string{"snapshot"}, &m))
	out := map[string]string{}
	var walk func([]types.VirtualMachineSnapshotTree)
	walk = func(ts []types.VirtualMachineSnapshotTree) {
		for _, s := range ts {
			out[s.Name] = s.Description
			walk(s.ChildSnapshotList)
		}
	}
	if m.Snapshot != nil {
		walk(m.Snapshot.RootSnapshotList)
	}
	return out
}

func snapshot(t *testing.T, vm *object.VirtualMachine, name, desc string) {
	t.Helper()
	task, err := vm.CreateSnapshot(context.Background(), name, desc, false, false)
	require.NoError(t, err)
	require.NoError(t, task.Wait(context.Background()))
}

// TestBackupStaleSnapshots: a backup removes vcb snapshots whose backup
// died on this host (lock free), keeps and reports those it cannot tell
// dead (another host, an older version) unless RemoveStaleSnapshots, and
// never touches a user's snapshot.
func TestBackupStaleSnapshots(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	vm, err := vcbtest.CreateVM(ctx, e.c.Vim(), vcbtest.VMSpec{Name: "stale01", DiskSizes: []int64{1 << 20}, Seed: 5, Direct: true})
	require.NoError(t, err)
	host, _ := os.Hostname()
	parent := t.TempDir()
	snapshot(t, vm, "before-upgrade", "the user's own")
	snapshot(t, vm, "vcb-1", "vcb backup lock="+host+":"+filepath.Join(t.TempDir(), "gone.lock"))
	snapshot(t, vm, "vcb-2", "vcb backup")                                // an older version
	snapshot(t, vm, "vcb-3", "vcb backup lock=elsewhere:/backups/x.lock") // another host

	var seen []vcb.StaleSnapshot
	opts := &vcb.BackupOptions{OnStaleSnapshot: func(s vcb.StaleSnapshot) { seen = append(seen, s) }}
	vmi := vcb.VMInfo{MoRef: vm.Reference().Value}
	_, err = e.c.Backup(ctx, vmi, filepath.Join(parent, "b1"), opts)
	require.NoError(t, err)
	require.Len(t, seen, 3)
	removed := map[string]bool{}
	for _, s := range seen {
		removed[s.Name] = s.Removed
		if !s.Removed {
			assert.Contains(t, s.String(), "-remove-stale-snapshots")
		}
	}
	assert.Equal(t, map[string]bool{"vcb-1": true, "vcb-2": false, "vcb-3": false}, removed)
	left := snapshotDescriptions(t, vm)
	assert.Contains(t, left, "before-upgrade")
	assert.Len(t, left, 3, "%v", left)

	seen = nil
	opts.RemoveStaleSnapshots = true
	_, err = e.c.Backup(ctx, vmi, filepath.Join(parent, "b2"), opts)
	require.NoError(t, err)
	assert.Len(t, seen, 2)
	assert.Equal(t, map[string]string{"before-upgrade": "the user's own"}, snapshotDescriptions(t, vm))
}

// TestBackupLocked: while a backup of a VM runs, another one into the
// same parent fails with ErrLocked and leaves nothing; the first goes on
// and succeeds.
func TestBackupLocked(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	vm, err := vcbtest.CreateVM(ctx, e.c.Vim(), vcbtest.VMSpec{Name: "lock01", DiskSizes: []int64{1 << 20}, Seed: 6, Direct: true})
	require.NoError(t, err)
	vmi := vcb.VMInfo{MoRef: vm.Reference().Value}
	parent := t.TempDir()
	var second error
	opts := &vcb.BackupOptions{PostThaw: func(ctx context.Context, _ vcb.VMInfo) error {
		_, second = e.c.Backup(ctx, vmi, filepath.Join(parent, "second"), nil)
		return nil
	}}
	_, err = e.c.Backup(ctx, vmi, filepath.Join(parent, "first"), opts)
	require.NoError(t, err)
	require.ErrorIs(t, second, vcb.ErrLocked)
	var ve *vcb.Error
	require.ErrorAs(t, second, &ve)
	assert.Equal(t, vmi.MoRef, ve.VM)
	ents, err := os.ReadDir(parent)
	require.NoError(t, err)
	require.Len(t, ents, 1)
	assert.Equal(t, "first", ents[0].Name())
	for name, desc := range snapshotDescriptions(t, vm) {
		assert.False(t, strings.HasPrefix(desc, "vcb backup"), "snapshot %s left", name)
	}
}
