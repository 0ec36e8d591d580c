package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/bulletproof-labs/wsvcb/sysctl"
)

type app struct {
	o      *options
	fs     *sysctl.FS
	out    *bufio.Writer
	errw   io.Writer
	stdin  io.Reader
	re     *regexp.Regexp // nil: no -r; matchNothing when it does not compile
	badRe  bool
	prefix string // --system / default -p file prefix
}

func newApp(o *options, out *bufio.Writer, errw io.Writer, stdin io.Reader) (*app, error) {
	a := &app{o: o, out: out, errw: errw, stdin: stdin}
	root := o.root
	if root == "" {
		root = os.Getenv("SYSCTL_ROOT")
	}
	a.prefix = o.confPrefix
	if a.prefix == "" {
		a.prefix = os.Getenv("SYSCTL_CONF_PREFIX")
	}
	var err error
	if o.netns != "" {
		if root != "" {
			return nil, errors.New("--netns and --root cannot be combined")
		}
		a.fs, err = sysctl.OpenNetNS(o.netns)
	} else {
		a.fs, err = sysctl.NewFS(root)
	}
	if err != nil {
		return nil, err
	}
	if o.pattern != "" {
		// procps: a pattern that does not compile matches nothing.
		if a.re, err = regexp.Compile(o.pattern); err != nil {
			a.badRe = true
		}
	}
	return a, nil
}

func (a *app) warnf(format string, args ...any) {
	fmt.Fprintf(a.errw, "sysctl: "+format+"\n", args...)
}

func (a *app) match(s string) bool {
	if a.o.pattern == "" {
		return true
	}
	return !a.badRe && a.re.MatchString(s)
}

// procPath is the path procps prints in "cannot stat" messages.
func (a *app) procPath(k sysctl.Key) string { return a.fs.Root() + "/" + k.Path() }

func (a *app) main(ctx context.Context) int {
	o := a.o
	if o.undo != "" {
		o.load, o.loadFile = true, o.undo
	}
	if o.all {
		return a.displayAll(sysctl.Key{})
	}
	if o.load {
		var files []string
		if o.loadFile != "" {
			files = append(files, o.loadFile)
		} else if len(o.args) == 0 {
			files = append(files, filepath.Join(a.prefix, sysctl.ConfFile))
		}
		files = append(files, o.args...)
		rc := 0
		var ops []sysctl.Setting
		for _, f := range files {
			rc |= a.preload(f, &ops)
		}
		return rc | a.writeOps(ctx, ops, true)
	}
	rc := 0
	if o.system {
		files, err := sysctl.SystemFiles(a.prefix)
		if err != nil {
			a.warnf("%v", err)
			return 1
		}
		var ops []sysctl.Setting
		for _, f := range files {
			if !o.quiet {
				fmt.Fprintf(a.out, "* Applying %s ...\n", f)
			}
			rc |= a.preload(f, &ops)
		}
		// procps-ng 4.0.2 ignores operands after --system.
		return rc | a.writeOps(ctx, ops, true)
	}
	if len(o.args) == 0 {
		a.warnf("no variables specified\nTry `sysctl --help' for more information.")
		return 1
	}
	if o.names && o.quiet {
		a.warnf("options -N and -q cannot coexist\nTry `sysctl --help' for more information.")
		return 1
	}
	// Writes on the command line form one batch (all-or-nothing when there
	// are several), performed at the position of the first write.
	var writes []sysctl.Setting
	for _, arg := range o.args {
		if o.write || strings.Contains(arg, "=") {
			s, err := sysctl.ParseLine(arg, "command line", 0)
			if err != nil || s == nil {
				if err != nil {
					a.syntaxWarn(err)
				}
				rc |= 1
				continue
			}
			writes = append(writes, *s)
		}
	}
	wrote := false
	for _, arg := range o.args {
		if o.write || strings.Contains(arg, "=") {
			if !wrote {
				rc |= a.writeOps(ctx, writes, false)
				wrote = true
			}
			continue
		}
		rc += a.readSetting(arg)
	}
	return rc
}

// syntaxWarn prints a configuration syntax error the way procps does and
// returns the exit-status contribution.
func (a *app) syntaxWarn(err error) int {
	var se *sysctl.SyntaxError
	if !errors.As(err, &se) {
		a.warnf("%v", err)
		return 1
	}
	switch {
	case se.Msg == "empty key":
		a.warnf("Path is not under %s/: %s/", a.fs.Root(), a.fs.Root())
		return 1
	case errors.Is(se, sysctl.ErrBadKey):
		a.warnf("%s(%d): refusing key %q: %v", se.File, se.Line, se.Text, se.Err)
		return 1
	}
	a.warnf("%s(%d): invalid syntax, continuing...", se.File, se.Line)
	return 0
}

// preload parses one -p/--system file (or glob of files, or "-" for stdin).
func (a *app) preload(name string, ops *[]sysctl.Setting) int {
	files := []string{name}
	if name != "-" {
		if m, _ := filepath.Glob(name); len(m) > 0 {
			files = m
		}
	}
	rc := 0
	for _, f := range files {
		var r io.Reader
		if f == "-" {
			r = a.stdin
		} else {
			fh, err := os.Open(f)
			if err != nil {
				a.warnf("cannot open %q: %s", f, errText(err))
				return 1
			}
			defer fh.Close()
			r = fh
		}
		settings, err := sysctl.ParseConf(r, f)
		if err != nil {
			for _, e := range unjoin(err) {
				rc |= a.syntaxWarn(e)
			}
		}
		for _, s := range settings {
			if a.o.pattern != "" && !a.match(s.Key) {
				continue
			}
			*ops = append(*ops, s)
		}
	}
	return rc
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// errText is strerror(3) for an error's errno.
func errText(err error) string {
	if e := sysctl.Errno(err); e != 0 {
		s := e.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return err.Error()
}

func isGlob(s string) bool { return strings.ContainsAny(s, "*?[") }

// expand resolves glob settings the procps way: a match is skipped when
// another setting names the same key or an exclude pattern matches it.
func (a *app) expand(ops []sysctl.Setting) []sysctl.Setting {
	explicit := map[string]bool{}
	var excludes []sysctl.Key
	for _, s := range ops {
		if s.Exclude {
			if p, err := sysctl.ParsePattern(s.Key); err == nil {
				excludes = append(excludes, p)
			}
		} else if k, err := sysctl.ParseKey(s.Key); err == nil {
			explicit[k.Path()] = true
		}
	}
	var out []sysctl.Setting
	for _, s := range ops {
		switch {
		case s.Exclude:
		case !isGlob(s.Key):
			out = append(out, s)
		default:
			keys, err := a.fs.Glob(s.Key)
			if err != nil {
				out = append(out, s) // reported by the write
				continue
			}
		next:
			for _, k := range keys {
				if explicit[k.Path()] {
					continue
				}
				for _, x := range excludes {
					if k.Match(x) {
						continue next
					}
				}
				c := s
				c.Key = k.String()
				out = append(out, c)
			}
		}
	}
	return out
}

// prefilter does procps' stat checks for one setting. It returns the key,
// whether the setting goes on to be written, and the exit-status
// contribution of a failure.
func (a *app) prefilter(s sysctl.Setting) (sysctl.Key, bool, int) {
	return a.prefilterStat(s, nil, nil)
}

// prefilterStat is prefilter with the stat result supplied (st, serr both
// nil: stat now). A failure of an IgnoreErrors setting ("-key = value",
// sysctl.d(5)) prints a notice ending in ", ignoring" and contributes 0.
func (a *app) prefilterStat(s sysctl.Setting, st os.FileInfo, serr error) (sysctl.Key, bool, int) {
	ign, fail := "", 1
	if s.IgnoreErrors {
		ign, fail = ", ignoring", 0
	}
	k, err := sysctl.ParseKey(s.Key)
	if err != nil {
		if p, perr := sysctl.ParsePattern(s.Key); perr == nil && !a.o.ignore {
			// An unexpanded glob (command line): procps stats it literally.
			a.warnf("cannot stat %s: No such file or directory%s", a.procPath(p), ign)
			return k, false, fail
		} else if perr == nil {
			return k, false, 0
		}
		a.warnf("refusing key %q: %v", s.Key, unwrapKeyErr(err))
		return k, false, 1
	}
	if a.fs.NetNS() != "" && !k.Namespaced() {
		a.warnf("%s: not per network namespace; refusing to change the host from --netns %s%s", k, a.fs.NetNS(), ign)
		return k, false, fail
	}
	err = serr
	if st == nil && serr == nil {
		st, err = a.fs.Stat(s.Key)
	}
	if err != nil {
		if errors.Is(err, sysctl.ErrNotExist) {
			if a.o.ignore {
				return k, false, 0
			}
			a.warnf("cannot stat %s: No such file or directory%s", a.procPath(k), ign)
			return k, false, fail
		}
		a.warnf("cannot stat %s: %s%s", a.procPath(k), errText(err), ign)
		return k, false, fail
	}
	if st.Mode().Perm()&0o200 == 0 && !st.IsDir() {
		// procps-ng 4.0.2 prints "setting key ...: Invalid argument" (a
		// stale errno) and exits 0 here; the write would fail with EACCES,
		// so we say so and count it as a failure.
		a.warnf("permission denied on key %q: %s%s", k.String(), readOnlyWhy(k, st.Mode().Perm()), ign)
		return k, false, fail
	}
	if st.IsDir() {
		a.warnf("setting key %q: Is a directory%s", k.String(), ign)
		return k, false, fail
	}
	return k, true, 0
}

// globalInNetNS are the net.* keys that are writable in the initial
// network namespace but read-only (0444) inside any other, because they
// are global (kernel 6.x: comm -23 of "find /proc/sys/net -perm 0444" run
// in a fresh namespace and on the host).
var globalInNetNS = map[string]bool{
	"net/core/rmem_default": true, "net/core/rmem_max": true,
	"net/core/wmem_default": true, "net/core/wmem_max": true,
	"net/ipv4/tcp_allowed_congestion_control": true,
	"net/netfilter/nf_conntrack_buckets":      true,
	"net/netfilter/nf_conntrack_expect_max":   true,
	"net/netfilter/nf_conntrack_max":          true,
}

// readOnlyWhy explains a key without a write bit.
func readOnlyWhy(k sysctl.Key, perm os.FileMode) string {
	if globalInNetNS[k.Path()] {
		return fmt.Sprintf("read-only (mode %04o): %s is not per network namespace", perm, k)
	}
	return fmt.Sprintf("read-only (mode %04o)", perm)
}

func unwrapKeyErr(err error) error {
	var e *sysctl.Error
	if errors.As(err, &e) {
		return e.Err
	}
	return err
}

// failure prints the procps message for a failed write and returns the
// exit-status contribution.
func (a *app) failure(c sysctl.Change, err error) int {
	k := c.Key.String()
	ign := ""
	rc := 1
	if c.Ignored() {
		ign, rc = ", ignoring", 0
	}
	detail := ""
	if a.o.verbose {
		detail = " (" + unwrapKeyErr(err).Error() + ")"
	}
	switch {
	case errors.Is(err, sysctl.ErrNotNamespaced):
		a.warnf("%s: not per network namespace; refusing to change the host from --netns %s%s", k, a.fs.NetNS(), ign)
		return rc
	case errors.Is(err, sysctl.ErrNotExist):
		if a.o.ignore {
			return 0
		}
		a.warnf("cannot stat %s: No such file or directory%s", a.procPath(c.Key), ign)
		return rc
	case errors.Is(err, sysctl.ErrPermission), errors.Is(err, sysctl.ErrReadOnlyFS):
		a.warnf("permission denied on key %q%s%s", k, ign, detail)
	case errors.Is(err, sysctl.ErrMismatch):
		a.warnf("setting key %q: %v; old value restored%s", k, unwrapKeyErr(err), ign)
	case errors.Is(err, sysctl.ErrInvalid):
		a.warnf("setting key %q: Invalid argument%s%s", k, ign, detail)
	case errors.Is(err, sysctl.ErrIO):
		a.warnf("setting key %q: Input/output error%s", k, ign)
	default:
		a.warnf("setting key %q: %v%s", k, unwrapKeyErr(err), ign)
	}
	return rc
}

// warn prints validation warnings (min > max ...) with --verbose; procps
// prints nothing there, so they are opt-in.
func (a *app) warn(c sysctl.Change) {
	if a.o.verbose {
		for _, w := range c.Warnings {
			a.warnf("%s: warning: %s", c.Key, w)
		}
	}
}

func (a *app) printWrite(k sysctl.Key, value string) {
	o := a.o
	switch {
	case o.quiet:
	case o.names: // procps-ng 4.0.2 prints the value for -N writes
		fmt.Fprintf(a.out, "%s\n", value)
	case o.values && o.binary:
		fmt.Fprint(a.out, value)
	case o.values:
		fmt.Fprintf(a.out, "%s\n", value)
	default:
		fmt.Fprintf(a.out, "%s = %s\n", k, value)
	}
}

func (a *app) rollback(n int) bool {
	v := a.o.rollback
	if v == "" {
		v = os.Getenv("SYSCTL_ROLLBACK_ON_ERROR")
	}
	switch v {
	case "true", "1", "yes", "on":
		return true
	case "false", "0", "no", "off":
		return false
	}
	return n > 1
}

// writeOps writes settings in order with procps output. Several settings
// are all-or-nothing unless --rollback-on-error=false.
func (a *app) writeOps(ctx context.Context, ops []sysctl.Setting, globs bool) int {
	if globs {
		ops = a.expand(ops)
	}
	if a.o.dryRun {
		return a.dryRun(ctx, ops)
	}
	if a.o.check {
		return a.check(ctx, ops)
	}
	if a.o.saveUndo != "" {
		// The old values are saved before anything is written, so the undo
		// file exists even if the write is interrupted.
		tx, _ := a.fs.ApplyWith(ctx, ops, &sysctl.ApplyOptions{DryRun: true, ContinueOnError: true})
		var plan []sysctl.Change
		if tx != nil {
			plan = tx.Changes()
		}
		if err := sysctl.WriteUndoFile(a.o.saveUndo, sysctl.UndoSettings(plan), time.Now()); err != nil {
			a.warnf("--save-undo %s: %v; nothing written", a.o.saveUndo, err)
			return 1
		}
	}
	var applied []sysctl.Setting
	rc := 0
	if a.rollback(len(ops)) {
		var todo []sysctl.Setting
		keys := make([]string, len(ops))
		for i, s := range ops {
			keys[i] = s.Key
		}
		infos, errs := a.fs.StatAll(keys)
		for i, s := range ops {
			k, ok, r := a.prefilterStat(s, infos[i], errs[i])
			rc |= r
			if ok {
				s.Key = k.String()
				todo = append(todo, s)
			}
		}
		if rc != 0 {
			a.warnf("nothing written: rollback-on-error is on and a setting failed")
			return rc
		}
		tx, err := a.fs.Apply(ctx, todo)
		if err != nil {
			ch := tx.Changes()
			if len(ch) > 0 && ch[len(ch)-1].Err != nil {
				rc |= a.failure(ch[len(ch)-1], err)
			} else {
				rc |= a.failure(sysctl.Change{Key: keyOf(err)}, err)
			}
			if rc != 0 {
				a.warnf("nothing written: rolled back every key of this run")
				return rc
			}
		}
		// Print one line per setting, in order (a repeated key was written
		// once, with its last value, but procps prints every occurrence).
		byKey := map[string]sysctl.Change{}
		for _, c := range tx.Changes() {
			byKey[c.Key.Path()] = c
		}
		for _, s := range todo {
			k := sysctl.MustParseKey(s.Key)
			if c, ok := byKey[k.Path()]; ok && c.Err != nil {
				rc |= a.failure(c, c.Err)
				continue
			} else if ok {
				a.warn(c)
			}
			a.printWrite(k, s.Value)
			applied = append(applied, s)
		}
	} else {
		for _, s := range ops {
			k, ok, r := a.prefilter(s)
			rc |= r
			if !ok {
				continue
			}
			s.Key = k.String()
			tx, err := a.fs.Apply(ctx, []sysctl.Setting{s})
			c := sysctl.Change{Key: k}
			if ch := tx.Changes(); len(ch) > 0 {
				c = ch[len(ch)-1]
			}
			if err == nil && c.Err != nil {
				err = c.Err
			}
			if err != nil {
				rc |= a.failure(c, err)
				continue
			}
			a.warn(c)
			a.printWrite(c.Key, c.Requested)
			applied = append(applied, s)
		}
	}
	if a.o.persist != "" && len(applied) > 0 {
		if err := persist(a.o.persist, applied); err != nil {
			a.warnf("persist %s: %v", a.o.persist, err)
			rc |= 1
		}
	}
	return rc
}

// check is --check: it lists every key whose running value differs from
// the wanted one and returns 3 on drift (0 in sync, 1 when a setting could
// not be checked).
func (a *app) check(ctx context.Context, ops []sysctl.Setting) int {
	drift, err := a.fs.Check(ctx, ops)
	rc := 0
	if err != nil {
		for _, e := range unjoin(err) {
			a.warnf("cannot check: %v", e)
			rc = 1
		}
	}
	for _, d := range drift {
		fmt.Fprintf(a.out, "drift: %s\n", d)
	}
	if len(drift) > 0 {
		return rc | 3
	}
	if rc == 0 && !a.o.quiet {
		fmt.Fprintf(a.out, "in sync: %d settings checked\n", len(ops))
	}
	return rc
}

// dryRun prints the diff the writes would make.
func (a *app) dryRun(ctx context.Context, ops []sysctl.Setting) int {
	rc := 0
	for _, s := range ops {
		k, ok, r := a.prefilter(s)
		rc |= r
		if !ok {
			continue
		}
		s.Key = k.String()
		tx, _ := a.fs.ApplyWith(ctx, []sysctl.Setting{s}, &sysctl.ApplyOptions{DryRun: true, ContinueOnError: true})
		for _, c := range tx.Changes() {
			if c.Err != nil {
				rc |= a.failure(c, c.Err)
				continue
			}
			fmt.Fprintln(a.out, c.String())
			for _, w := range c.Warnings {
				a.warnf("%s: warning: %s", c.Key, w)
			}
		}
	}
	return rc
}

func keyOf(err error) sysctl.Key {
	var e *sysctl.Error
	if errors.As(err, &e) {
		if k, perr := sysctl.ParseKey(e.Key); perr == nil {
			return k
		}
	}
	return sysctl.Key{}
}

// persist merges settings into a drop-in file in place (see
// sysctl.UpdateDropIn: symlink target, comments, order, mode and owner
// kept; flock around the read-modify-rename).
func persist(path string, settings []sysctl.Setting) error {
	for i := range settings {
		settings[i].Source = ""
	}
	return sysctl.UpdateDropIn(path, "written by sysctl --persist (wsvcb)", settings)
}

// readSetting prints one key (or a whole directory) like procps ReadSetting.
func (a *app) readSetting(name string) int {
	if name == "" {
		a.warnf("%q is an unknown key", name)
		return -1
	}
	k, err := sysctl.ParseKey(name)
	if err != nil {
		a.warnf("refusing key %q: %v", name, unwrapKeyErr(err))
		return 1
	}
	if a.fs.NetNS() != "" && !k.Namespaced() {
		a.warnf("%s: not per network namespace; refusing to read the host's value from --netns %s", k, a.fs.NetNS())
		return 1
	}
	st, err := a.fs.Stat(name)
	if err != nil {
		if errors.Is(err, sysctl.ErrNotExist) {
			if a.o.ignore {
				return 0
			}
			a.warnf("cannot stat %s: No such file or directory", a.procPath(k))
			return 1
		}
		a.warnf("cannot stat %s: %s", a.procPath(k), errText(err))
		return 1
	}
	if st.Mode().Perm()&0o400 == 0 {
		return 0
	}
	if st.IsDir() {
		return a.displayAll(k)
	}
	if !a.match(k.String()) {
		return 0
	}
	if a.o.names {
		fmt.Fprintln(a.out, k)
		return 0
	}
	v, err := a.fs.ReadKey(k)
	if err != nil {
		return a.readFailure(k, err)
	}
	a.printValue(k, v)
	return 0
}

func (a *app) readFailure(k sysctl.Key, err error) int {
	switch {
	case errors.Is(err, sysctl.ErrPermission):
		a.warnf("permission denied on key '%s'", k)
	case errors.Is(err, sysctl.ErrIO): // stable_secret: silent, like procps
	case errors.Is(err, syscall.EISDIR):
		return a.displayAll(k)
	default:
		a.warnf("reading key %q", k.String())
	}
	return 1
}

func (a *app) printValue(k sysctl.Key, v string) {
	switch {
	case !a.o.values:
		for _, line := range strings.Split(v, "\n") {
			fmt.Fprintf(a.out, "%s = %s\n", k, line)
		}
	case a.o.binary:
		fmt.Fprint(a.out, v)
	default:
		fmt.Fprintf(a.out, "%s\n", v)
	}
}

// displayAll prints every key under prefix (the whole tree for the zero Key).
func (a *app) displayAll(prefix sysctl.Key) int {
	ents, err := a.fs.ListWith(prefix.String(), &sysctl.ListOptions{Deprecated: a.o.deprecated})
	rc := 0
	for _, e := range ents {
		if e.Mode&0o400 == 0 || !a.match(e.Key.String()) {
			continue
		}
		if a.o.names {
			fmt.Fprintln(a.out, e.Key)
			continue
		}
		if e.Err != nil {
			rc |= a.readFailure(e.Key, e.Err)
			continue
		}
		a.printValue(e.Key, e.Value)
	}
	if err != nil {
		a.warnf("unable to open directory %q", a.fs.Root()+"/"+prefix.Path()+"/")
		rc |= 1
	}
	return rc
}
