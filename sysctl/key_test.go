package sysctl

import (
	"errors"
	"testing"
)

func TestParseKey(t *testing.T) {
	for _, tc := range []struct {
		in, name, path string
	}{
		{"net.ipv4.tcp_rmem", "net.ipv4.tcp_rmem", "net/ipv4/tcp_rmem"},
		{"net/ipv4/tcp_rmem", "net.ipv4.tcp_rmem", "net/ipv4/tcp_rmem"},
		{"net.ipv4.conf.eth0/100.rp_filter", "net.ipv4.conf.eth0/100.rp_filter", "net/ipv4/conf/eth0.100/rp_filter"},
		{"net/ipv4/conf/eth0.100/rp_filter", "net.ipv4.conf.eth0/100.rp_filter", "net/ipv4/conf/eth0.100/rp_filter"},
		{"kernel", "kernel", "kernel"},
	} {
		k, err := ParseKey(tc.in)
		if err != nil {
			t.Fatalf("ParseKey(%q): %v", tc.in, err)
		}
		if k.String() != tc.name || k.Path() != tc.path {
			t.Errorf("ParseKey(%q) = %q, %q; want %q, %q", tc.in, k.String(), k.Path(), tc.name, tc.path)
		}
		// Round trip through both spellings.
		for _, s := range []string{k.String(), k.Path()} {
			k2, err := ParseKey(s)
			if err != nil || k2.Path() != k.Path() {
				t.Errorf("round trip %q: %v %v", s, k2, err)
			}
		}
	}
}

func TestParseKeyRefusesEscapes(t *testing.T) {
	for _, in := range []string{"", "..", "../../etc/passwd", "net/../../etc", "net.ipv4..tcp_sack",
		"/proc/sys/net/ipv4/tcp_sack", "net.ipv4.", ".net", "net/./ipv4", "net.ipv4.*", "a\x00b", "net//ipv4"} {
		_, err := ParseKey(in)
		if !errors.Is(err, ErrBadKey) {
			t.Errorf("ParseKey(%q) = %v, want ErrBadKey", in, err)
		}
	}
}

func TestPattern(t *testing.T) {
	p, err := ParsePattern("net.ipv4.conf.*.rp_filter")
	if err != nil {
		t.Fatal(err)
	}
	if !MustParseKey("net.ipv4.conf.eth0/100.rp_filter").Match(p) || MustParseKey("net.ipv4.conf.lo.forwarding").Match(p) {
		t.Error("Match")
	}
}

func FuzzParseKey(f *testing.F) {
	for _, s := range []string{"net.ipv4.tcp_rmem", "net/ipv4/conf/eth0.100/rp_filter", "net.ipv4.conf.eth0/100.rp_filter",
		"../x", "/abs", "a..b", "a.*.[b", "x/y.z", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, glob := range []bool{false, true} {
			k, err := parseKey(s, glob)
			if err != nil {
				if !errors.Is(err, ErrBadKey) {
					t.Fatalf("error without ErrBadKey: %v", err)
				}
				continue
			}
			for _, p := range k.parts {
				if p == "" || p == "." || p == ".." {
					t.Fatalf("%q: unsafe component %q", s, p)
				}
			}
			// The dotted spelling parses back to the same path.
			k2, err := parseKey(k.String(), glob)
			if err != nil || k2.Path() != k.Path() {
				t.Fatalf("%q: round trip %q -> %v %v", s, k.String(), k2.Path(), err)
			}
		}
	})
}
