package vcb

import (
	"errors"
	"fmt"
)

// Sentinel kinds of failure. Every error returned by this package is an
// *Error whose Kind is one of these, so callers can test with errors.Is;
// the underlying cause (a SOAP fault, an I/O error, a context error) stays
// reachable with errors.Is/As as well.
var (
	ErrConfig     = errors.New("invalid configuration")
	ErrConnect    = errors.New("cannot connect")
	ErrSelector   = errors.New("invalid selector")
	ErrNotFound   = errors.New("not found")
	ErrAmbiguous  = errors.New("selector matches more than one VM")
	ErrHook       = errors.New("hook failed")
	ErrSnapshot   = errors.New("snapshot operation failed")
	ErrLease      = errors.New("NFC lease failed")
	ErrTransfer   = errors.New("transfer failed")
	ErrWrite      = errors.New("cannot write backup")
	ErrExists     = errors.New("already exists")
	ErrPoweredOn  = errors.New("VM is powered on")
	ErrCatalog    = errors.New("invalid catalog")
	ErrManifest   = errors.New("invalid manifest")
	ErrChecksum   = errors.New("checksum mismatch")
	ErrIncomplete = errors.New("backup is incomplete")
	ErrRestore    = errors.New("restore failed")
)

// Error is the typed error of package vcb: the operation, the VM (moref or
// name, when known), the kind (one of the Err* sentinels) and the cause.
type Error struct {
	Op   string // "dial", "list", "backup", "verify", "restore", ...
	VM   string // moref or name; empty when not about one VM
	Kind error  // one of the Err* sentinels
	Err  error  // underlying cause, may be nil
}

func (e *Error) Error() string {
	s := "vcb: " + e.Op
	if e.VM != "" {
		s += " " + e.VM
	}
	s += ": " + e.Kind.Error()
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns both the kind and the cause, so errors.Is works for either.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

func newErr(op, vm string, kind error, err error) *Error {
	return &Error{Op: op, VM: vm, Kind: kind, Err: err}
}

func errf(op, vm string, kind error, format string, args ...any) *Error {
	return &Error{Op: op, VM: vm, Kind: kind, Err: fmt.Errorf(format, args...)}
}
