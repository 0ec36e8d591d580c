package sysctl

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ConfDirs are the sysctl.d directories in precedence order, as procps
// sysctl --system and systemd-sysctl search them.
var ConfDirs = []string{
	"/etc/sysctl.d",
	"/run/sysctl.d",
	"/usr/local/lib/sysctl.d",
	"/usr/lib/sysctl.d",
	"/lib/sysctl.d",
}

// ConfFile is the traditional configuration file, applied after the
// sysctl.d files by procps sysctl --system.
const ConfFile = "/etc/sysctl.conf"

// SystemFiles returns the configuration files --system applies, in order:
// the "*.conf" files of ConfDirs sorted by file name, where a name found in
// an earlier directory masks the same name in later ones (so
// /etc/sysctl.d/50-x.conf -> /dev/null disables /usr/lib/sysctl.d/50-x.conf),
// followed by /etc/sysctl.conf if it is a regular file. All paths are
// taken below prefix ("" or "/" for the real system, a temp dir in tests).
func SystemFiles(prefix string) ([]string, error) {
	seen := map[string]string{}
	var names []string
	for _, d := range ConfDirs {
		ents, err := os.ReadDir(filepath.Join(prefix, d))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
				continue
			}
			return nil, err
		}
		for _, e := range ents {
			n := e.Name()
			if len(n) < 5 || !strings.HasSuffix(n, ".conf") {
				continue
			}
			if _, ok := seen[n]; ok {
				continue
			}
			seen[n] = filepath.Join(d, n)
			names = append(names, n)
		}
	}
	slices.Sort(names)
	out := make([]string, 0, len(names)+1)
	for _, n := range names {
		out = append(out, filepath.Join(prefix, seen[n]))
	}
	if st, err := os.Stat(filepath.Join(prefix, ConfFile)); err == nil && st.Mode().IsRegular() {
		out = append(out, filepath.Join(prefix, ConfFile))
	}
	return out, nil
}

// IsMasked reports whether a configuration file is masked the systemd way
// (a symlink to /dev/null, or an empty file).
func IsMasked(path string) bool {
	if t, err := os.Readlink(path); err == nil && t == os.DevNull {
		return true
	}
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && st.Size() == 0
}

// LoadSystem parses every file of SystemFiles(prefix) and returns their
// settings in application order. Syntax errors are joined in the error;
// the valid settings are still returned.
func LoadSystem(prefix string) (settings []Setting, files []string, err error) {
	files, err = SystemFiles(prefix)
	if err != nil {
		return nil, nil, err
	}
	var errs []error
	for _, f := range files {
		if IsMasked(f) {
			continue
		}
		s, err := ParseConfFile(f)
		settings = append(settings, s...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return settings, files, errors.Join(errs...)
}
