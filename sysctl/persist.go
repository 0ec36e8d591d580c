package sysctl

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
