package sysctl

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
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

	rootOnce sync.Once
	rootfd   int
	rootErr  error
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
			Err: fmt.Errorf("%w: %s", ErrNotNamespaced, "only net.* keys are per network namespace; "+
				k.String()+" would change the host, refused in scope "+fs.netns)}
	}
	return nil
}

// rootFD returns a cached O_PATH descriptor of the root directory.
func (fs *FS) rootFD() (int, error) {
	fs.rootOnce.Do(func() {
		fd, err := unix.Open(fs.root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			fs.rootErr = &os.PathError{Op: "open", Path: fs.root, Err: err}
			return
		}
		fs.rootfd = fd
		runtime.AddCleanup(fs, func(fd int) { unix.Close(fd) }, fd)
	})
	return fs.rootfd, fs.rootErr
}

// openFD opens rel below the root without following symlinks out of it,
// with openat2(RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS), falling back to a
// resolved-path check on kernels without openat2. The net.* entries are
// looked up in the network namespace of the calling thread.
func (fs *FS) openFD(rel string, flags int) (int, error) {
	dir, err := fs.rootFD()
	if err != nil {
		return -1, err
	}
	for {
		fd, err := unix.Openat2(dir, rel, &unix.OpenHow{
			Flags:   uint64(flags | unix.O_CLOEXEC),
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
		})
		switch err {
		case nil:
			return fd, nil
		case unix.EINTR:
			continue
		case unix.ENOSYS:
			f, err := fs.openFallback(rel, flags)
			if err != nil {
				return -1, err
			}
			fd, err := unix.Dup(int(f.Fd()))
			f.Close()
			return fd, err
		}
		return -1, &os.PathError{Op: "open", Path: filepath.Join(fs.root, rel), Err: err}
	}
}

// open is openFD returning an *os.File.
func (fs *FS) open(rel string, flags int) (*os.File, error) {
	fd, err := fs.openFD(rel, flags)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), filepath.Join(fs.root, rel)), nil
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
