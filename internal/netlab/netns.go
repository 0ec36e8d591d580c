package netlab

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/bulletproof-labs/wsvcb/internal/netnsrun"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// ErrClosed is returned by operations on a closed namespace.
var ErrClosed = errors.New("netlab: namespace closed")

// NS is an anonymous network namespace held by a file descriptor. The
// namespace lives until Close (and until every socket created in it is
// closed).
type NS struct {
	Name string // label used in messages; not a kernel object name

	mu     sync.Mutex
	handle netns.NsHandle
}

// NewNS creates a fresh, anonymous network namespace with its loopback up.
// The calling goroutine's thread is never moved: the namespace is created on
// a dedicated, locked thread that is discarded afterwards.
func NewNS(name string) (*NS, error) {
	var h netns.NsHandle
	err := onFreshThread(func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("unshare(CLONE_NEWNET): %w", err)
		}
		var err error
		h, err = netns.Get()
		if err != nil {
			return err
		}
		return setLinkUp("lo")
	})
	if err != nil {
		if h.IsOpen() {
			h.Close()
		}
		return nil, fmt.Errorf("netlab: new namespace %q: %w", name, err)
	}
	return &NS{Name: name, handle: h}, nil
}

// onFreshThread runs f on a fresh locked thread that is discarded
// afterwards (internal/netnsrun.Do); panics in f are returned as errors.
func onFreshThread(f func() error) error { return netnsrun.Do(f) }

// Fd returns the namespace file descriptor (for netlink.NsFd and friends).
func (ns *NS) Fd() int { return int(ns.handle) }

// Do runs f with the calling code placed in the namespace: f runs on a
// dedicated locked OS thread that has joined the namespace; the thread is
// discarded afterwards. Sockets created by f stay in the namespace and may be
// used from any goroutine. Processes started by f (os/exec) inherit the
// namespace.
func (ns *NS) Do(f func() error) error {
	ns.mu.Lock()
	h := ns.handle
	ns.mu.Unlock()
	if !h.IsOpen() {
		return ErrClosed
	}
	return onFreshThread(func() error {
		if err := netns.Set(h); err != nil {
			return fmt.Errorf("netlab: setns %s: %w", ns.Name, err)
		}
		return f()
	})
}

// Close releases the namespace handle. The kernel destroys the namespace once
// no socket or process uses it any more.
func (ns *NS) Close() error {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if !ns.handle.IsOpen() {
		return nil
	}
	return ns.handle.Close()
}

// Command returns the output of an external program run inside the namespace.
func (ns *NS) Command(name string, args ...string) ([]byte, error) {
	var out []byte
	err := ns.Do(func() error {
		var err error
		out, err = exec.Command(name, args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("netlab: %s %s in %s: %w: %s", name, strings.Join(args, " "), ns.Name, err, out)
		}
		return nil
	})
	return out, err
}

// sysctlPath maps "net.ipv4.tcp_rmem" to /proc/sys/net/ipv4/tcp_rmem.
func sysctlPath(key string) (string, error) {
	if !strings.HasPrefix(key, "net.") || strings.Contains(key, "..") || strings.ContainsAny(key, "/ ") {
		return "", fmt.Errorf("netlab: sysctl %q: only net.* keys are per namespace", key)
	}
	return filepath.Join("/proc/sys", strings.ReplaceAll(key, ".", "/")), nil
}

// SetSysctl writes a net.* sysctl of the namespace (e.g. "net.ipv4.tcp_rmem",
// "4096 87380 174760"). Only net.* keys are accepted: others are global.
func (ns *NS) SetSysctl(key, value string) error {
	p, err := sysctlPath(key)
	if err != nil {
		return err
	}
	return ns.Do(func() error {
		if err := os.WriteFile(p, []byte(value+"\n"), 0); err != nil {
			return fmt.Errorf("netlab: write %s=%q in %s: %w", key, value, ns.Name, err)
		}
		return nil
	})
}

// Sysctl reads a net.* sysctl of the namespace, whitespace-normalised
// ("4096\t131072\t6291456\n" becomes "4096 131072 6291456").
func (ns *NS) Sysctl(key string) (string, error) {
	p, err := sysctlPath(key)
	if err != nil {
		return "", err
	}
	var v string
	err = ns.Do(func() error {
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("netlab: read %s in %s: %w", key, ns.Name, err)
		}
		v = strings.Join(strings.Fields(string(b)), " ")
		return nil
	})
	return v, err
}
