package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestManyVMs: -A any: on the simulator backs up every VM in one run. The
// simulator's own VMs have empty flat extents for 10 GiB disks, so their
// backups fail (the capacity invariant): the run reports each, keeps
// going, backs up vcbdemo, and exits 1.
func TestManyVMs(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	var out, errb bytes.Buffer
	code := run(ctx, []string{"-sim", "-A", "any:", "-x", "name:DC0_H0_VM1", "-j", "2", "-r", parent, "-json"}, nil, &out, &errb)
	assert.Equal(t, 1, code, errb.String())
	var sum struct {
		OK, Failed int
		Results    []struct {
			VM struct {
				Name string `json:"name"`
			} `json:"vm"`
			Dir   string `json:"dir"`
			Error string `json:"error"`
		} `json:"results"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &sum), out.String())
	assert.Equal(t, 1, sum.OK)
	assert.Equal(t, len(sum.Results)-1, sum.Failed)
	for _, r := range sum.Results {
		assert.NotEqual(t, "DC0_H0_VM1", r.VM.Name, "excluded")
		if r.VM.Name == "vcbdemo" {
			assert.Empty(t, r.Error)
			var vo, ve bytes.Buffer
			assert.Equal(t, 0, run(ctx, []string{"-verify", r.Dir}, nil, &vo, &ve), ve.String())
		} else {
			assert.Contains(t, r.Error, "backup is incomplete")
			_, err := os.Stat(r.Dir)
			assert.True(t, os.IsNotExist(err), "a failed VM leaves no folder")
		}
	}

	// A VM list file, ghettoVCB style.
	list := filepath.Join(t.TempDir(), "vms.txt")
	require.NoError(t, os.WriteFile(list, []byte("# backed up nightly\nvcbdemo   # the demo\n\n"), 0o644))
	out.Reset()
	// (A fresh parent: a second run within the same second would name the
	// same NAME-TIME folder, which is refused, never overwritten.)
	code = run(ctx, []string{"-sim", "-vmlist", list, "-r", t.TempDir(), "-q"}, nil, &out, &errb)
	assert.Equal(t, 0, code, errb.String())
	assert.Contains(t, out.String(), "1 of 1 VMs backed up, 0 failed")

	for _, args := range [][]string{
		{"-sim", "-A", "any:", "-a", "name:vcbdemo", "-r", parent}, // both forms
		{"-sim", "-A", "any:"},                // no -r
		{"-sim", "-A", "bogus", "-r", parent}, // bad selector
		{"-sim", "-A", "any:", "-j", "0", "-r", parent},
	} {
		assert.Equal(t, 2, run(ctx, args, nil, &out, &errb), "%v", args)
	}
}
