package sysctl

import (
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// maxValue bounds how much of a sysctl file is read (the kernel limits
// writes to a page; some read-only tables are larger).
const maxValue = 1 << 20

// readRaw returns the file content of k with one trailing newline removed.
// Must run inside fs.run.
func (fs *FS) readRaw(k Key) (string, error) {
	fd, err := fs.openFD(k.Path(), unix.O_RDONLY)
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	var buf [256]byte
	b := buf[:0]
	for {
		if len(b) == cap(b) {
			if len(b) >= maxValue {
				break
			}
			b = append(b, 0)[:len(b)]
		}
		n, err := unix.Read(fd, b[len(b):cap(b)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return "", &os.PathError{Op: "read", Path: k.Path(), Err: err}
		}
		if n == 0 {
			break
		}
		b = b[:len(b)+n]
	}
	return strings.TrimSuffix(string(b), "\n"), nil
}

// Read returns the raw value of key, without the trailing newline. Vectors
// come back as the kernel prints them (tab-separated for tcp_rmem).
func (fs *FS) Read(key string) (string, error) {
	k, err := ParseKey(key)
	if err != nil {
		return "", err
	}
	return fs.ReadKey(k)
}

// ReadKey is Read for a parsed key.
func (fs *FS) ReadKey(k Key) (string, error) {
	if err := fs.checkScope(k, "", OpRead); err != nil {
		return "", err
	}
	var v string
	var err error
	if rerr := fs.run(func() { v, err = fs.readRaw(k) }); rerr != nil {
		return "", keyErr(k, "", OpRead, rerr)
	}
	if err != nil {
		return "", keyErr(k, "", OpRead, err)
	}
	return v, nil
}

// ReadInt reads a single integer value.
func (fs *FS) ReadInt(key string) (int64, error) {
	v, err := fs.ReadInts(key)
	if err != nil {
		return 0, err
	}
	if len(v) != 1 {
		k, _ := ParseKey(key)
		return 0, keyErr(k, "", OpRead, errors.Join(ErrInvalid, errors.New("not a single integer: "+strconv.Itoa(len(v))+" fields")))
	}
	return v[0], nil
}

// ReadInts reads a vector of integers such as net.ipv4.tcp_rmem.
func (fs *FS) ReadInts(key string) ([]int64, error) {
	k, err := ParseKey(key)
	if err != nil {
		return nil, err
	}
	raw, err := fs.ReadKey(k)
	if err != nil {
		return nil, err
	}
	out, err := parseInts(raw)
	if err != nil {
		return nil, keyErr(k, "", OpRead, err)
	}
	return out, nil
}

// ReadBool reads a 0/1 switch such as net.ipv4.tcp_window_scaling. Any
// non-zero integer is true, as for the kernel's proc_dointvec users.
func (fs *FS) ReadBool(key string) (bool, error) {
	v, err := fs.ReadInt(key)
	return v != 0, err
}

// parseInts parses decimal integer fields separated by blanks.
func parseInts(s string) ([]int64, error) {
	fields := strings.Fields(s)
	out := make([]int64, 0, len(fields))
	for _, f := range fields {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			if u, uerr := strconv.ParseUint(f, 10, 64); uerr == nil {
				n = int64(u) // e.g. tcp_notsent_lowat's UINT_MAX fits; larger wraps
			} else {
				return nil, errors.Join(ErrInvalid, err)
			}
		}
		out = append(out, n)
	}
	return out, nil
}

// Entry is one key and its raw value, as listed by List.
type Entry struct {
	Key   Key
	Value string
	Mode  os.FileMode // permission bits of the file (0200 for write-only keys)
	Err   error       // read error for this key (e.g. ErrPermission for write-only keys)
}

// StatAll is Stat for many keys in one pass (one hop to the namespace
// thread for a namespace scope). errs[i] is the error for keys[i].
func (fs *FS) StatAll(keys []string) (infos []os.FileInfo, errs []error) {
	infos, errs = make([]os.FileInfo, len(keys)), make([]error, len(keys))
	parsed := make([]Key, len(keys))
	for i, key := range keys {
		k, err := ParseKey(key)
		if err == nil {
			err = fs.checkScope(k, "", OpRead)
		}
		parsed[i], errs[i] = k, err
	}
	if rerr := fs.run(func() {
		for i, k := range parsed {
			if errs[i] != nil {
				continue
			}
			st, err := fs.stat(k)
			if err != nil {
				errs[i] = keyErr(k, "", OpRead, err)
				continue
			}
			infos[i] = st
		}
	}); rerr != nil {
		for i := range errs {
			errs[i] = rerr
		}
	}
	return infos, errs
}

// Stat returns the file information of key (its mode tells read-only and
// write-only keys apart).
func (fs *FS) Stat(key string) (os.FileInfo, error) {
	k, err := ParseKey(key)
	if err != nil {
		return nil, err
	}
	if err := fs.checkScope(k, "", OpRead); err != nil {
		return nil, err
	}
	var st os.FileInfo
	if rerr := fs.run(func() { st, err = fs.stat(k) }); rerr != nil {
		return nil, rerr
	}
	if err != nil {
		return nil, keyErr(k, "", OpRead, err)
	}
	return st, nil
}

// List returns every key under prefix (a key or directory such as "net.ipv4",
// or "" for the whole tree), or matching the glob pattern prefix, sorted
// like procps sysctl -a prints them. Values that cannot be read carry Err.
func (fs *FS) List(prefix string) ([]Entry, error) {
	return fs.ListWith(prefix, nil)
}

// ListOptions tune ListWith; nil means the defaults of List.
type ListOptions struct {
	// Deprecated includes keys procps hides by default
	// (neigh base_reachable_time and retrans_time, superseded by *_ms).
	Deprecated bool
}

// ListWith is List with options.
func (fs *FS) ListWith(prefix string, opts *ListOptions) ([]Entry, error) {
	if opts == nil {
		opts = &ListOptions{}
	}
	var p Key
	if prefix != "" {
		var err error
		if p, err = ParsePattern(prefix); err != nil {
			return nil, err
		}
	}
	if fs.netns != "" && !p.IsZero() && !p.Namespaced() && !p.IsGlob() {
		return nil, fs.checkScope(p, "", OpList)
	}
	var out []Entry
	var err error
	if rerr := fs.run(func() { out, err = fs.list(p, opts.Deprecated) }); rerr != nil {
		return nil, rerr
	}
	return out, err
}

// Glob returns the keys matching pattern, sorted.
func (fs *FS) Glob(pattern string) ([]Key, error) {
	p, err := ParsePattern(pattern)
	if err != nil {
		return nil, err
	}
	var keys []Key
	if rerr := fs.run(func() { keys, err = fs.glob(p) }); rerr != nil {
		return nil, rerr
	}
	return keys, err
}

// glob expands p component by component (must run inside fs.run).
func (fs *FS) glob(p Key) ([]Key, error) {
	cur := []Key{{}}
	for i, part := range p.parts {
		var next []Key
		for _, dir := range cur {
			if !strings.ContainsAny(part, "*?[") {
				next = append(next, dir.child(part))
				continue
			}
			names, err := fs.readDir(dir)
			if err != nil {
				continue
			}
			for _, n := range names {
				if ok, _ := matchPart(part, n); ok {
					next = append(next, dir.child(n))
				}
			}
		}
		cur = next
		_ = i
	}
	var out []Key
	for _, k := range cur {
		if fs.netns != "" && !k.Namespaced() {
			continue
		}
		if st, err := fs.stat(k); err == nil && !st.IsDir() {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b Key) int { return strings.Compare(a.Path(), b.Path()) })
	return out, nil
}

func matchPart(pattern, name string) (bool, error) {
	return pathMatch(pattern, name)
}

func (fs *FS) stat(k Key) (os.FileInfo, error) {
	rel := k.Path()
	if rel == "" {
		rel = "."
	}
	f, err := fs.open(rel, os.O_RDONLY|unix.O_PATH)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Stat()
}

func (fs *FS) readDir(k Key) ([]string, error) {
	rel := k.Path()
	if rel == "" {
		rel = "."
	}
	f, err := fs.open(rel, os.O_RDONLY|syscall.O_DIRECTORY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	slices.Sort(names)
	return names, err
}

// verboten keys are never read while listing: reading has side effects.
var verboten = map[string]bool{"stat_refresh": true}

// deprecated keys are hidden from listings, as procps does by default.
var deprecated = map[string]bool{"base_reachable_time": true, "retrans_time": true}

func (fs *FS) list(p Key, withDeprecated bool) ([]Entry, error) {
	var roots []Key
	if p.IsGlob() {
		ks, err := fs.glob(p)
		if err != nil {
			return nil, err
		}
		roots = ks
	} else {
		roots = []Key{p}
	}
	var out []Entry
	var walk func(k Key) error
	walk = func(k Key) error {
		if fs.netns != "" && !k.IsZero() && !k.Namespaced() {
			return nil
		}
		var st os.FileInfo
		if !k.IsZero() {
			var err error
			if st, err = fs.stat(k); err != nil {
				return keyErr(k, "", OpList, err)
			}
		}
		if st != nil && !st.IsDir() {
			v, err := fs.readRaw(k)
			e := Entry{Key: k, Value: v, Mode: st.Mode().Perm()}
			if err != nil {
				e.Err = keyErr(k, "", OpRead, err)
			}
			out = append(out, e)
			return nil
		}
		names, err := fs.readDir(k)
		if err != nil {
			return keyErr(k, "", OpList, err)
		}
		for _, n := range names {
			if verboten[n] || deprecated[n] && !withDeprecated {
				continue
			}
			if err := walk(k.child(n)); err != nil {
				return err
			}
		}
		return nil
	}
	for _, r := range roots {
		if err := walk(r); err != nil {
			return out, err
		}
	}
	return out, nil
}
