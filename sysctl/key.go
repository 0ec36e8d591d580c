package sysctl

import (
	"fmt"
	"path"
	"strings"
)

// Key is a parsed sysctl name: the list of directory and file names below
// the sysctl root. A component may itself contain a dot, as interface names
// like "eth0.100" do.
type Key struct {
	parts []string
}

// ParseKey parses a key the way procps sysctl does: "." or "/" separate
// components, and the first separator in the string decides. When it is
// ".", a "/" inside a component stands for a literal "." (so
// "net.ipv4.conf.eth0/100.rp_filter" names the directory "eth0.100");
// when it is "/", dots are literal ("net/ipv4/conf/eth0.100/rp_filter").
//
// Unlike procps, empty components (repeated separators), "." and "..",
// absolute paths, NUL bytes and glob characters are refused with ErrBadKey.
func ParseKey(s string) (Key, error) {
	return parseKey(s, false)
}

// ParsePattern is ParseKey allowing the glob characters "*", "?" and
// "[...]" in components (path.Match syntax), as systemd-sysctl and
// procps accept in configuration files.
func ParsePattern(s string) (Key, error) {
	return parseKey(s, true)
}

// MustParseKey is ParseKey for constant keys; it panics on error.
func MustParseKey(s string) Key {
	k, err := ParseKey(s)
	if err != nil {
		panic(err)
	}
	return k
}

func badKey(s, why string) error {
	return &Error{Key: s, Op: OpValidate, Err: fmt.Errorf("%w: %s", ErrBadKey, why)}
}

func parseKey(s string, glob bool) (Key, error) {
	if s == "" {
		return Key{}, badKey(s, "empty key")
	}
	if strings.IndexByte(s, 0) >= 0 {
		return Key{}, badKey(s, "NUL byte in key")
	}
	if s[0] == '/' {
		return Key{}, badKey(s, "absolute path; keys are relative to the sysctl root")
	}
	var parts []string
	switch i := strings.IndexAny(s, "./"); {
	case i < 0:
		parts = []string{s}
	case s[i] == '.':
		parts = strings.Split(s, ".")
		for j := range parts {
			parts[j] = strings.ReplaceAll(parts[j], "/", ".")
		}
	default:
		parts = strings.Split(s, "/")
	}
	for _, p := range parts {
		switch {
		case p == "":
			return Key{}, badKey(s, "empty component (repeated or trailing separator)")
		case p == "." || p == "..":
			return Key{}, badKey(s, "component "+p+" would leave the sysctl tree")
		case strings.ContainsAny(p, "/"):
			return Key{}, badKey(s, "bad component "+p)
		case !glob && strings.ContainsAny(p, "*?["):
			return Key{}, badKey(s, "glob characters in a key; use a pattern")
		case glob:
			if _, err := path.Match(p, ""); err != nil {
				return Key{}, badKey(s, "bad glob "+p)
			}
		}
	}
	return Key{parts: parts}, nil
}

// String returns the dotted name procps prints: components joined by ".",
// with dots inside a component written as "/".
func (k Key) String() string {
	var b strings.Builder
	for i, p := range k.parts {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strings.ReplaceAll(p, ".", "/"))
	}
	return b.String()
}

// Path returns the slash-separated path relative to the sysctl root.
func (k Key) Path() string { return strings.Join(k.parts, "/") }

// Parts returns a copy of the components.
func (k Key) Parts() []string { return append([]string(nil), k.parts...) }

// IsZero reports whether k is the zero Key.
func (k Key) IsZero() bool { return len(k.parts) == 0 }

// IsGlob reports whether k contains glob characters.
func (k Key) IsGlob() bool {
	for _, p := range k.parts {
		if strings.ContainsAny(p, "*?[") {
			return true
		}
	}
	return false
}

// Namespaced reports whether the key lives in a network namespace
// (everything under net.*). kernel.*, vm.*, fs.*, dev.*, ... are global.
func (k Key) Namespaced() bool { return len(k.parts) > 0 && k.parts[0] == "net" }

// HasPrefix reports whether p's components are a prefix of k's.
func (k Key) HasPrefix(p Key) bool {
	if len(p.parts) > len(k.parts) {
		return false
	}
	for i := range p.parts {
		if p.parts[i] != k.parts[i] {
			return false
		}
	}
	return true
}

// Match reports whether k matches the pattern p component by component.
func (k Key) Match(p Key) bool {
	if len(p.parts) != len(k.parts) {
		return false
	}
	for i := range p.parts {
		if ok, _ := path.Match(p.parts[i], k.parts[i]); !ok {
			return false
		}
	}
	return true
}

func (k Key) child(name string) Key {
	parts := make([]string, len(k.parts)+1)
	copy(parts, k.parts)
	parts[len(k.parts)] = name
	return Key{parts: parts}
}
