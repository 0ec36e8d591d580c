package chunkstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ErrBusy is returned (wrapped) by Prune while a backup writes to the
// store, and by Acquire while a prune runs.
var ErrBusy = errors.New("chunk store in use")

// LockFile is the file in the store's directory that writers hold a
// shared flock(2) on while they add chunks, and Prune an exclusive one.
// The kernel releases the lock however its holder ends (even SIGKILL),
// so a killed backup never blocks a later prune.
const LockFile = "lock"

func (s *Store) flock(how int) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(s.dir, LockFile), os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("chunkstore: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		_ = f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("chunkstore: %w: %s is locked", ErrBusy, filepath.Join(s.dir, LockFile))
		}
		return nil, fmt.Errorf("chunkstore: lock: %w", err)
	}
	return f, nil
}

// Acquire takes the store's shared lock for a writer (a backup): several
// writers may hold it at once, Prune waits for none of them and refuses
// to run instead. release drops it.
func (s *Store) Acquire() (release func(), err error) {
	f, err := s.flock(unix.LOCK_SH)
	if err != nil {
		return nil, err
	}
	return func() { _ = f.Close() }, nil
}

// Discard removes the chunk files written since the last Sync (a backup
// that failed, for example on ENOSPC, calls it so that they do not stay
// in tmp/), and forgets them.
func (s *Store) Discard() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for sum, tmp := range s.pending {
		if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
		delete(s.pending, sum)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("chunkstore: discarding pending chunks: %w", err)
	}
	return nil
}

// removePending removes every temporary chunk file under tmp/ (the caller
// holds the exclusive lock: no writer is running, so all are leftovers
// of dead ones) and returns how many and their bytes.
func (s *Store) removePending() (n int, freed int64, err error) {
	root := filepath.Join(s.dir, "tmp")
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil // directories; never follow or remove anything else
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if err := os.Remove(p); err != nil {
			return err
		}
		n++
		freed += info.Size()
		return nil
	})
	return n, freed, err
}
