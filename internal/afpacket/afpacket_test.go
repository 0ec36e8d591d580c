//go:build linux

package afpacket

import (
	"errors"
	"testing"

	"github.com/bulletproof-labs/wsvcb/internal/netnsrun"
	"github.com/bulletproof-labs/wsvcb/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

func TestHtons(t *testing.T) {
	assert.Equal(t, uint16(0x0300), Htons(unix.ETH_P_ALL))
	assert.Equal(t, uint16(0x0008), Htons(unix.ETH_P_IP))
}

// Open, filter and bind on the loopback of a fresh namespace; a missing
// interface is a typed error naming the step.
func TestOpenLoopbackInFreshNamespace(t *testing.T) {
	testenv.RequireRoot(t)
	require.NoError(t, netnsrun.Do(func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return err
		}
		_, err := Open("nosuch0")
		var ae *Error
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, "SIOCGIFINDEX", ae.Op)
		assert.True(t, errors.Is(err, unix.ENODEV))

		s, err := Open("lo")
		require.NoError(t, err)
		defer s.Close()
		assert.Equal(t, uint16(ARPHRDLoopback), s.HWType)
		assert.Positive(t, s.Index)
		require.NoError(t, s.AttachFilter([]bpf.RawInstruction{{Op: 0x06, K: 0xffff}})) // ret #65535
		err = s.AttachFilter(nil)
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, "SO_ATTACH_FILTER", ae.Op)
		require.NoError(t, s.Bind(true))
		return nil
	}))
}
