package netnsrun

import (
	"errors"
	"testing"

	"github.com/bulletproof-labs/wsvcb/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestDoReturnsErrorAndPanic(t *testing.T) {
	want := errors.New("boom")
	assert.ErrorIs(t, Do(func() error { return want }), want)
	var pe *PanicError
	require.ErrorAs(t, Do(func() error { panic("oops") }), &pe)
	assert.Equal(t, "oops", pe.Value)
}

func netnsInode(t *testing.T) uint64 {
	var st unix.Stat_t
	require.NoError(t, unix.Stat("/proc/thread-self/ns/net", &st))
	return st.Ino
}

// A worker runs in the namespace it was given, keeps it across calls, and
// the caller's own thread never changes namespace.
func TestWorkerJoinsNamespace(t *testing.T) {
	testenv.RequireRoot(t)
	var nsfd int
	var newIno uint64
	require.NoError(t, Do(func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return err
		}
		var err error
		nsfd, err = unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		newIno = netnsInode(t)
		return err
	}))
	w, err := Start(nsfd)
	require.NoError(t, err)
	for range 3 {
		var got uint64
		require.NoError(t, w.Run(func() { got = netnsInode(t) }))
		assert.Equal(t, newIno, got)
	}
	var pe *PanicError
	require.ErrorAs(t, w.Run(func() { panic(1) }), &pe)
	require.NoError(t, w.Close())
	require.NoError(t, w.Close())
	assert.ErrorIs(t, w.Run(func() {}), ErrClosed)
	assert.NotEqual(t, newIno, netnsInode(t))
}

func TestStartBadFD(t *testing.T) {
	fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	require.NoError(t, err)
	_, err = Start(fd)
	assert.Error(t, err) // EINVAL: not a namespace file
}
