package vcb_test

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bulletproof-labs/wsvcb/vcb"
	"github.com/bulletproof-labs/wsvcb/vcb/vcbtest"
)

// TestBackupMany backs up three VMs two at a time; one fails (its target
// exists), the others complete and verify, and no VM keeps a snapshot.
func TestBackupMany(t *testing.T) {
	env := newEnv(t)
	ctx := context.Background()
	for i, name := range []string{"web01", "web02", "db01"} {
		_, err := vcbtest.CreateVM(ctx, env.c.Vim(), vcbtest.VMSpec{Name: name, DiskSizes: []int64{1 << 20}, Seed: uint64(i + 1), PowerOn: true})
		require.NoError(t, err)
	}
	vms, err := env.c.SelectMany(ctx,
		[]vcb.Selector{{Kind: vcb.SelectName, Value: "web01"}, {Kind: vcb.SelectName, Value: "web02"}, {Kind: vcb.SelectName, Value: "db01"}, {Kind: vcb.SelectName, Value: "web01"}},
		[]vcb.Selector{{Kind: vcb.SelectName, Value: "nosuch"}})
	require.NoError(t, err)
	require.Len(t, vms, 3, "each VM once, sorted by name")
	assert.Equal(t, "db01", vms[0].Name)

	excl, err := env.c.SelectMany(ctx, []vcb.Selector{{Kind: vcb.SelectAny}}, []vcb.Selector{{Kind: vcb.SelectName, Value: "db01"}})
	require.NoError(t, err)
	for _, v := range excl {
		assert.NotEqual(t, "db01", v.Name)
	}

	parent := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(parent, "web02"), 0o755)) // web02's backup must fail
	var running, peak atomic.Int32
	res, err := env.c.BackupMany(ctx, vms, func(vm vcb.VMInfo) string { return filepath.Join(parent, vm.Name) }, &vcb.ManyOptions{
		Concurrency: 2,
		Started: func(vcb.VMInfo, string) {
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
		},
		Done: func(vcb.VMResult) { running.Add(-1) },
	})
	require.NoError(t, err)
	require.Len(t, res, 3)
	assert.LessOrEqual(t, peak.Load(), int32(2))
	for _, r := range res {
		if r.VM.Name == "web02" {
			assert.ErrorIs(t, r.Err, vcb.ErrExists)
			assert.NotEmpty(t, r.Error)
		} else {
			require.NoError(t, r.Err, r.VM.Name)
			assert.Positive(t, r.Bytes)
			_, err := vcb.Verify(r.Dir)
			assert.NoError(t, err)
		}
		assertNoSnapshots(t, env, r.VM.MoRef)
	}
}

// TestBackupManyCanceled: a canceled run starts nothing more, reports the
// cancellation for every VM not backed up, and leaves no snapshot.
func TestBackupManyCanceled(t *testing.T) {
	env := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	for i, name := range []string{"a1", "a2"} {
		_, err := vcbtest.CreateVM(ctx, env.c.Vim(), vcbtest.VMSpec{Name: name, DiskSizes: []int64{1 << 20}, Seed: uint64(i + 1)})
		require.NoError(t, err)
	}
	vms, err := env.c.SelectMany(ctx, []vcb.Selector{{Kind: vcb.SelectName, Value: "a1"}, {Kind: vcb.SelectName, Value: "a2"}}, nil)
	require.NoError(t, err)
	parent := t.TempDir()
	res, err := env.c.BackupMany(ctx, vms, func(vm vcb.VMInfo) string { return filepath.Join(parent, vm.Name) }, &vcb.ManyOptions{
		Started: func(vcb.VMInfo, string) { cancel() },
	})
	assert.ErrorIs(t, err, context.Canceled)
	require.Len(t, res, 2)
	for _, r := range res {
		assert.Error(t, r.Err, r.VM.Name)
		assertNoSnapshots(t, env, r.VM.MoRef)
	}
}
