package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/bulletproof-labs/wsvcb/sysctl"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPersistConcurrentThroughLink runs twelve "sysctl --persist" processes
// at once on one drop-in that is a symlink (as Debian's 99-sysctl.conf):
// every key is kept, the link stays a link, the user's comment, mode and
// owner survive.
func TestPersistConcurrentThroughLink(t *testing.T) {
	bin := buildCLI(t)
	root := t.TempDir()
	for i := range 12 {
		p := filepath.Join(root, fmt.Sprintf("net/ipv4/conf/if%d/rp_filter", i))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte("0\n"), 0o644))
	}
	etc := t.TempDir()
	target := filepath.Join(etc, "sysctl.conf")
	require.NoError(t, os.WriteFile(target, []byte("# mine\n; keep me\n"), 0o600))
	link := filepath.Join(etc, "99-sysctl.conf")
	require.NoError(t, os.Symlink("sysctl.conf", link))

	var wg sync.WaitGroup
	outs := make([][]byte, 12)
	errs := make([]error, 12)
	for i := range 12 {
		wg.Go(func() {
			outs[i], errs[i] = exec.Command(bin, "--root", root, "--persist", link, "-w",
				fmt.Sprintf("net.ipv4.conf.if%d.rp_filter=2", i)).CombinedOutput()
		})
	}
	wg.Wait()
	for i := range 12 {
		require.NoError(t, errs[i], "%s", outs[i])
	}
	st, err := os.Lstat(link)
	require.NoError(t, err)
	assert.NotZero(t, st.Mode()&os.ModeSymlink, "--persist replaced the symlink")
	st, err = os.Stat(target)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	got, err := sysctl.ParseConfFile(target)
	require.NoError(t, err)
	assert.Len(t, got, 12)
	b, err := os.ReadFile(target)
	require.NoError(t, err)
	assert.Contains(t, string(b), "# mine\n; keep me\n")
}
