package vcb

import (
	"time"

	"github.com/vmware/govmomi/nfc"
	"github.com/vmware/govmomi/vim25/types"
)

// SetLeaseHook installs a hook seeing every export lease once ready.
func SetLeaseHook(f func(ref types.ManagedObjectReference, info *nfc.LeaseInfo)) (restore func()) {
	old := testHookLease
	testHookLease = f
	return func() { testHookLease = old }
}

// FastRetries makes snapshot removal retries immediate for tests.
func FastRetries() (restore func()) {
	old := snapshotRemoveBackoff
	snapshotRemoveBackoff = time.Millisecond
	return func() { snapshotRemoveBackoff = old }
}
