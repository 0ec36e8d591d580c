package sysctl

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
)

// Sentinel errors. Every error returned by this package that concerns a key
// is an *Error whose chain contains one of these, so callers can test the
// cause with errors.Is regardless of the underlying errno.
var (
	// ErrNotExist: no such key (ENOENT).
	ErrNotExist = errors.New("no such key")
	// ErrPermission: the key is read-only or the caller lacks privilege
	// (EACCES, EPERM). net.core.rmem_max inside a network namespace is one.
	ErrPermission = errors.New("permission denied")
	// ErrReadOnlyFS: /proc/sys is mounted read-only (EROFS).
	ErrReadOnlyFS = errors.New("read-only file system")
	// ErrInvalid: the kernel or the validator rejected the value (EINVAL).
	ErrInvalid = errors.New("invalid value")
	// ErrIO: the kernel reported an I/O error (EIO), e.g. reading
	// net.ipv6.conf.*.stable_secret before it is set.
	ErrIO = errors.New("i/o error")
	// ErrBadKey: the key is malformed or escapes the sysctl tree
	// ("..", absolute paths, symlinks leading out of the root).
	ErrBadKey = errors.New("bad key")
	// ErrMismatch: the value read back after a write differs from the value
	// written (the kernel clamped, ignored or partially committed it).
	ErrMismatch = errors.New("read-back mismatch")
	// ErrNotNamespaced: the key is not per network namespace (kernel.*,
	// vm.*, fs.*, ...) and a namespace scope was requested; writing it would
	// change the host.
	ErrNotNamespaced = errors.New("key is not per network namespace")
)

// Op names the operation that failed in an *Error.
type Op string

// Operations reported in *Error.
const (
	OpRead     Op = "read"
	OpWrite    Op = "write"
	OpValidate Op = "validate"
	OpVerify   Op = "verify"
	OpRestore  Op = "restore"
	OpList     Op = "list"
)

// Error describes a failed operation on one key. Err is the cause (an
// errno, a validation message, ...); errors.Is(err, ErrXxx) reports the
// class of the failure.
type Error struct {
	Key   string // dotted key name, as procps prints it
	Value string // the value being written, if any
	Op    Op
	Err   error
}

func (e *Error) Error() string {
	s := "sysctl: " + string(e.Op) + " " + e.Key
	if e.Value != "" {
		s += fmt.Sprintf(" = %q", e.Value)
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns the cause and, when it maps to one, the sentinel error.
func (e *Error) Unwrap() []error {
	if s := classify(e.Err); s != nil && !errors.Is(e.Err, s) {
		return []error{e.Err, s}
	}
	return []error{e.Err}
}

// classify maps an errno (anywhere in err's chain) to a sentinel.
func classify(err error) error {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return ErrNotExist
		case errors.Is(err, fs.ErrPermission):
			return ErrPermission
		}
		return nil
	}
	switch errno {
	case syscall.ENOENT, syscall.ENOTDIR:
		return ErrNotExist
	case syscall.EACCES, syscall.EPERM:
		return ErrPermission
	case syscall.EROFS:
		return ErrReadOnlyFS
	case syscall.EINVAL, syscall.ERANGE:
		return ErrInvalid
	case syscall.EIO:
		return ErrIO
	case syscall.EXDEV, syscall.ELOOP:
		return ErrBadKey
	}
	return nil
}

func keyErr(k Key, value string, op Op, err error) *Error {
	return &Error{Key: k.String(), Value: value, Op: op, Err: err}
}

// Errno returns the errno carried by err, or 0.
func Errno(err error) syscall.Errno {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return 0
}
