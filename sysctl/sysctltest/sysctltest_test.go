package sysctltest_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulletproof-labs/wsvcb/sysctl"
	"github.com/bulletproof-labs/wsvcb/sysctl/sysctltest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewReadsLikeTheKernelTree(t *testing.T) {
	fs := sysctltest.New(t, sysctltest.With(sysctltest.Host, map[string]string{"net.ipv4.conf.eth0/100.rp_filter": "2"}))
	rmem, err := fs.ReadInts("net.ipv4.tcp_rmem")
	require.NoError(t, err)
	assert.Equal(t, []int64{4096, 131072, 6291456}, rmem)
	v, err := fs.Read("net.ipv4.conf.eth0/100.rp_filter")
	require.NoError(t, err)
	assert.Equal(t, "2", v)
	_, err = os.Stat(filepath.Join(fs.Root(), "net/ipv4/conf/eth0.100/rp_filter"))
	assert.NoError(t, err, "a / inside a component is a . on disk, as in /proc/sys")

	_, err = fs.Apply(context.Background(), []sysctl.Setting{{Key: "net.ipv4.tcp_window_scaling", Value: "0"}})
	require.NoError(t, err)
	got, err := sysctltest.Value(fs, "net.ipv4.tcp_window_scaling")
	require.NoError(t, err)
	assert.Equal(t, "0", got)
}

func TestWriteRefusesEscapingKeys(t *testing.T) {
	err := sysctltest.Write(t.TempDir(), map[string]string{"net/../../etc/passwd": "x"})
	assert.ErrorIs(t, err, sysctl.ErrBadKey)
}

// The fake tree has the real kernel's layout and value format: every key of
// Host exists at the same path in this machine's /proc/sys (read only), and
// the vectors are tab-separated there too.
func TestHostMatchesRealProcSys(t *testing.T) {
	if _, err := os.Stat("/proc/sys/net/ipv4/tcp_rmem"); err != nil {
		t.Skip("no Linux /proc/sys here")
	}
	fake := sysctltest.New(t, sysctltest.Host)
	for key := range sysctltest.Host {
		k, err := sysctl.ParseKey(key)
		require.NoError(t, err)
		b, err := os.ReadFile(filepath.Join("/proc/sys", k.Path()))
		require.NoError(t, err, key)
		real := strings.TrimSuffix(string(b), "\n")
		fv, err := fake.Read(key)
		require.NoError(t, err)
		assert.Equal(t, len(strings.Split(real, "\t")), len(strings.Split(fv, "\t")), "%s: real %q, fake %q", key, real, fv)
	}
}

func Example() {
	root, err := os.MkdirTemp("", "procsys")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(root)
	if err := sysctltest.Write(root, sysctltest.Host); err != nil {
		panic(err)
	}
	fs, err := sysctl.NewFS(root) // sysctl.NewFS("") is the real /proc/sys
	if err != nil {
		panic(err)
	}
	tx, err := fs.Apply(context.Background(), []sysctl.Setting{{Key: "net.ipv4.tcp_rmem", Value: "4096 87380 174760"}})
	if err != nil {
		panic(err)
	}
	v, _ := fs.ReadInts("net.ipv4.tcp_rmem")
	fmt.Println(v)
	if err := tx.Restore(context.Background()); err != nil {
		panic(err)
	}
	v, _ = fs.ReadInts("net.ipv4.tcp_rmem")
	fmt.Println(v)
	// Output:
	// [4096 87380 174760]
	// [4096 131072 6291456]
}
