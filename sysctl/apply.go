package sysctl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
)

// Setting is one requested assignment, typically a line of a sysctl.conf.
type Setting struct {
	Key   string // key or glob pattern, procps syntax
	Value string
	// IgnoreErrors is the "-key = value" form: a missing key or a failed
	// write is reported in Change.Err but does not fail the Apply.
	IgnoreErrors bool
	// Exclude is the "-pattern" form without a value: keys matching it are
	// skipped by glob settings.
	Exclude bool
	Source  string // "file:line", for messages
}

// Change is the planned or applied change of one key.
type Change struct {
	Key       Key
	Requested string   // the value as given
	Old       string   // the value before (raw, as read)
	New       string   // the canonical value written
	Unchanged bool     // Old already equals New: nothing is written
	WriteOnly bool     // the old value cannot be read (and not restored)
	Warnings  []string // validation warnings
	Source    string
	// Err is set for an IgnoreErrors setting that failed (with Apply) or
	// for every failing setting with ApplyOptions.ContinueOnError.
	Err error

	ignored bool // the setting had IgnoreErrors
}

// Ignored reports whether the change came from an IgnoreErrors setting.
func (c Change) Ignored() bool { return c.ignored }

func (c Change) String() string {
	switch {
	case c.Err != nil:
		return fmt.Sprintf("%s: %v", c.Key, c.Err)
	case c.Unchanged:
		return fmt.Sprintf("%s = %s (unchanged)", c.Key, c.Old)
	case c.WriteOnly:
		return fmt.Sprintf("%s: (write-only) -> %s", c.Key, c.New)
	}
	return fmt.Sprintf("%s: %s -> %s", c.Key, oneLine(c.Old), oneLine(c.New))
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// ApplyOptions tune Apply. A nil *ApplyOptions means all-or-nothing.
type ApplyOptions struct {
	// ContinueOnError applies every setting it can, like procps sysctl -p,
	// instead of rolling back on the first failure. Failures are recorded
	// in Change.Err and joined into the returned error.
	ContinueOnError bool
	// DryRun validates and returns the plan without writing (see Plan).
	DryRun bool
	// OnChange, if set, is called after each setting is handled, in order.
	OnChange func(Change)
}

// Transaction records what an Apply changed so that it can be undone.
type Transaction struct {
	fs      *FS
	changes []Change
}

// Changes returns every handled setting in the order applied.
func (t *Transaction) Changes() []Change { return slices.Clone(t.changes) }

// Restore writes back the old value of every key the transaction changed,
// in reverse order, like tuned restores on exit. It keeps going after
// failures and returns them joined.
func (t *Transaction) Restore(ctx context.Context) error {
	if t == nil {
		return nil
	}
	var err error
	if rerr := t.fs.run(func() { err = t.restore() }); rerr != nil {
		return rerr
	}
	return err
}

// restore must run inside fs.run.
func (t *Transaction) restore() error {
	var errs []error
	for i := len(t.changes) - 1; i >= 0; i-- {
		c := t.changes[i]
		if c.Unchanged || c.WriteOnly || c.Err != nil {
			continue
		}
		if err := t.fs.restoreIfChanged(c.Key, c.Old); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Plan validates settings against the current values and returns the diff
// Apply would make, without writing anything (dry run). Unknown keys,
// malformed values and out-of-scope keys are errors unless the setting has
// IgnoreErrors.
func (fs *FS) Plan(ctx context.Context, settings []Setting) ([]Change, error) {
	var plan []Change
	var err error
	if rerr := fs.run(func() { plan, err = fs.plan(ctx, settings, false) }); rerr != nil {
		return nil, rerr
	}
	return plan, err
}

// Apply applies settings all or nothing: it snapshots the old values,
// validates every value, then writes in a stable order (the order given,
// a repeated key taking the place and value of its last occurrence), each
// in one write(2) followed by a read-back. On the first failure every key
// already written is restored and the *Error of the failing key is
// returned. Keys whose value is unchanged are not written. The returned
// Transaction restores the old values later.
func (fs *FS) Apply(ctx context.Context, settings []Setting) (*Transaction, error) {
	return fs.ApplyWith(ctx, settings, nil)
}

// ApplyWith is Apply with options (nil means the defaults of Apply).
func (fs *FS) ApplyWith(ctx context.Context, settings []Setting, opts *ApplyOptions) (*Transaction, error) {
	if opts == nil {
		opts = &ApplyOptions{}
	}
	t := &Transaction{fs: fs}
	var err error
	if rerr := fs.run(func() { err = fs.apply(ctx, t, settings, opts) }); rerr != nil {
		return nil, rerr
	}
	return t, err
}

func (fs *FS) apply(ctx context.Context, t *Transaction, settings []Setting, opts *ApplyOptions) error {
	plan, err := fs.plan(ctx, settings, opts.ContinueOnError)
	if opts.DryRun || err != nil && !opts.ContinueOnError {
		t.changes = plan
		if opts.OnChange != nil {
			for _, c := range plan {
				opts.OnChange(c)
			}
		}
		return err
	}
	var errs []error
	for i := range plan {
		c := &plan[i]
		if c.Err == nil && !c.Unchanged {
			if err := ctx.Err(); err != nil {
				c.Err = keyErr(c.Key, c.Requested, OpWrite, err)
			} else {
				spec, _ := Lookup(c.Key)
				got, err := fs.writeVerifiedRounded(c.Key, c.Requested, c.New, c.Old, !c.WriteOnly, spec.Rounded)
				if err != nil {
					c.Err = err
				} else if !sameValue(got, c.New) {
					c.Warnings = append(c.Warnings, fmt.Sprintf("the kernel stored %s for %s (clock-tick rounding)", got, c.New))
					c.New = got
				}
			}
			if c.Err != nil && !plan[i].ignore() && !opts.ContinueOnError {
				failed := *c
				rerr := t.restore()
				t.changes = append(t.changes, failed)
				if rerr != nil {
					return errors.Join(failed.Err, fmt.Errorf("sysctl: rollback: %w", rerr))
				}
				return failed.Err
			}
		}
		if c.Err != nil && !c.ignore() {
			errs = append(errs, c.Err)
		}
		t.changes = append(t.changes, *c)
		if opts.OnChange != nil {
			opts.OnChange(*c)
		}
	}
	return errors.Join(errs...)
}

// ignore reports whether a failure of c is tolerated ("-key" lines).
func (c *Change) ignore() bool { return c.ignored }

// plan expands, deduplicates, snapshots and validates, keeping the order
// of the settings. With keepGoing, per-setting failures are recorded in
// Change.Err instead of aborting. It must run inside fs.run.
func (fs *FS) plan(ctx context.Context, settings []Setting, keepGoing bool) ([]Change, error) {
	type item struct {
		k   Key
		s   Setting
		err error // a failure found while expanding
	}
	explicit := map[string]bool{}
	var excludes []Key
	for _, s := range settings {
		if s.Exclude {
			if p, err := ParsePattern(s.Key); err == nil {
				excludes = append(excludes, p)
			}
			continue
		}
		if k, err := ParseKey(s.Key); err == nil {
			explicit[k.Path()] = true
		}
	}
	var items []item
	for _, s := range settings {
		if s.Exclude {
			continue
		}
		p, err := ParsePattern(s.Key)
		switch {
		case err != nil:
			items = append(items, item{s: s, err: err})
		case !p.IsGlob():
			items = append(items, item{k: p, s: s})
		case fs.netns != "" && !p.Namespaced():
			items = append(items, item{k: p, s: s, err: fs.checkScope(p, s.Value, OpWrite)})
		default:
			keys, _ := fs.glob(p)
		expand:
			for _, k := range keys {
				if explicit[k.Path()] {
					continue
				}
				for _, x := range excludes {
					if k.Match(x) {
						continue expand
					}
				}
				items = append(items, item{k: k, s: s})
			}
		}
	}
	// Deduplicate: the last occurrence wins, in its position.
	last := map[string]int{}
	for i, it := range items {
		if it.err == nil {
			last[it.k.Path()] = i
		}
	}
	var out []Change
	var errs []error
	for i, it := range items {
		if it.err == nil && last[it.k.Path()] != i {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c := Change{Key: it.k, Requested: it.s.Value, Source: it.s.Source, ignored: it.s.IgnoreErrors}
		err := it.err
		if err == nil {
			err = fs.checkScope(it.k, it.s.Value, OpWrite)
		}
		if err == nil {
			var old string
			var haveOld bool
			if old, haveOld, err = fs.snapshot(it.k); err != nil {
				err = keyErr(it.k, it.s.Value, OpRead, err)
			} else {
				var v Validated
				if v, err = Validate(it.k, it.s.Value, old, haveOld); err == nil {
					c.Old, c.New, c.Warnings, c.WriteOnly = old, v.Canonical, v.Warnings, !haveOld
					c.Unchanged = haveOld && sameValue(old, v.Canonical)
				}
			}
		}
		if err != nil {
			c.Err = err
			if !c.ignored {
				if !keepGoing {
					return nil, err
				}
				errs = append(errs, err)
			}
		}
		out = append(out, c)
	}
	return out, errors.Join(errs...)
}

// snapshot reads the current value; haveOld is false for write-only keys
// (mode without a read bit, or known write-only).
func (fs *FS) snapshot(k Key) (old string, haveOld bool, err error) {
	if s, ok := Lookup(k); ok && s.WriteOnly {
		st, err := fs.stat(k)
		if err != nil {
			return "", false, err
		}
		_ = st
		return "", false, nil
	}
	old, err = fs.readRaw(k)
	if err == nil {
		return old, true, nil
	}
	if errors.Is(err, syscall.EACCES) {
		if st, serr := fs.stat(k); serr == nil && st.Mode().Perm()&0o444 == 0 && st.Mode().Perm()&0o222 != 0 {
			return "", false, nil
		}
	}
	if errors.Is(err, syscall.EISDIR) {
		return "", false, &os.PathError{Op: "write", Path: k.Path(), Err: syscall.EISDIR}
	}
	return "", false, err
}

// Set validates and writes one key safely (see Apply) and returns the change.
func (fs *FS) Set(ctx context.Context, key, value string) (Change, error) {
	t, err := fs.Apply(ctx, []Setting{{Key: key, Value: value}})
	if t == nil || len(t.changes) == 0 {
		return Change{}, err
	}
	return t.changes[len(t.changes)-1], err
}
