package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/bulletproof-labs/wsvcb/examples/internal/vcbcli"
	"github.com/bulletproof-labs/wsvcb/vcb"
)

func TestSimRestore(t *testing.T) {
	ctx := context.Background()
	// Back up the demo VM of one simulator...
	sim, cfg, err := vcbcli.StartSim(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	c, err := vcb.Dial(ctx, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	vm, err := c.Find(ctx, vcb.Selector{Kind: vcb.SelectName, Value: vcbcli.DemoVM})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "demo")
	if _, err := c.Backup(ctx, vm, dir, nil); err != nil {
		t.Fatal(err)
	}
	c.Close()
	sim.Close()

	// ...and restore it into another one.
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"-sim", "-s", dir, "-json"}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var res vcb.RestoreResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || !res.Verified || res.VM.Name != vcbcli.DemoVM || len(res.VM.Disks) != 2 {
		t.Fatalf("result %+v, %v", res, err)
	}
	if code := run(ctx, []string{"-sim", "-s", dir, "-b", "sometimes"}, nil, &out, &errb); code == 0 {
		t.Fatal("bad -b accepted")
	}
}
