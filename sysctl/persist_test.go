package sysctl

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUpdateDropInKeepsEverything: a symlinked drop-in (Debian's
// 99-sysctl.conf -> ../sysctl.conf) has its target edited in place, with
// comments, order, unknown lines, mode and owner kept.
func TestUpdateDropInKeepsEverything(t *testing.T) {
	root := t.TempDir()
	d := filepath.Join(root, "sysctl.d")
	require.NoError(t, os.Mkdir(d, 0o755))
	target := filepath.Join(root, "sysctl.conf")
	orig := "# user's settings\n; semicolon comment\nnet.ipv4.tcp_sack = 0\n-net.ipv4.tcp_dsack=1\n\nkernel.hostname = box\n-net.ipv4.conf.lo.rp_filter\nvm.swappiness = 10"
	require.NoError(t, os.WriteFile(target, []byte(orig), 0o600))
	if os.Geteuid() == 0 {
		require.NoError(t, os.Chown(target, 65534, 65534))
	}
	link := filepath.Join(d, "99-sysctl.conf")
	require.NoError(t, os.Symlink("../sysctl.conf", link))

	err := UpdateDropIn(link, "hdr", []Setting{
		{Key: "net/ipv4/tcp_dsack", Value: "0"},
		{Key: "net.ipv4.tcp_rmem", Value: "4096  87380 4194304"},
	})
	require.NoError(t, err)

	st, err := os.Lstat(link)
	require.NoError(t, err)
	assert.NotZero(t, st.Mode()&os.ModeSymlink, "the link was replaced")
	got, err := os.ReadFile(target)
	require.NoError(t, err)
	assert.Equal(t, "# user's settings\n; semicolon comment\nnet.ipv4.tcp_sack = 0\n-net.ipv4.tcp_dsack = 0\n\nkernel.hostname = box\n-net.ipv4.conf.lo.rp_filter\nvm.swappiness = 10\nnet.ipv4.tcp_rmem = 4096 87380 4194304\n", string(got))
	st, err = os.Stat(target)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	if os.Geteuid() == 0 {
		assert.Equal(t, uint32(65534), st.Sys().(*syscall.Stat_t).Uid)
		assert.Equal(t, uint32(65534), st.Sys().(*syscall.Stat_t).Gid)
	}
	ents, err := os.ReadDir(root)
	require.NoError(t, err)
	assert.Len(t, ents, 2, "no temporary file left behind")

	// A new file gets the header and 0644.
	nf := filepath.Join(d, "90-new.conf")
	require.NoError(t, UpdateDropIn(nf, "hdr", []Setting{{Key: "net.ipv4.tcp_sack", Value: "1"}}))
	got, err = os.ReadFile(nf)
	require.NoError(t, err)
	assert.Equal(t, "# hdr\nnet.ipv4.tcp_sack = 1\n", string(got))
}

// TestUpdateDropInConcurrent: twelve concurrent updates of one file keep
// all twelve keys (flock around read-modify-rename).
func TestUpdateDropInConcurrent(t *testing.T) {
	p := filepath.Join(t.TempDir(), "90-x.conf")
	var wg sync.WaitGroup
	errs := make([]error, 12)
	for i := range 12 {
		wg.Go(func() {
			errs[i] = UpdateDropIn(p, "", []Setting{{Key: fmt.Sprintf("net.ipv4.conf.if%d.rp_filter", i), Value: "2"}})
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	got, err := ParseConfFile(p)
	require.NoError(t, err)
	assert.Len(t, got, 12)
}

// FuzzUpdateDropIn: whatever the existing file holds, the update succeeds
// or fails cleanly, the new key is set, and a file without that key keeps
// all its bytes as a prefix.
func FuzzUpdateDropIn(f *testing.F) {
	f.Add("# c\nnet.ipv4.tcp_sack = 0\n-net.ipv4.tcp_dsack=1\n; x\nbad line\n")
	f.Add("net.ipv4.tcp_rmem = 1 2 3")
	f.Add("\x00\r\n-\n=\n")
	f.Fuzz(func(t *testing.T, content string) {
		p := filepath.Join(t.TempDir(), "x.conf")
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		require.NoError(t, UpdateDropIn(p, "", []Setting{{Key: "net.ipv4.tcp_window_scaling", Value: "1"}}))
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		got, _ := ParseConf(strings.NewReader(string(b)), p)
		found := false
		for _, s := range got {
			if s.Key == "net.ipv4.tcp_window_scaling" && s.Value == "1" {
				found = true
			}
		}
		assert.True(t, found, "%q", b)
		if !strings.Contains(content, "tcp_window_scaling") {
			assert.True(t, strings.HasPrefix(string(b), content), "%q -> %q", content, b)
		}
	})
}
