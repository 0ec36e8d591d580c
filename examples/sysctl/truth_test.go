package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nsState splits runIn's state into tcp_sack and tcp_dsack.
func nsState(t *testing.T, r result) (sack, dsack string) {
	t.Helper()
	f := strings.Fields(r.state)
	require.GreaterOrEqual(t, len(f), 2, "state %q", r.state)
	return f[0], f[1]
}

func writeConf(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "90-test.conf")
	require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	return p
}

// TestReadOnlyKeyFails: net.core.rmem_max is global, read-only inside a
// network namespace. procps-ng 4.0.2 says "Invalid argument" and exits 0;
// we say permission denied, why, and exit 1, writing nothing else.
func TestReadOnlyKeyFails(t *testing.T) {
	ns := newNetNS(t)
	bin := buildCLI(t)
	procps := "/usr/sbin/sysctl"
	hostRmem, err := os.ReadFile("/proc/sys/net/core/rmem_max")
	require.NoError(t, err)

	r := runIn(t, ns, nil, bin, "-w", "net.core.rmem_max=1048576")
	assert.Equal(t, 1, r.rc)
	assert.Equal(t, readOnlyMsg, r.stderr)
	assert.Empty(t, r.stdout)
	if _, err := os.Stat(procps); err == nil {
		p := runIn(t, ns, nil, procps, "-w", "net.core.rmem_max=1048576")
		assert.Equal(t, 0, p.rc, "procps-ng 4.0.2 exits 0 here (the bug we do not copy)")
		assert.Equal(t, readOnlyProcps, p.stderr)
	}

	conf := writeConf(t, "net.ipv4.tcp_sack = 0\nnet.core.rmem_max = 1048576\nnet.ipv4.tcp_dsack = 0\n")
	r = runIn(t, ns, nil, bin, "-p", conf)
	assert.Equal(t, 1, r.rc)
	assert.Contains(t, r.stderr, readOnlyMsg)
	assert.Contains(t, r.stderr, "nothing written")
	assert.Empty(t, r.stdout)
	sack, dsack := nsState(t, r)
	assert.Equal(t, "1", sack, "rollback on: nothing half-applied")
	assert.Equal(t, "1", dsack)

	// Rollback off: procps' best effort, but the exit status tells the truth.
	r = runIn(t, ns, []string{"SYSCTL_ROLLBACK_ON_ERROR=false"}, bin, "-p", conf)
	assert.Equal(t, 1, r.rc)
	assert.Equal(t, readOnlyMsg, r.stderr)
	assert.Equal(t, "net.ipv4.tcp_sack = 0\nnet.ipv4.tcp_dsack = 0\n", r.stdout)
	sack, dsack = nsState(t, r)
	assert.Equal(t, "0", sack)
	assert.Equal(t, "0", dsack)

	now, err := os.ReadFile("/proc/sys/net/core/rmem_max")
	require.NoError(t, err)
	assert.Equal(t, string(hostRmem), string(now), "host net.core.rmem_max changed")
}

// TestIgnoredLines: sysctl.d(5) "-key = value" lines whose assignment
// fails (missing key, read-only key) are ignored: a notice, no rollback,
// the rest applies, exit 0. procps-ng 4.0.2 exits 1 for the missing key.
func TestIgnoredLines(t *testing.T) {
	ns := newNetNS(t)
	bin := buildCLI(t)
	for _, tc := range []struct {
		name, line, notice string
		procpsRC           int
	}{
		{"missing", "-net.ipv4.no_such_key = 1",
			"sysctl: cannot stat /proc/sys/net/ipv4/no_such_key: No such file or directory, ignoring\n", 1},
		{"read-only", "-net.core.rmem_max = 1048576",
			strings.TrimSuffix(readOnlyMsg, "\n") + ", ignoring\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := writeConf(t, "net.ipv4.tcp_sack = 0\n"+tc.line+"\nnet.ipv4.tcp_dsack = 0\n")
			for _, env := range [][]string{nil, {"SYSCTL_ROLLBACK_ON_ERROR=true"}, {"SYSCTL_ROLLBACK_ON_ERROR=false"}} {
				r := runIn(t, ns, env, bin, "-p", conf)
				assert.Equal(t, 0, r.rc, "%v", env)
				assert.Equal(t, tc.notice, r.stderr, "%v", env)
				assert.Equal(t, "net.ipv4.tcp_sack = 0\nnet.ipv4.tcp_dsack = 0\n", r.stdout, "%v", env)
				sack, dsack := nsState(t, r)
				assert.Equal(t, "0", sack, "%v", env)
				assert.Equal(t, "0", dsack, "%v", env)
			}
			if _, err := os.Stat("/usr/sbin/sysctl"); err == nil {
				p := runIn(t, ns, nil, "/usr/sbin/sysctl", "-p", conf)
				assert.Equal(t, tc.procpsRC, p.rc, "procps-ng 4.0.2")
				assert.Equal(t, "net.ipv4.tcp_sack = 0\nnet.ipv4.tcp_dsack = 0\n", p.stdout)
			}
			// A "-" line does not excuse a failure of another line.
			conf = writeConf(t, "net.ipv4.tcp_sack = 0\n"+tc.line+"\nnet.ipv4.nope2 = 1\nnet.ipv4.tcp_dsack = 0\n")
			r := runIn(t, ns, nil, bin, "-p", conf)
			assert.Equal(t, 1, r.rc)
			sack, _ := nsState(t, r)
			assert.Equal(t, "1", sack, "rolled back")
		})
	}
}
