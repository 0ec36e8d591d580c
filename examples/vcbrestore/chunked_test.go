package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulletproof-labs/wsvcb/vcb"
	"github.com/bulletproof-labs/wsvcb/vcb/chunkstore"
	"github.com/bulletproof-labs/wsvcb/vcb/vcbtest"
)

// TestChunkedRestoreIntoSim restores a chunked backup into a fresh
// embedded simulator with -store.
func TestChunkedRestoreIntoSim(t *testing.T) {
	defer vcbtest.Quiet()()
	sim, err := vcbtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	ctx := context.Background()
	c, err := vcb.Dial(ctx, &vcb.Config{URL: sim.URL.String(), Username: sim.Username, Password: sim.Password, Thumbprint: sim.Thumbprint})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := vcbtest.CreateVM(ctx, c.Vim(), vcbtest.VMSpec{Name: "chunky", DiskSizes: []int64{3 << 20}, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	vm, err := c.Find(ctx, vcb.Selector{Kind: vcb.SelectName, Value: "chunky"})
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	store := filepath.Join(root, "store")
	st, err := chunkstore.Open(store)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "chunky-1")
	if _, err := c.BackupChunked(ctx, vm, dir, &vcb.ChunkedOptions{Store: st}); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"-sim", "-q", "-s", dir, "-store", store, "-name", "chunky-copy"}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "chunky-copy") {
		t.Fatalf("output: %s", out.String())
	}
}
