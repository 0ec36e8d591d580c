package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRetentionRealBackups makes real backups of the simulator's VM with
// -keep-last and -keep-daily, then forgets with -dry-run and for real.
func TestRetentionRealBackups(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	for i := 0; i < 3; i++ {
		var out, errb bytes.Buffer
		dir := filepath.Join(parent, "vcbdemo-"+string(rune('a'+i)))
		code := run(ctx, []string{"-sim", "-a", "name:vcbdemo", "-r", dir, "-q", "-keep-last", "2"}, nil, &out, &errb)
		require.Equal(t, 0, code, errb.String())
	}
	ents, err := os.ReadDir(parent)
	require.NoError(t, err)
	require.Len(t, ents, 2, "-keep-last 2 after three backups")
	assert.Equal(t, "vcbdemo-b", ents[0].Name())

	// All backups were made today: -keep-daily 1 keeps only the newest.
	var out, errb bytes.Buffer
	code := run(ctx, []string{"-forget", parent, "-keep-daily", "1", "-dry-run", "-json"}, nil, &out, &errb)
	require.Equal(t, 0, code, errb.String())
	var res struct {
		DryRun  bool `json:"dryRun"`
		Backups []struct {
			Dir     string   `json:"dir"`
			Keep    []string `json:"keep"`
			Removed bool     `json:"removed"`
		} `json:"backups"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &res))
	require.Len(t, res.Backups, 2)
	assert.True(t, res.DryRun)
	assert.Equal(t, filepath.Join(parent, "vcbdemo-c"), res.Backups[0].Dir)
	assert.Equal(t, []string{"daily"}, res.Backups[0].Keep)
	assert.Nil(t, res.Backups[1].Keep)
	assert.False(t, res.Backups[1].Removed)
	ents, _ = os.ReadDir(parent)
	assert.Len(t, ents, 2, "dry run removes nothing")

	out.Reset()
	code = run(ctx, []string{"-forget", parent, "-keep-daily", "1"}, nil, &out, &errb)
	require.Equal(t, 0, code, errb.String())
	assert.Contains(t, out.String(), "1 of 2 backups removed (keep-daily 1)")
	ents, _ = os.ReadDir(parent)
	require.Len(t, ents, 1)
	assert.Equal(t, "vcbdemo-c", ents[0].Name())
}

func TestRetentionFlagErrors(t *testing.T) {
	ctx := context.Background()
	for _, args := range [][]string{
		{"-forget", t.TempDir()}, // no policy: never "keep nothing"
		{"-forget", t.TempDir(), "-keep-within", "7x"},
		{"-forget", t.TempDir(), "-keep-daily", "-1"},
	} {
		var out, errb bytes.Buffer
		assert.Equal(t, 2, run(ctx, args, nil, &out, &errb), "%v: %s", args, errb.String())
		assert.NotEmpty(t, errb.String())
	}
	for in, want := range map[string]time.Duration{"36h": 36 * time.Hour, "7d": 7 * 24 * time.Hour, "1y2m": (365 + 60) * 24 * time.Hour} {
		d, err := parseSpan(in)
		require.NoError(t, err)
		assert.Equal(t, want, d, in)
	}
}
