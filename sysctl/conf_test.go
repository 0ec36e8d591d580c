package sysctl

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseConf(t *testing.T) {
	in := "# comment\n; other comment\n\n" +
		"net.ipv4.tcp_window_scaling = 0\n" +
		"  net.ipv4.tcp_rmem =  4096 87380 4194304  \n" +
		"-net.ipv4.nope = 1\n" +
		"net.ipv4.conf.*.rp_filter = 2\n" +
		"-net.ipv4.conf.lo.rp_filter\n" +
		"garbage line\n" +
		"x\n" + // shorter than 2 characters after the blanks: ignored like procps
		"net.core.rmem_max=1048576"
	got, err := ParseConf(strings.NewReader(in), "test.conf")
	var se *SyntaxError
	if !errors.As(err, &se) || se.Line != 9 || se.File != "test.conf" {
		t.Fatalf("err = %v, want SyntaxError at test.conf:9", err)
	}
	want := []Setting{
		{Key: "net.ipv4.tcp_window_scaling", Value: "0", Source: "test.conf:4"},
		{Key: "net.ipv4.tcp_rmem", Value: "4096 87380 4194304", Source: "test.conf:5"},
		{Key: "net.ipv4.nope", Value: "1", IgnoreErrors: true, Source: "test.conf:6"},
		{Key: "net.ipv4.conf.*.rp_filter", Value: "2", Source: "test.conf:7"},
		{Key: "net.ipv4.conf.lo.rp_filter", Exclude: true, Source: "test.conf:8"},
		{Key: "net.core.rmem_max", Value: "1048576", Source: "test.conf:11"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

func TestSystemFilesPrecedence(t *testing.T) {
	root := t.TempDir()
	write := func(p, s string) {
		p = filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("usr/lib/sysctl.d/50-default.conf", "net.ipv4.tcp_sack = 1\n")
	write("usr/lib/sysctl.d/10-a.conf", "net.ipv4.tcp_dsack = 1\n")
	write("etc/sysctl.d/50-default.conf", "net.ipv4.tcp_sack = 0\n") // masks the /usr/lib one
	write("run/sysctl.d/99-z.conf", "net.ipv4.tcp_fack = 0\n")
	write("lib/sysctl.d/README", "not a conf file\n")
	write("etc/sysctl.conf", "net.ipv4.tcp_ecn = 1\n")
	os.MkdirAll(filepath.Join(root, "usr/local/lib/sysctl.d"), 0o755)
	if err := os.Symlink(os.DevNull, filepath.Join(root, "usr/local/lib/sysctl.d/10-a.conf")); err != nil {
		t.Fatal(err)
	}
	files, err := SystemFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	var rel []string
	for _, f := range files {
		r, _ := filepath.Rel(root, f)
		rel = append(rel, r)
	}
	want := []string{"usr/local/lib/sysctl.d/10-a.conf", "etc/sysctl.d/50-default.conf", "run/sysctl.d/99-z.conf", "etc/sysctl.conf"}
	if !slices.Equal(rel, want) {
		t.Fatalf("SystemFiles = %v, want %v", rel, want)
	}
	settings, _, err := LoadSystem(root)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, s := range settings {
		keys = append(keys, s.Key+"="+s.Value)
	}
	if w := []string{"net.ipv4.tcp_sack=0", "net.ipv4.tcp_fack=0", "net.ipv4.tcp_ecn=1"}; !slices.Equal(keys, w) {
		t.Fatalf("LoadSystem = %v, want %v", keys, w)
	}
}

func TestWriteDropIn(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "90-wsvcb.conf")
	s := []Setting{{Key: "net/ipv4/tcp_window_scaling", Value: "0"}, {Key: "net.ipv4.tcp_rmem", Value: "4096\t87380  4194304"},
		{Key: "net.ipv4.nope", Value: "1", IgnoreErrors: true}}
	if err := WriteDropIn(p, "written by wsvcb", s); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	want := "# written by wsvcb\nnet.ipv4.tcp_window_scaling = 0\nnet.ipv4.tcp_rmem = 4096 87380 4194304\n-net.ipv4.nope = 1\n"
	if string(b) != want {
		t.Fatalf("drop-in:\n%s\nwant:\n%s", b, want)
	}
	back, err := ParseConfFile(p)
	if err != nil || len(back) != 3 || back[1].Value != "4096 87380 4194304" {
		t.Fatalf("re-parse: %+v %v", back, err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("temp file left behind: %v", ents)
	}
}

func FuzzParseConf(f *testing.F) {
	for _, s := range []string{
		"net.ipv4.tcp_rmem = 4096 87380 4194304\n",
		"# c\n; c\n-net.ipv4.nope = 1\n",
		"net.ipv4.conf.*.rp_filter=2\n-net.ipv4.conf.lo.rp_filter\n",
		"bad\n=\n-\n==\n -=x\n",
		"a.b=\r\n",
		"../../x = 1\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		settings, err := ParseConf(strings.NewReader(s), "fuzz")
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error is not a SyntaxError: %v", err)
			}
		}
		for _, st := range settings {
			if _, err := ParsePattern(st.Key); err != nil {
				t.Fatalf("accepted bad key %q: %v", st.Key, err)
			}
			if strings.ContainsAny(st.Value, "\n") {
				t.Fatalf("value spans lines: %q", st.Value)
			}
			if st.Value != strings.TrimSpace(st.Value) && strings.Trim(st.Value, blanks) != st.Value {
				t.Fatalf("value not trimmed: %q", st.Value)
			}
		}
	})
}

func FuzzValidate(f *testing.F) {
	for _, s := range []string{"4096 87380 4194304", "010", "0x10", "-1", "1 2 3 4", "", "99999999999999999999"} {
		f.Add("net.ipv4.tcp_rmem", s, "4096\t131072\t6291456")
	}
	f.Add("net.ipv4.foo", "a b", "c")
	f.Fuzz(func(t *testing.T, key, value, current string) {
		k, err := ParseKey(key)
		if err != nil {
			return
		}
		v, err := Validate(k, value, current, true)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error without ErrInvalid: %v", err)
			}
			return
		}
		if strings.ContainsAny(v.Canonical, "\n\x00") {
			t.Fatalf("canonical value %q", v.Canonical)
		}
		// Canonical values validate to themselves.
		v2, err := Validate(k, v.Canonical, current, true)
		if err != nil || v2.Canonical != v.Canonical {
			t.Fatalf("canonical %q not stable: %q %v", v.Canonical, v2.Canonical, err)
		}
	})
}
