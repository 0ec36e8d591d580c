package vmdk

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned for a malformed or unsupported image
// wraps one of them, so callers can test with errors.Is.
var (
	// ErrCorrupt reports an image whose structures contradict each other or
	// the file size (bad magic, out-of-range grain tables, bad compression).
	ErrCorrupt = errors.New("vmdk: corrupt image")
	// ErrUnsupported reports a valid but unsupported variant (ESX COWD and
	// SESPARSE extents, delta disks read without their parent, huge grains,
	// unknown compression).
	ErrUnsupported = errors.New("vmdk: unsupported image")
	// ErrTruncated reports data missing because the file ends early (a
	// transfer cut short, a writer that never finished). It wraps
	// ErrCorrupt: errors.Is(err, ErrCorrupt) holds too.
	ErrTruncated = fmt.Errorf("%w: truncated", ErrCorrupt)
)

// FormatError describes what is wrong with an image and where. It wraps
// ErrCorrupt, ErrTruncated or ErrUnsupported (Kind).
type FormatError struct {
	File   string // file name, if known
	Offset int64  // byte offset of the offending structure, -1 if none
	Field  string // structure or field, e.g. "header.grainSize"
	Msg    string // human-readable detail
	Kind   error  // ErrCorrupt, ErrTruncated or ErrUnsupported
}

func (e *FormatError) Error() string {
	s := "vmdk"
	if e.File != "" {
		s += " " + e.File
	}
	if e.Offset >= 0 {
		s += fmt.Sprintf(" at offset %d", e.Offset)
	}
	kind := "corrupt"
	switch e.Kind {
	case ErrUnsupported:
		kind = "unsupported"
	case ErrTruncated:
		kind = "truncated"
	}
	return fmt.Sprintf("%s: %s %s: %s", s, kind, e.Field, e.Msg)
}

// Unwrap returns the sentinel Kind.
func (e *FormatError) Unwrap() error { return e.Kind }

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func truncated(off int64, field, format string, args ...any) *FormatError {
	return &FormatError{Offset: off, Field: field, Msg: fmt.Sprintf(format, args...), Kind: ErrTruncated}
}

func corrupt(off int64, field, format string, args ...any) *FormatError {
	return &FormatError{Offset: off, Field: field, Msg: fmt.Sprintf(format, args...), Kind: ErrCorrupt}
}

func unsupported(off int64, field, format string, args ...any) *FormatError {
	return &FormatError{Offset: off, Field: field, Msg: fmt.Sprintf(format, args...), Kind: ErrUnsupported}
}

// withFile sets the file name on a *FormatError (if err is one) and returns err.
func withFile(err error, name string) error {
	var fe *FormatError
	if errors.As(err, &fe) && fe.File == "" {
		fe.File = name
	}
	return err
}
