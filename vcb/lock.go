package vcb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
	"golang.org/x/sys/unix"
)

// ErrLocked is the kind of error of a backup of a VM that another backup
// of the same VM (into the same parent directory) is running: the lock
// file ".vcb-<moref>.lock" next to the backup is held. The lock is an
// flock(2), released by the kernel when its holder exits in any way,
// including SIGKILL, so a crashed backup never leaves it held.
var ErrLocked = errors.New("another backup of this VM is running")

// snapshotDescription starts the description of every snapshot vcb takes;
// the rest names the lock of the backup that took it ("lock=HOST:PATH"),
// so that a later backup can tell a leftover of a dead backup from the
// snapshot of a running one.
const snapshotDescription = "vcb backup"

// LockPath returns the lock file a backup of the VM with this moref into
// a directory under parent holds while it runs.
func LockPath(parent, moref string) string {
	return filepath.Join(parent, ".vcb-"+safeMoRef(moref)+".lock")
}

// safeMoRef makes a moref usable in a file name.
func safeMoRef(moref string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == 0 || r == '\\' || r == '.' {
			return '_'
		}
		return r
	}, moref)
}

// fileLock is a held flock.
type fileLock struct {
	f         *os.File
	path      string
	exclusive bool
}

// lockFile takes an flock on path (creating it): exclusive or shared,
// without waiting. A held conflicting lock gives an error of kind
// ErrLocked naming the path.
func lockFile(path string, exclusive bool) (*fileLock, error) {
	for {
		l, retry, err := tryLockFile(path, exclusive)
		if !retry {
			return l, err
		}
	}
}

// tryLockFile is one attempt of lockFile; retry is set when the file was
// unlinked by its last holder between our open and flock.
func tryLockFile(path string, exclusive bool) (l *fileLock, retry bool, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, false, err
	}
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
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
			return nil, false, fmt.Errorf("%w: %s is locked", ErrLocked, path)
		}
		return nil, false, fmt.Errorf("locking %s: %w", path, err)
	}
	// The holder before us removes the file before it unlocks: make sure
	// the file we locked is still the one at path.
	var held, now unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &held); err != nil {
		_ = f.Close()
		return nil, false, fmt.Errorf("locking %s: %w", path, err)
	}
	if err := unix.Lstat(path, &now); err != nil || now.Ino != held.Ino || now.Dev != held.Dev {
		_ = f.Close()
		return nil, true, nil
	}
	if exclusive {
		// For the curious: who holds it.
		host, _ := os.Hostname()
		_ = f.Truncate(0)
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+" "+host+"\n"), 0)
	}
	return &fileLock{f: f, path: path, exclusive: exclusive}, false, nil
}

// unlock releases the lock. An exclusive holder removes the file first
// (lockers that opened it meanwhile notice and retry); one left by a
// killed process is harmless, as the kernel released its lock.
func (l *fileLock) unlock() {
	if l == nil {
		return
	}
	if l.exclusive {
		_ = os.Remove(l.path)
	}
	_ = l.f.Close() // closing releases the flock
}

// lockHeld reports whether someone holds an flock on path.
func lockHeld(path string) bool {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	err = unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB)
	return errors.Is(err, unix.EWOULDBLOCK)
}

// StaleSnapshot is a snapshot an earlier backup left (it was killed or
// lost its connection before removing it), found by a later backup.
type StaleSnapshot struct {
	VM          string `json:"vm"`   // moref
	Name        string `json:"name"` // e.g. "vcb-1764745200"
	MoRef       string `json:"moref"`
	Description string `json:"description"`
	// Removed tells whether the backup removed it; Err is why not, or
	// why the removal failed.
	Removed bool  `json:"removed"`
	Err     error `json:"-"`
}

func (s StaleSnapshot) String() string {
	if s.Removed {
		return fmt.Sprintf("removed snapshot %q (%s) of %s left by an earlier backup", s.Name, s.MoRef, s.VM)
	}
	return fmt.Sprintf("snapshot %q (%s) of %s left by an earlier backup was not removed: %v", s.Name, s.MoRef, s.VM, s.Err)
}

// errForeignSnapshot is why a vcb snapshot of unknown owner is kept
// without BackupOptions.RemoveStaleSnapshots.
var errForeignSnapshot = errors.New("taken by a vcb backup on another host or of an older version; remove it with -remove-stale-snapshots once no backup runs")

// snapshotDesc is the description of the backup's snapshot.
func (b *backup) snapshotDesc() string {
	host, _ := os.Hostname()
	return snapshotDescription + " lock=" + host + ":" + b.lock.path
}

// staleSnapshots finds the snapshots of the VM earlier vcb backups left
// and removes those that are certainly stale: taken on this host by a
// backup whose lock is no longer held (it died), or by one holding the
// lock this backup now holds. Others (another host, an older version)
// are removed only with RemoveStaleSnapshots, and never one whose
// backup's lock is held. Each is reported to OnStaleSnapshot.
func (b *backup) staleSnapshots(ctx context.Context) error {
	var vm mo.VirtualMachine
	if err := b.c.retrieve(ctx, []types.ManagedObjectReference{b.obj.Reference()}, []string{"snapshot"}, &vm); err != nil {
		return b.fail(ErrSnapshot, fmt.Errorf("listing snapshots: %w", err))
	}
	if vm.Snapshot == nil {
		return nil
	}
	var found []types.VirtualMachineSnapshotTree
	var walk func([]types.VirtualMachineSnapshotTree)
	walk = func(ts []types.VirtualMachineSnapshotTree) {
		for _, t := range ts {
			if strings.HasPrefix(t.Description, snapshotDescription) {
				found = append(found, t)
			}
			walk(t.ChildSnapshotList)
		}
	}
	walk(vm.Snapshot.RootSnapshotList)
	// Deepest first: each removal then consolidates into its parent.
	slices.Reverse(found)
	host, _ := os.Hostname()
	for _, t := range found {
		s := StaleSnapshot{VM: b.vm.MoRef, Name: t.Name, MoRef: t.Snapshot.Value, Description: t.Description}
		owner := strings.TrimPrefix(t.Description, snapshotDescription+" lock=")
		h, lockPath, mine := strings.Cut(owner, ":")
		mine = mine && owner != t.Description && h == host
		switch {
		case mine && lockPath == b.lock.path:
			// We hold that lock: its backup is gone.
		case mine && lockHeld(lockPath):
			s.Err = fmt.Errorf("its backup is still running (it holds %s)", lockPath)
		case mine:
		case !b.o.RemoveStaleSnapshots:
			s.Err = errForeignSnapshot
		}
		if s.Err == nil {
			s.Err = b.removeSnapshotRetry(t.Snapshot)
			s.Removed = s.Err == nil
		}
		if b.o.OnStaleSnapshot != nil {
			b.o.OnStaleSnapshot(s)
		}
	}
	return nil
}

// partialMarker is the part of a backup's temporary directory name
// (".NAME" + marker + random) that names the VM, so that a later backup
// of the VM, holding its lock, can remove what a killed one left.
func partialMarker(moref string) string {
	return ".partial-vcb-" + safeMoRef(moref) + "-"
}

// removeStalePartials removes the temporary directories earlier backups
// of the VM into parent left when they were killed: with the VM's lock
// held, none of them is in use.
func (b *backup) removeStalePartials(parent string) {
	ents, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	marker := partialMarker(b.vm.MoRef)
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), ".") && strings.Contains(e.Name(), marker) {
			_ = b.o.FS.RemoveAll(filepath.Join(parent, e.Name()))
		}
	}
}
