package main

import (
	"context"
	"os"
	"path/filepath"

	"github.com/bulletproof-labs/wsvcb/vcb"
	"github.com/bulletproof-labs/wsvcb/vcb/chunkstore"
)

// backupChunked runs a chunked backup into the store in storeDir.
func backupChunked(ctx context.Context, c *vcb.Client, vm vcb.VMInfo, target, storeDir, parent string, opts *vcb.BackupOptions) (*vcb.ChunkedBackup, error) {
	st, err := chunkstore.Open(storeDir)
	if err != nil {
		return nil, err
	}
	return c.BackupChunked(ctx, vm, target, &vcb.ChunkedOptions{Backup: opts, Store: st, Parent: parent})
}

// verifyAny verifies a full, file-level or chunked backup directory.
func verifyAny(dir, storeDir string) (*vcb.Manifest, error) {
	m, err := vcb.ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	if _, ok := m.FileOf(vcb.KindRecipe); ok && storeDir != "" {
		st, err := chunkstore.Open(storeDir)
		if err != nil {
			return nil, err
		}
		return vcb.VerifyChunked(dir, st)
	}
	if _, err := os.Stat(filepath.Join(dir, vcb.FileListName)); err == nil {
		return vcb.VerifyFiles(dir)
	}
	return vcb.Verify(dir)
}

// pruneStore removes the chunks no backup under parent uses.
func pruneStore(storeDir, parent string) (chunkstore.PruneStats, error) {
	st, err := chunkstore.Open(storeDir)
	if err != nil {
		return chunkstore.PruneStats{}, err
	}
	return vcb.PruneChunks(st, parent)
}
