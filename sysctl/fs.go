package sysctl

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// DefaultRoot is the sysctl tree of the running kernel.
const DefaultRoot = "/proc/sys"

// FS is a sysctl tree: the real /proc/sys, a fake tree in a directory
// (for tests), or /proc/sys as seen from another network namespace (see
// OpenNetNS). The zero value and a nil *FS are not usable; use NewFS.
// An FS is safe for concurrent use; writes are not serialised between
// goroutines, so concurrent Apply calls on the same keys race as they would
// with any other writer.
type FS struct {
	root string
	// run executes f in the context that owns the tree: directly for the
	// host, on the namespace's locked OS thread for a network namespace.
	run func(f func()) error
	// netns is set for a network-namespace scope: only net.* keys allowed.
	netns  string
	closer func() error
}

// NewFS returns the sysctl tree rooted at root; "" means DefaultRoot.
// Pointing root at a directory of plain files gives a fake tree on which
// every function works without privileges (like procfs.NewFS).
func NewFS(root string) (*FS, error) {
	if root == "" {
		root = DefaultRoot
	}
	st, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, &os.PathError{Op: "open", Path: root, Err: syscall.ENOTDIR}
	}
	return &FS{root: root, run: direct}, nil
}

func direct(f func()) error { f(); return nil }

// Root returns the directory the tree is read from.
func (fs *FS) Root() string { return fs.root }

// NetNS returns the network namespace the FS operates in ("" for the
// caller's own).
func (fs *FS) NetNS() string { return fs.netns }

// checkScope refuses keys that are not per network namespace when fs is a
// namespace scope.
func (fs *FS) checkScope(k Key, value string, op Op) error {
	if fs.netns != "" && !k.Namespaced() {
		return &Error{Key: k.String(), Value: value, Op: op,
			Err: errors.Join(ErrNotNamespaced, errors.New("only net.* keys are per network namespace; "+
				k.String()+" would change the host, refused in scope "+fs.netns))}
	}
	return nil
}

// open opens key k below the root without following symlinks out of it.
// It uses openat2(RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS) and falls back to
// a resolved-path check on kernels without openat2.
func (fs *FS) open(rel string, flags int) (*os.File, error) {
	dir, err := unix.Open(fs.root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: fs.root, Err: err}
	}
	defer unix.Close(dir)
	for {
		fd, err := unix.Openat2(dir, rel, &unix.OpenHow{
			Flags:   uint64(flags | unix.O_CLOEXEC),
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
		})
		if err == unix.EINTR {
			continue
		}
		if err == unix.ENOSYS {
			return fs.openFallback(rel, flags)
		}
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: filepath.Join(fs.root, rel), Err: err}
		}
		return os.NewFile(uintptr(fd), filepath.Join(fs.root, rel)), nil
	}
}

func (fs *FS) openFallback(rel string, flags int) (*os.File, error) {
	p := filepath.Join(fs.root, rel)
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return nil, err
	}
	root, err := filepath.EvalSymlinks(fs.root)
	if err != nil {
		return nil, err
	}
	if real != root && !strings.HasPrefix(real, root+string(filepath.Separator)) {
		return nil, &os.PathError{Op: "open", Path: p, Err: syscall.EXDEV}
	}
	return os.OpenFile(real, flags|syscall.O_CLOEXEC, 0)
}
