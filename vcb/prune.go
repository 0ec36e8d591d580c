package vcb

import (
	"errors"

	"github.com/bulletproof-labs/wsvcb/vcb/chunkstore"
)

// PruneChunks removes from store the chunks that no complete chunked
// backup directly under any of parents refers to (see Backups), for
// example after rotation deleted old backups. Chunks younger than
// chunkstore.PruneGrace are kept, and the pending chunk files of
// backups that died are removed. While a backup writes to the store it
// fails with ErrLocked (wrapping chunkstore.ErrBusy). A backup whose recipe cannot be read stops the prune with an
// error, so that its chunks are never removed by mistake.
func PruneChunks(store *chunkstore.Store, parents ...string) (chunkstore.PruneStats, error) {
	var live []*chunkstore.Recipe
	for _, parent := range parents {
		dirs, mans, err := Backups(parent)
		if err != nil {
			return chunkstore.PruneStats{}, err
		}
		for i, m := range mans {
			for _, f := range m.Files {
				if f.Kind != KindRecipe {
					continue
				}
				r, err := readRecipe(dirs[i], f)
				if err != nil {
					return chunkstore.PruneStats{}, newErr("prune", dirs[i], ErrManifest, err)
				}
				live = append(live, r)
			}
		}
	}
	st, err := store.Prune(live)
	if errors.Is(err, chunkstore.ErrBusy) {
		return st, newErr("prune", store.Dir(), ErrLocked, err)
	}
	if err != nil {
		return st, newErr("prune", store.Dir(), ErrWrite, err)
	}
	return st, nil
}
