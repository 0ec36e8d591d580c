package chunkstore

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// PruneGrace is the age below which Prune never removes a chunk, so that
// chunks a concurrent backup just deduplicated against survive.
const PruneGrace = time.Hour

// PruneStats counts what Prune removed.
type PruneStats struct {
	Kept, Removed int
	Freed         int64 // bytes of the chunks and pending files removed
	// Pending is the number of temporary chunk files of dead writers
	// removed from tmp/.
	Pending int
}

// Prune removes the chunks no recipe in live refers to and that are older
// than PruneGrace (garbage after backups were rotated or deleted), and
// the temporary files of writers that died before Sync (whatever their
// age). It takes the store's exclusive lock and fails with ErrBusy while
// a writer holds Acquire's. Pass the recipes of every backup to keep.
func (s *Store) Prune(live []*Recipe) (PruneStats, error) {
	var st PruneStats
	lock, err := s.flock(unix.LOCK_EX)
	if err != nil {
		return st, err
	}
	defer lock.Close()
	n, freed, err := s.removePending()
	st.Pending, st.Freed = n, freed
	if err != nil {
		return st, fmt.Errorf("chunkstore: prune: %w", err)
	}
	keep := map[Sum]bool{}
	for _, r := range live {
		for _, c := range r.Chunks {
			keep[c] = true
		}
	}
	now := time.Now()
	err = filepath.WalkDir(filepath.Join(s.dir, "chunks"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		sum, perr := ParseSum(d.Name())
		if perr != nil {
			return nil // not a chunk: leave it
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if keep[sum] || now.Sub(info.ModTime()) < PruneGrace {
			st.Kept++
			return nil
		}
		if err := os.Remove(p); err != nil {
			return err
		}
		st.Removed++
		st.Freed += info.Size()
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("chunkstore: prune: %w", err)
	}
	return st, nil
}
