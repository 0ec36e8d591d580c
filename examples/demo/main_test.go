package main

import (
	"strings"
	"testing"
)

func TestTcpwinDemo(t *testing.T) {
	var b strings.Builder
	if err := tcpwinDemo(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"3\ta2b\t.\t92\t64\t5888\n",
		`the client's "win 92" means 5888 bytes`,
		"the seed's 2.6.17 client (tcp_rmem max 3 MiB)  -> wscale 6",
		"fix 1: tcp_window_scaling=0                    -> no window-scale option",
		"fix 2: tcp_rmem \"4096 87380 174760\"            -> wscale 2",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}
