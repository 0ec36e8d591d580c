package sysctl

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKernelIgnoreErrors: IgnoreErrors settings (sysctl.d "-key" lines)
// that fail, for a missing key or a read-only one, are reported in
// Change.Err but neither fail nor roll back the Apply.
func TestKernelIgnoreErrors(t *testing.T) {
	ns := newNetNS(t)
	fs := openNS(t, ns)
	ctx := context.Background()
	sack, dsack := nsCat(t, ns, "net.ipv4.tcp_sack"), nsCat(t, ns, "net.ipv4.tcp_dsack")
	require.Equal(t, "1", sack)
	require.Equal(t, "1", dsack)
	tx, err := fs.Apply(ctx, []Setting{
		{Key: "net.ipv4.tcp_sack", Value: "0"},
		{Key: "net.ipv4.no_such_key", Value: "1", IgnoreErrors: true},
		{Key: "net.core.rmem_max", Value: "1048576", IgnoreErrors: true},
		{Key: "net.ipv4.tcp_dsack", Value: "0"},
	})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, tx.Restore(ctx)) })
	ch := tx.Changes()
	require.Len(t, ch, 4)
	assert.ErrorIs(t, ch[1].Err, ErrNotExist)
	assert.True(t, ch[1].Ignored())
	assert.ErrorIs(t, ch[2].Err, ErrPermission)
	assert.True(t, ch[2].Ignored())
	assert.Equal(t, "0", nsCat(t, ns, "net.ipv4.tcp_sack"))
	assert.Equal(t, "0", nsCat(t, ns, "net.ipv4.tcp_dsack"))

	// Without IgnoreErrors the read-only key fails the whole Apply.
	_, err = fs.Apply(ctx, []Setting{
		{Key: "net.ipv4.tcp_sack", Value: "1"},
		{Key: "net.core.rmem_max", Value: "1048576"},
	})
	require.ErrorIs(t, err, ErrPermission)
	assert.Equal(t, "0", nsCat(t, ns, "net.ipv4.tcp_sack"), "rolled back")
}
