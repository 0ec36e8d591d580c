package sysctl

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// WriteDropIn persists settings as a sysctl.d drop-in at path, atomically:
// the content goes to a temporary file in the same directory, which is
// fsynced, renamed over path, and the directory is fsynced, so a crash
// leaves either the old file or the new one. header lines (without "#")
// are written first as comments. Values are written in canonical
// "key = value" form; keys are normalised to the dotted procps spelling.
func WriteDropIn(path string, header string, settings []Setting) (err error) {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(header, "\n"), "\n") {
		if l != "" || header != "" {
			b.WriteString(strings.TrimRight("# "+l, " ") + "\n")
		}
	}
	for _, s := range settings {
		k, err := ParsePattern(s.Key)
		if err != nil {
			return err
		}
		if strings.ContainsAny(s.Value, "\n\x00") {
			return fmt.Errorf("sysctl: value of %s spans several lines", k)
		}
		prefix := ""
		if s.IgnoreErrors || s.Exclude {
			prefix = "-"
		}
		if s.Exclude {
			fmt.Fprintf(&b, "%s%s\n", prefix, k)
			continue
		}
		fmt.Fprintf(&b, "%s%s = %s\n", prefix, k, strings.Join(strings.Fields(s.Value), " "))
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.WriteString(b.String()); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// UpdateDropIn merges settings into the sysctl.d file at path in place:
// a line already setting one of the keys gets the new value (keeping its
// "-" prefix), every other line, comments included, is kept verbatim and
// in order, and keys not yet present are appended. When path is a symlink
// (Debian's /etc/sysctl.d/99-sysctl.conf -> ../sysctl.conf) the link's
// target is edited and the link is kept. The file keeps its mode and
// owner; a new file gets mode 0644 and header as a comment. The
// read-modify-rename runs under an exclusive flock(2) on the file's
// directory, so concurrent updates of files there serialize instead of
// losing keys; the write itself is atomic as in WriteDropIn.
func UpdateDropIn(path, header string, settings []Setting) error {
	target, err := resolveLinks(path)
	if err != nil {
		return err
	}
	dir := filepath.Dir(target)
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	for {
		err = unix.Flock(int(d.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return &os.PathError{Op: "flock", Path: dir, Err: err}
	}
	defer unix.Flock(int(d.Fd()), unix.LOCK_UN)

	want := map[string]int{} // key path -> index in settings
	for i, s := range settings {
		k, err := ParsePattern(s.Key)
		if err != nil {
			return err
		}
		if strings.ContainsAny(s.Value, "\n\x00") {
			return fmt.Errorf("sysctl: value of %s spans several lines", k)
		}
		want[k.Path()] = i
	}
	line := func(s Setting, ignore bool) string {
		prefix := ""
		if ignore || s.IgnoreErrors {
			prefix = "-"
		}
		return fmt.Sprintf("%s%s = %s\n", prefix, MustParsePattern(s.Key), strings.Join(strings.Fields(s.Value), " "))
	}
	var b strings.Builder
	mode, uid, gid := os.FileMode(0o644), -1, -1
	old, err := os.ReadFile(target)
	switch {
	case err == nil:
		st, err := os.Stat(target)
		if err != nil {
			return err
		}
		mode = st.Mode().Perm()
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(sys.Uid), int(sys.Gid)
		}
		done := map[string]bool{}
		text := string(old)
		n := 0
		for len(text) > 0 {
			l, rest, found := strings.Cut(text, "\n")
			text = rest
			n++
			if found {
				l += "\n"
			}
			if s, perr := ParseLine(strings.TrimRight(l, "\n"), target, n); perr == nil && s != nil && !s.Exclude {
				if k, kerr := ParsePattern(s.Key); kerr == nil {
					if i, ok := want[k.Path()]; ok {
						b.WriteString(line(settings[i], s.IgnoreErrors))
						done[k.Path()] = true
						continue
					}
				}
			}
			if !found {
				l += "\n" // the last line had no newline
			}
			b.WriteString(l)
		}
		for _, s := range settings {
			if k := MustParsePattern(s.Key); !done[k.Path()] {
				b.WriteString(line(s, false))
				done[k.Path()] = true
			}
		}
	case errors.Is(err, os.ErrNotExist):
		for _, l := range strings.Split(strings.TrimRight(header, "\n"), "\n") {
			if header != "" {
				b.WriteString(strings.TrimRight("# "+l, " ") + "\n")
			}
		}
		done := map[string]bool{}
		for _, s := range settings {
			if k := MustParsePattern(s.Key); !done[k.Path()] {
				b.WriteString(line(settings[want[k.Path()]], false))
				done[k.Path()] = true
			}
		}
	default:
		return err
	}
	return writeAtomic(target, b.String(), mode, uid, gid)
}

// resolveLinks follows symlinks at path (also a dangling last one, whose
// target is then created), returning the real file to edit.
func resolveLinks(path string) (string, error) {
	for range 40 {
		st, err := os.Lstat(path)
		if errors.Is(err, os.ErrNotExist) {
			return path, nil
		}
		if err != nil {
			return "", err
		}
		if st.Mode()&os.ModeSymlink == 0 {
			return path, nil
		}
		dest, err := os.Readlink(path)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(path), dest)
		}
		path = dest
	}
	return "", &os.PathError{Op: "readlink", Path: path, Err: syscall.ELOOP}
}

// writeAtomic replaces path with content via a fsynced temporary file in
// the same directory, with the given mode and owner (-1: unchanged).
func writeAtomic(path, content string, mode os.FileMode, uid, gid int) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.WriteString(content); err != nil {
		return err
	}
	if uid >= 0 && uid != os.Geteuid() || gid >= 0 && gid != os.Getegid() {
		if err = tmp.Chown(uid, gid); err != nil {
			return err
		}
	}
	if err = tmp.Chmod(mode); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
