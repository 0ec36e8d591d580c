package vcb_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bulletproof-labs/wsvcb/vcb"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse("2006-01-02 15:04", s)
	require.NoError(t, err)
	return tm
}

// kept applies p to times (newest first) and lists the kept ones.
func kept(t *testing.T, p vcb.RetentionPolicy, times ...string) []string {
	t.Helper()
	var ts []time.Time
	for _, s := range times {
		ts = append(ts, mustTime(t, s))
	}
	p.Location = time.UTC
	var out []string
	for i, why := range p.Decide(ts) {
		if why != nil {
			out = append(out, times[i])
		}
	}
	return out
}

func TestRetentionPolicyRules(t *testing.T) {
	times := []string{ // newest first
		"2026-12-02 23:00", "2026-12-02 09:30", "2026-12-02 09:10",
		"2026-12-01 12:00", "2026-11-30 08:00", // Monday of ISO week 49
		"2026-11-29 08:00", // Sunday, ISO week 48
		"2026-11-15 08:00", "2026-10-31 08:00", "2025-06-01 08:00",
	}
	for _, tt := range []struct {
		name string
		p    vcb.RetentionPolicy
		want []string
	}{
		{"empty keeps all", vcb.RetentionPolicy{}, times},
		{"last 2", vcb.RetentionPolicy{Last: 2}, times[:2]},
		// Hours with a backup: 23h, 09h (09:30 is that hour's newest).
		{"hourly 2", vcb.RetentionPolicy{Hourly: 2}, []string{"2026-12-02 23:00", "2026-12-02 09:30"}},
		{"daily 3", vcb.RetentionPolicy{Daily: 3}, []string{"2026-12-02 23:00", "2026-12-01 12:00", "2026-11-30 08:00"}},
		// ISO weeks: 49 (Mon 30 Nov..), 48, 46, 44.
		{"weekly 3", vcb.RetentionPolicy{Weekly: 3}, []string{"2026-12-02 23:00", "2026-11-29 08:00", "2026-11-15 08:00"}},
		{"monthly 3", vcb.RetentionPolicy{Monthly: 3}, []string{"2026-12-02 23:00", "2026-11-30 08:00", "2026-10-31 08:00"}},
		{"yearly 5", vcb.RetentionPolicy{Yearly: 5}, []string{"2026-12-02 23:00", "2025-06-01 08:00"}},
		// Within is measured from the newest backup, not from now.
		{"within 36h", vcb.RetentionPolicy{Within: 36 * time.Hour}, times[:4]},
		{"union", vcb.RetentionPolicy{Last: 1, Monthly: 2}, []string{"2026-12-02 23:00", "2026-11-30 08:00"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, kept(t, tt.p, times...))
		})
	}
	assert.Equal(t, "keep all", vcb.RetentionPolicy{}.String())
	assert.Equal(t, "keep-last 3, keep-daily 7, keep-within 24h0m0s", vcb.RetentionPolicy{Last: 3, Daily: 7, Within: 24 * time.Hour}.String())
}

// TestForget removes what the policy does not keep, only for the VM
// asked about, and leaves no partial directories behind.
func TestForget(t *testing.T) {
	parent := t.TempDir()
	vm := vcb.VMInfo{Name: "vm1", MoRef: "vm-1", InstanceUUID: "u-1"}
	other := vcb.VMInfo{Name: "vm2", MoRef: "vm-2", InstanceUUID: "u-2"}
	write := func(name string, info vcb.VMInfo, created string) {
		dir := filepath.Join(parent, name)
		require.NoError(t, os.Mkdir(dir, 0o755))
		m := &vcb.Manifest{Version: vcb.ManifestVersion, VM: info, Created: mustTime(t, created)}
		b, err := json.Marshal(m)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, vcb.ManifestFile), b, 0o644))
	}
	write("a", vm, "2026-12-02 10:00")
	write("b", vm, "2026-12-02 09:00")
	write("c", vm, "2026-12-01 10:00")
	write("d", vm, "2026-11-20 10:00")
	write("x", other, "2026-01-01 10:00")
	removed, err := vcb.Forget(context.Background(), parent, vm, vcb.RetentionPolicy{Daily: 2, Location: time.UTC})
	require.NoError(t, err)
	assert.Equal(t, []string{filepath.Join(parent, "b"), filepath.Join(parent, "d")}, removed)
	ents, err := os.ReadDir(parent)
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{"a", "c", "x"}, names)
	// An empty policy never deletes.
	removed, err = vcb.Forget(context.Background(), parent, vm, vcb.RetentionPolicy{})
	require.NoError(t, err)
	assert.Empty(t, removed)
}
