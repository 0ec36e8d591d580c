package sysctl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Drift is a key whose running value differs from the wanted one.
type Drift struct {
	Key    Key
	Want   string // canonical wanted value
	Have   string // running value, whitespace collapsed as sysctl prints it
	Source string // where the wanted value came from ("file:line")
}

func (d Drift) String() string {
	s := fmt.Sprintf("%s: want %s, have %s", d.Key, d.Want, d.Have)
	if d.Source != "" && !strings.HasSuffix(d.Source, ":0") { // line 0: not from a file
		s += " (" + d.Source + ")"
	}
	return s
}

// Check compares the running values with settings without writing (a
// verify mode, like Ansible's check mode or tuned-adm verify) and returns
// the keys that differ, in the order given. Values compare as Apply
// compares them (canonical form: "4096 131072 6291456" equals the kernel's
// tab-separated text). Settings that cannot be checked (unknown key, bad
// value, out of scope) are joined into the error; IgnoreErrors ones are
// skipped. Write-only keys cannot be checked and are skipped too.
func (fs *FS) Check(ctx context.Context, settings []Setting) ([]Drift, error) {
	tx, err := fs.ApplyWith(ctx, settings, &ApplyOptions{DryRun: true, ContinueOnError: true})
	if tx == nil {
		return nil, err
	}
	var drift []Drift
	var errs []error
	for _, c := range tx.Changes() {
		switch {
		case c.Err != nil:
			if !c.Ignored() {
				errs = append(errs, c.Err)
			}
		case c.Unchanged, c.WriteOnly:
		default:
			drift = append(drift, Drift{Key: c.Key, Want: oneLine(c.New), Have: oneLine(c.Old), Source: c.Source})
		}
	}
	if len(errs) == 0 && err != nil && len(tx.Changes()) == 0 {
		errs = append(errs, err)
	}
	return drift, errors.Join(errs...)
}

// UndoSettings returns the settings that put back what changes changed:
// the old value of each key written (the first old value when a key was
// written twice), in the order written. Unchanged, write-only and failed
// changes are left out.
func UndoSettings(changes []Change) []Setting {
	seen := map[string]bool{}
	var out []Setting
	for _, c := range changes {
		if c.Unchanged || c.WriteOnly || c.Err != nil || seen[c.Key.Path()] {
			continue
		}
		seen[c.Key.Path()] = true
		out = append(out, Setting{Key: c.Key.String(), Value: oneLine(c.Old)})
	}
	return out
}

// WriteUndoFile writes settings as a sysctl.d file (readable by procps
// "sysctl -p FILE" and systemd-sysctl, and by ParseFile) atomically, mode
// 0600: a temporary file in the same directory, fsync, rename.
func WriteUndoFile(path string, settings []Setting, now time.Time) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# undo file written by sysctl --save-undo (wsvcb) at %s\n", now.UTC().Format(time.RFC3339))
	b.WriteString("# the values these keys had before the write; restore with: sysctl --undo FILE (or sysctl -p FILE)\n")
	for _, s := range settings {
		if strings.ContainsAny(s.Value, "\n\r") || strings.ContainsAny(s.Key, "\n\r=") {
			return fmt.Errorf("undo file %s: %s: value cannot be written on one line", path, s.Key)
		}
		fmt.Fprintf(&b, "%s = %s\n", s.Key, s.Value)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
