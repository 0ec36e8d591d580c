package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// FuzzParseArgs feeds arbitrary argument vectors to the getopt emulation;
// it must return options or a usage error, never panic.
func FuzzParseArgs(f *testing.F) {
	for _, s := range []string{"-w\x00net.ipv4.tcp_sack=0", "-p", "-pfile\x00-q", "-r", "--load=x", "--pat=y\x00-a",
		"--rollback-on-error=false", "--", "-nqebN", "--netns", "-\x00--"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parseArgs("sysctl", strings.Split(s, "\x00"))
	})
}

// FuzzRunFakeTree runs whole invocations against a fake tree (reads,
// writes, dry runs): any input must end with an exit status, not a panic.
func FuzzRunFakeTree(f *testing.F) {
	for _, s := range []string{"net.ipv4.tcp_sack", "-w\x00net.ipv4.tcp_rmem=1 2 3", "--dry-run\x00-w\x00a.b=c",
		"-a\x00-r\x00tcp", "net/../x", "-e\x00-w\x00-net.x=1", "-N\x00-q\x00x"} {
		f.Add(s)
	}
	root := fakeRootTB(f)
	f.Fuzz(func(t *testing.T, s string) {
		args := append([]string{"sysctl", "--root", root}, strings.Split(s, "\x00")...)
		// Safe by construction: run only invocations whose parsed options
		// stay on the fake tree and touch no files.
		o, err := parseArgs("sysctl", args[1:])
		if err != nil || o.root != root || o.netns != "" || o.persist != "" || o.load || o.system || o.confPrefix != "" {
			return
		}
		var out, errw bytes.Buffer
		run(context.Background(), args, &out, &errw, strings.NewReader(""))
	})
}
