package sysctl

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkApplyFakeTree500 applies 500 changed keys to a fake tree (no
// root needed): parse-free Apply cost of snapshot, validation, one
// write(2) and a read-back per key.
func BenchmarkApplyFakeTree500(b *testing.B) {
	kv := map[string]string{}
	for i := 0; i < 500; i++ {
		kv[fmt.Sprintf("net.ipv4.neigh.if%d.ucast_solicit", i)] = "3"
	}
	fs := fakeTree(b, kv)
	var up, down []Setting
	for k := range kv {
		up = append(up, Setting{Key: k, Value: "4"})
		down = append(down, Setting{Key: k, Value: "3"})
	}
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		s := up
		if i%2 == 1 {
			s = down
		}
		if _, err := fs.Apply(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseKey(b *testing.B) {
	for b.Loop() {
		if _, err := ParseKey("net.ipv4.conf.eth0/100.rp_filter"); err != nil {
			b.Fatal(err)
		}
	}
}
