package vcb_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/bulletproof-labs/wsvcb/vcb"
	"github.com/bulletproof-labs/wsvcb/vcb/chunkstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tmpFiles lists the regular files under a store's tmp/.
func tmpFiles(t *testing.T, store string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(filepath.Join(store, "tmp"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			out = append(out, p)
		}
		return err
	})
	require.NoError(t, err)
	return out
}

// recipeContent reassembles the first disk of a chunked backup.
func recipeContent(t *testing.T, dir string, st *chunkstore.Store) []byte {
	t.Helper()
	m, err := vcb.ReadManifest(dir)
	require.NoError(t, err)
	f, ok := m.FileOf(vcb.KindRecipe)
	require.True(t, ok)
	fh, err := os.Open(filepath.Join(dir, f.Name))
	require.NoError(t, err)
	defer fh.Close()
	r, err := chunkstore.ParseRecipe(fh)
	require.NoError(t, err)
	var buf bytes.Buffer
	_, err = r.WriteDisk(st, &buf)
	require.NoError(t, err)
	return buf.Bytes()
}

// TestChunkedGovcStyleDisk: a chunked backup of a VM made the govc way
// (descriptor + flat extent filled with datastore.upload) holds the
// extent's data, not the descriptor padded with zeros.
func TestChunkedGovcStyleDisk(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	const capacity = 2 << 20
	data := make([]byte, capacity)
	_, _ = rand.NewChaCha8([32]byte{12}).Read(data)
	createGovcStyle(t, e, "chunky", capacity, data)
	vm, err := e.c.Find(ctx, mustSel(t, "name:chunky"))
	require.NoError(t, err)
	root := t.TempDir()
	st, err := chunkstore.Open(filepath.Join(root, "store"))
	require.NoError(t, err)
	dir := filepath.Join(root, "b1")
	res, err := e.c.BackupChunked(ctx, vm, dir, &vcb.ChunkedOptions{Store: st})
	require.NoError(t, err)
	require.Len(t, res.Disks, 1)
	assert.Equal(t, int64(capacity), res.Disks[0].Transferred)
	assert.True(t, bytes.Equal(data, recipeContent(t, dir, st)), "chunked backup differs from the flat extent")

	// A backup with the first as parent (no CBT here: in full) too.
	dir2 := filepath.Join(root, "b2")
	_, err = e.c.BackupChunked(ctx, vm, dir2, &vcb.ChunkedOptions{Store: st, Parent: dir})
	require.NoError(t, err)
	assert.True(t, bytes.Equal(data, recipeContent(t, dir2, st)))
	_, err = vcb.VerifyChunked(dir2, st)
	require.NoError(t, err)
}

// assertDiskSizeError checks the typed error of a disk not covering its
// capacity.
func assertDiskSizeError(t *testing.T, err error, disk string, capacity, got int64) {
	t.Helper()
	require.ErrorIs(t, err, vcb.ErrIncomplete)
	var dse *vcb.DiskSizeError
	require.True(t, errors.As(err, &dse), "%v", err)
	assert.Contains(t, dse.Disk, disk)
	assert.Equal(t, capacity, dse.Capacity)
	assert.Equal(t, got, dse.Got)
}

// TestChunkedAndFileBackupShortExtentFail: the capacity invariant on the
// chunked and file-level paths: a flat extent holding half the capacity
// fails the backup with ErrIncomplete naming the disk, and leaves no
// folder, no snapshot and no pending chunk.
func TestChunkedAndFileBackupShortExtentFail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	const capacity = 2 << 20
	createGovcStyle(t, e, "halfdisk", capacity, make([]byte, capacity/2))
	vm, err := e.c.Find(ctx, mustSel(t, "name:halfdisk"))
	require.NoError(t, err)
	root := t.TempDir()
	storeDir := filepath.Join(root, "store")
	st, err := chunkstore.Open(storeDir)
	require.NoError(t, err)
	parent := filepath.Join(root, "backups")

	_, err = e.c.BackupChunked(ctx, vm, filepath.Join(parent, "chunked"), &vcb.ChunkedOptions{Store: st})
	assertDiskSizeError(t, err, "halfdisk/halfdisk.vmdk", capacity, capacity/2)
	assert.Empty(t, tmpFiles(t, storeDir))

	_, err = e.c.BackupFiles(ctx, vm, filepath.Join(parent, "files"), []string{"/etc"}, nil)
	assertDiskSizeError(t, err, "halfdisk/halfdisk.vmdk", capacity, capacity/2)

	ents, err := os.ReadDir(parent)
	require.NoError(t, err)
	assert.Empty(t, ents, "partial backup left behind")
	assertNoSnapshots(t, e, vm.MoRef)
}

// TestBackupProgressCountsDiskData: the progress of a backup of a
// descriptor disk counts the extent's bytes (the capacity), not the
// descriptor's, and carries the wall time for rates.
func TestBackupProgressCountsDiskData(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	const capacity = 2 << 20
	data := make([]byte, capacity)
	_, _ = rand.NewChaCha8([32]byte{13}).Read(data)
	createGovcStyle(t, e, "prog", capacity, data)
	vm, err := e.c.Find(ctx, mustSel(t, "name:prog"))
	require.NoError(t, err)
	var reports []vcb.Progress
	opts := &vcb.BackupOptions{Progress: func(p vcb.Progress) { reports = append(reports, p) }}
	_, err = e.c.Backup(ctx, vm, filepath.Join(t.TempDir(), "prog"), opts)
	require.NoError(t, err)
	last := reports[len(reports)-1]
	assert.Equal(t, "done", last.Phase)
	assert.Equal(t, int64(capacity), last.Done)
	assert.Equal(t, int64(capacity), last.Total)
	assert.Positive(t, last.Elapsed)
	for i := 1; i < len(reports); i++ {
		assert.GreaterOrEqual(t, reports[i].Elapsed, reports[i-1].Elapsed)
		assert.GreaterOrEqual(t, reports[i].Done, reports[i-1].Done)
	}
}
