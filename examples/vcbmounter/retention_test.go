package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
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

// TestRetentionMatchesRestic checks the -keep-* flags against what restic
// 0.18.1's own forget keeps for the same snapshot times
// (testdata/restic-forget.tsv, made by scripts/gen-retention-golden.sh).
func TestRetentionMatchesRestic(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "restic-forget.tsv"))
	require.NoError(t, err)
	var times []time.Time
	cases := 0
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		policy, list, ok := strings.Cut(line, "\t")
		require.True(t, ok, line)
		var got []time.Time
		for _, s := range strings.Split(list, ",") {
			tm, err := time.Parse(time.RFC3339, s)
			require.NoError(t, err)
			got = append(got, tm)
		}
		if policy == "snapshots" {
			times = got
			continue
		}
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		rf := registerRetention(fs)
		args := strings.Fields(strings.ReplaceAll(policy, "--", "-"))
		require.NoError(t, fs.Parse(args))
		p, err := rf.policy()
		require.NoError(t, err)
		require.NotNil(t, p)
		p.Location = time.UTC
		var kept []time.Time
		for i, why := range p.Decide(times) {
			if why != nil {
				kept = append(kept, times[i])
			}
		}
		assert.Equal(t, got, kept, "restic forget %s", policy)
		cases++
	}
	assert.Equal(t, 12, cases)
}
