//go:build linux

// Package netnsrun runs code inside a Linux network namespace on a locked
// OS thread that is never returned to the Go scheduler: whatever the code
// does to its thread (setns, unshare) dies with the thread. It is the one
// runner shared by package sysctl (a namespace scope's reads and writes)
// and internal/netlab (the lab's namespaces); it imports no package of
// this module.
//
// Do runs one function on a fresh thread; Worker keeps one thread in a
// namespace and runs many functions on it, in order.
package netnsrun

import (
	"errors"
	"fmt"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// ErrClosed is returned by Worker.Run after Close.
var ErrClosed = errors.New("netnsrun: worker closed")

// PanicError is returned when the function run on a namespace thread
// panics; the panic does not cross the thread.
type PanicError struct{ Value any }

func (e *PanicError) Error() string {
	return fmt.Sprintf("netnsrun: panic in namespace thread: %v", e.Value)
}

// Do runs f on a new goroutine locked to its OS thread and never unlocks
// it, then returns f's error. The thread is destroyed when the goroutine
// exits, so no thread with a changed namespace is ever reused.
func Do(f func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// deliberately no UnlockOSThread
		defer func() {
			if r := recover(); r != nil {
				done <- &PanicError{Value: r}
			}
		}()
		done <- f()
	}()
	return <-done
}

// Worker is one locked OS thread that has joined a network namespace.
type Worker struct {
	mu     sync.Mutex
	closed bool
	reqs   chan func()
}

// Start starts a worker thread in the network namespace of the file
// descriptor nsfd (an open /proc/PID/ns/net, /run/netns/NAME, ...). Start
// takes ownership of nsfd and closes it. The error is setns(2)'s.
func Start(nsfd int) (*Worker, error) {
	w := &Worker{reqs: make(chan func())}
	started := make(chan error, 1)
	go w.loop(nsfd, started)
	if err := <-started; err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Worker) loop(fd int, started chan<- error) {
	// Deliberately never unlocked: the thread dies with the goroutine.
	runtime.LockOSThread()
	err := unix.Setns(fd, unix.CLONE_NEWNET)
	unix.Close(fd)
	started <- err
	if err != nil {
		return // the thread, possibly in an odd state, is discarded
	}
	for f := range w.reqs {
		f()
	}
}

// Run runs f on the worker's thread and waits for it. A panic in f is
// returned as a *PanicError; after Close, Run returns ErrClosed.
func (w *Worker) Run(f func()) (err error) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	done := make(chan struct{})
	w.reqs <- func() {
		defer close(done)
		defer func() {
			if r := recover(); r != nil {
				err = &PanicError{Value: r}
			}
		}()
		f()
	}
	w.mu.Unlock()
	<-done
	return err
}

// Close stops the worker; its thread exits and is destroyed. Close is
// idempotent.
func (w *Worker) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.closed = true
		close(w.reqs)
	}
	return nil
}
