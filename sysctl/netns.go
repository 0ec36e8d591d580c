package sysctl

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/bulletproof-labs/wsvcb/internal/netnsrun"
	"golang.org/x/sys/unix"
)

// NetNSDir is where iproute2 keeps named network namespaces.
const NetNSDir = "/run/netns"

// ErrClosed is returned by operations on a closed namespace FS.
var ErrClosed = errors.New("sysctl: namespace scope closed")

// OpenNetNS returns the sysctl tree as seen from a network namespace given
// by name (a file in /run/netns, as created by "ip netns add") or by path
// (anything containing a "/", e.g. /proc/1234/ns/net or a bind mount).
// Only net.* keys are accessible; kernel.*, vm.*, fs.* and the other
// global keys are refused with ErrNotNamespaced because writing them would
// change the host. Close the FS when done.
//
// How it works (measured on Linux 6.18): the net.* entries of /proc/sys
// are resolved against the network namespace of the thread that looks the
// path up, at open time; the file stays bound to that namespace's value
// afterwards. Opening /proc/PID/root/proc/sys does NOT help: it still shows
// the opener's namespace. So every operation of the returned FS runs on one
// dedicated OS thread (internal/netnsrun), locked with runtime.LockOSThread and moved into the
// namespace with setns(2). That thread is never unlocked: when the FS is
// closed its goroutine exits locked and the Go runtime destroys the thread,
// so no other goroutine can ever be scheduled in the foreign namespace.
func OpenNetNS(nameOrPath string) (*FS, error) {
	p := nameOrPath
	if !strings.Contains(p, "/") {
		if p == "" || p == "." || p == ".." {
			return nil, fmt.Errorf("sysctl: bad namespace name %q", p)
		}
		p = filepath.Join(NetNSDir, p)
	}
	return openNetNSPath(p, nameOrPath)
}

// OpenNetNSPID is OpenNetNS for the network namespace of process pid.
func OpenNetNSPID(pid int) (*FS, error) {
	if pid <= 0 {
		return nil, fmt.Errorf("sysctl: bad pid %d", pid)
	}
	return openNetNSPath("/proc/"+strconv.Itoa(pid)+"/ns/net", "pid "+strconv.Itoa(pid))
}

func openNetNSPath(path, label string) (*FS, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open netns", Path: path, Err: err}
	}
	w, err := netnsrun.Start(fd) // takes fd
	if err != nil {
		return nil, &os.PathError{Op: "setns", Path: path, Err: err}
	}
	run := func(f func()) error {
		if err := w.Run(f); err != nil {
			if errors.Is(err, netnsrun.ErrClosed) {
				return ErrClosed
			}
			return fmt.Errorf("sysctl: %w", err)
		}
		return nil
	}
	fs := &FS{root: DefaultRoot, run: run, netns: label, closer: w.Close}
	// A namespace scope that is dropped without Close still releases its
	// thread.
	runtime.AddCleanup(fs, func(w *netnsrun.Worker) { w.Close() }, w)
	return fs, nil
}

// Close releases a namespace scope (its OS thread). It is a no-op for
// other trees.
func (fs *FS) Close() error {
	if fs.closer != nil {
		return fs.closer()
	}
	return nil
}
