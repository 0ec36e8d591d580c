package sysctl

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// writeOnce writes value plus a newline to k in a single write(2). It must
// run inside fs.run.
func (fs *FS) writeOnce(k Key, value string) error {
	fd, err := fs.openFD(k.Path(), unix.O_WRONLY|unix.O_TRUNC)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	buf := []byte(value + "\n")
	for {
		n, err := unix.Write(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "write", Path: k.Path(), Err: err}
		}
		if n != len(buf) {
			return io.ErrShortWrite
		}
		return nil
	}
}

// writeVerified writes canonical to k, reads it back and compares. When
// the write fails or the read-back differs, the old value is restored (the
// kernel may have committed leading fields of a rejected vector). It must
// run inside fs.run.
func (fs *FS) writeVerified(k Key, requested, canonical, old string, haveOld bool) error {
	_, err := fs.writeVerifiedRounded(k, requested, canonical, old, haveOld, false)
	return err
}

// writeVerifiedRounded is writeVerified; with rounded, an integer read-back
// that differs from canonical is accepted and returned (clock-tick keys).
func (fs *FS) writeVerifiedRounded(k Key, requested, canonical, old string, haveOld, rounded bool) (string, error) {
	werr := fs.writeOnce(k, canonical)
	if werr != nil {
		e := keyErr(k, requested, OpWrite, werr)
		if haveOld {
			if rerr := fs.restoreIfChanged(k, old); rerr != nil {
				e.Err = errors.Join(werr, rerr)
			}
		}
		return "", e
	}
	if !haveOld {
		return canonical, nil // write-only key: nothing to compare with or restore
	}
	got, rerr := fs.readRaw(k)
	if rerr != nil {
		e := keyErr(k, requested, OpVerify, rerr)
		if err := fs.restoreIfChanged(k, old); err != nil {
			e.Err = errors.Join(rerr, err)
		}
		return "", e
	}
	if rounded && !sameValue(got, canonical) {
		if _, err := parseDecimal(strings.TrimSpace(got)); err == nil {
			return got, nil
		}
	}
	if !sameValue(got, canonical) {
		cause := fmt.Errorf("%w: wrote %q, read back %q", ErrMismatch, canonical, got)
		e := keyErr(k, requested, OpVerify, cause)
		if err := fs.restoreIfChanged(k, old); err != nil {
			e.Err = errors.Join(cause, err)
		}
		return "", e
	}
	return got, nil
}

// restoreIfChanged puts old back when the current value differs from it.
func (fs *FS) restoreIfChanged(k Key, old string) error {
	cur, err := fs.readRaw(k)
	if err == nil && sameValue(cur, old) {
		return nil
	}
	if err := fs.writeOnce(k, old); err != nil {
		return keyErr(k, old, OpRestore, err)
	}
	if cur, err := fs.readRaw(k); err != nil || !sameValue(cur, old) {
		return keyErr(k, old, OpRestore, fmt.Errorf("%w: restored %q, read back %q", ErrMismatch, old, cur))
	}
	return nil
}
