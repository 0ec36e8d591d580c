//go:build linux

package vcb_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/bulletproof-labs/wsvcb/internal/testenv"
	"github.com/bulletproof-labs/wsvcb/vcb"
	"github.com/bulletproof-labs/wsvcb/vcb/chunkstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestChunkedDiskFullRemovesPending backs up a 3 MiB disk in 64 KiB
// chunks into a store on a 1 MiB tmpfs: the kernel's ENOSPC fails the
// backup with ErrWrite, and neither the chunks written before it (pending,
// not yet synced) nor the partial backup stay.
func TestChunkedDiskFullRemovesPending(t *testing.T) {
	testenv.RequireRoot(t)
	ce := newCBTEnv(t, "full01", 3<<20)
	mnt := filepath.Join(t.TempDir(), "small")
	require.NoError(t, mkdir(mnt))
	require.NoError(t, syscall.Mount("tmpfs", mnt, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "size=1m"))
	t.Cleanup(func() { assert.NoError(t, syscall.Unmount(mnt, 0)) })
	storeDir := filepath.Join(mnt, "store")
	st, err := chunkstore.Open(storeDir)
	require.NoError(t, err)

	dir := filepath.Join(ce.root, "backups", "full01")
	_, err = ce.c.BackupChunked(context.Background(), ce.vm, dir, &vcb.ChunkedOptions{Store: st, ChunkSize: 64 << 10})
	require.ErrorIs(t, err, vcb.ErrWrite)
	require.ErrorIs(t, err, syscall.ENOSPC)
	assert.Empty(t, tmpFiles(t, storeDir), "pending chunk files left in the store")
	ents, err := os.ReadDir(filepath.Dir(dir))
	require.NoError(t, err)
	assert.Empty(t, ents, "partial backup or lock left")
	var fsst syscall.Statfs_t
	require.NoError(t, syscall.Statfs(mnt, &fsst))
	assert.Greater(t, fsst.Bfree*uint64(fsst.Bsize), uint64(900<<10), "the tmpfs is still full")
}

// TestPruneRemovesPendingOfDeadBackups: pending chunk files of a backup
// that died (here, just written, far younger than Open's 24 h sweep) are
// removed by a prune once no backup holds the store, and kept, with
// ErrLocked, while one does.
func TestPruneRemovesPendingOfDeadBackups(t *testing.T) {
	root := t.TempDir()
	storeDir := filepath.Join(root, "store")
	st, err := chunkstore.Open(storeDir)
	require.NoError(t, err)
	for _, p := range []string{"tmp/ab/ab12345678901234.1", "tmp/cd/cd12345678901234.2", "tmp/stray"} {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(storeDir, p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(storeDir, p), make([]byte, 1000), 0o644))
	}
	// A symlink in tmp/ is neither followed nor removed.
	outside := filepath.Join(root, "precious")
	require.NoError(t, os.WriteFile(outside, []byte("keep"), 0o644))
	require.NoError(t, os.Symlink(outside, filepath.Join(storeDir, "tmp", "link")))
	backups := filepath.Join(root, "backups")
	require.NoError(t, mkdir(backups))

	release, err := st.Acquire() // a running backup
	require.NoError(t, err)
	_, err = vcb.PruneChunks(st, backups)
	require.ErrorIs(t, err, vcb.ErrLocked)
	require.ErrorIs(t, err, chunkstore.ErrBusy)
	assert.Len(t, tmpFiles(t, storeDir), 3, "a prune during a backup removed its pending files")
	release()

	ps, err := vcb.PruneChunks(st, backups)
	require.NoError(t, err)
	assert.Equal(t, 3, ps.Pending)
	assert.Equal(t, int64(3000), ps.Freed)
	assert.Empty(t, tmpFiles(t, storeDir))
	b, err := os.ReadFile(outside)
	require.NoError(t, err)
	assert.Equal(t, "keep", string(b))

	// And a backup cannot start while a prune holds the store.
	st2, err := chunkstore.Open(storeDir)
	require.NoError(t, err)
	rel2, err := st2.Acquire()
	require.NoError(t, err)
	rel2()
}
