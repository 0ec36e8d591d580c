package vcb_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bulletproof-labs/wsvcb/vcb"
	"github.com/bulletproof-labs/wsvcb/vcb/vcbtest"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/vim25/mo"
)

// vanisher removes a local directory just before the first
// DeleteDatastoreFile_Task request it forwards, once armed: the directory
// the request names disappears between the caller's look and its delete.
type vanisher struct {
	next  http.RoundTripper
	dir   atomic.Pointer[string]
	fired atomic.Bool
}

func (v *vanisher) RoundTrip(req *http.Request) (*http.Response, error) {
	if d := v.dir.Load(); d != nil && req.Method == http.MethodPost && req.Body != nil && strings.HasSuffix(req.URL.Path, "/sdk") {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		_ = req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(b))
		if bytes.Contains(b, []byte("DeleteDatastoreFile_Task")) && v.fired.CompareAndSwap(false, true) {
			if err := os.RemoveAll(*d); err != nil {
				return nil, err
			}
		}
	}
	return v.next.RoundTrip(req)
}

// TestRestoreOverwriteDirVanishes: the old VM directory that an overwriting
// restore deletes is already gone when the delete runs (as when vcsim's
// Destroy removes a replaced VM's files in a task that finishes after the
// restore looked; seen in CI as TestRestoreInPlace failing with
// "removing old directory: *types.FileNotFound" under load). Gone is what
// the restore wanted: it must go on and restore the VM.
func TestRestoreOverwriteDirVanishes(t *testing.T) {
	v := &vanisher{}
	fe := newFaultEnv(t, func(next http.RoundTripper) http.RoundTripper { v.next = next; return v })
	ctx := context.Background()
	vm, dir := backupOne(t, fe.env, "vanish", []int64{1 << 20}, 21, nil)

	// Unregister the VM: its files stay on the datastore, so the restore
	// sees vanish/vanish.vmx and, with Overwrite, deletes the directory.
	obj, _ := fe.findObject(ctx, vm.MoRef)
	task, err := obj.PowerOff(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := obj.Unregister(ctx); err != nil {
		t.Fatal(err)
	}
	f := find.NewFinder(fe.c.Vim(), false)
	f.SetDatacenter(fe.c.Datacenter())
	ds, err := f.Datastore(ctx, "LocalDS_0")
	if err != nil {
		t.Fatal(err)
	}
	var dsMo mo.Datastore
	if err := ds.Properties(ctx, ds.Reference(), []string{"info"}, &dsMo); err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(dsMo.Info.GetDatastoreInfo().Url, "vanish")
	if _, err := os.Stat(filepath.Join(local, "vanish.vmx")); err != nil {
		t.Fatalf("the unregistered VM's files are not where expected: %v", err)
	}
	v.dir.Store(&local)

	res, err := fe.c.Restore(ctx, dir, &vcb.RestoreOptions{Overwrite: true})
	if err != nil {
		t.Fatal(err)
	}
	if !v.fired.Load() {
		t.Fatal("the restore deleted no directory: the test did not exercise the race")
	}
	if res.VM.Name != "vanish" {
		t.Fatalf("restored %+v", res.VM)
	}
	if got := datastoreSum(t, fe.env, vcbtest.DiskPath("vanish", 0)); got != sum(vcbtest.DiskContent(21, 1<<20)) {
		t.Fatalf("restored disk differs")
	}
}
