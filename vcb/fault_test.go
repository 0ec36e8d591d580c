package vcb_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/bulletproof-labs/wsvcb/vcb"
	"github.com/bulletproof-labs/wsvcb/vcb/vcbtest"
	"github.com/vmware/govmomi/nfc"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// faultEnv is a simulator with one powered-on VM holding 4 MiB of real
// data, and a recorder of the export leases the backups open.
type faultEnv struct {
	*env
	vm     vcb.VMInfo
	mu     sync.Mutex
	leases []leaseSeen
}

type leaseSeen struct {
	ref  types.ManagedObjectReference
	urls []string
}

func newFaultEnv(t *testing.T, wrap func(http.RoundTripper) http.RoundTripper) *faultEnv {
	t.Helper()
	sim, err := vcbtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	cfg := vcb.Config{URL: sim.URL.String(), Username: sim.Username, Password: sim.Password, Thumbprint: sim.Thumbprint, WrapTransport: wrap}
	ctx := context.Background()
	c, err := vcb.Dial(ctx, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	fe := &faultEnv{env: &env{sim: sim, c: c, cfg: cfg}}
	if _, err := vcbtest.CreateVM(ctx, c.Vim(), vcbtest.VMSpec{Name: "app01", DiskSizes: []int64{3 << 20}, Seed: 3, PowerOn: true}); err != nil {
		t.Fatal(err)
	}
	if fe.vm, err = c.Find(ctx, mustSel(t, "name:app01")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(vcb.SetLeaseHook(func(ref types.ManagedObjectReference, info *nfc.LeaseInfo) {
		fe.mu.Lock()
		defer fe.mu.Unlock()
		var urls []string
		for _, d := range info.DeviceUrl {
			urls = append(urls, d.Url)
		}
		fe.leases = append(fe.leases, leaseSeen{ref, urls})
	}))
	t.Cleanup(vcb.FastRetries())
	return fe
}

func (fe *faultEnv) addFault(method string, max int) {
	fe.sim.Service().AddFaultRule(&simulator.FaultInjectionRule{
		MethodName:  method,
		ObjectType:  "*",
		ObjectName:  "*",
		Probability: 1,
		FaultType:   simulator.FaultTypeInvalidState,
		Message:     "injected fault on " + method,
		MaxCount:    max,
		Enabled:     true,
	})
}

// assertClean checks the invariants after a failed backup: no snapshot on
// the VM, every lease gone (closed on the server, its URLs dead), nothing
// in the destination's parent that looks like a backup.
func (fe *faultEnv) assertClean(t *testing.T, dir string) {
	t.Helper()
	fe.sim.Service().ClearFaultRules()
	assertNoSnapshots(t, fe.env, fe.vm.MoRef)
	t.Logf("%d lease(s) checked", len(fe.leases))
	ctx := context.Background()
	pc := property.DefaultCollector(fe.c.Vim())
	fe.mu.Lock()
	defer fe.mu.Unlock()
	for _, l := range fe.leases {
		var lease mo.HttpNfcLease
		if err := pc.RetrieveOne(ctx, l.ref, []string{"state"}, &lease); err == nil {
			t.Errorf("lease %s still exists, state %s", l.ref.Value, lease.State)
		}
		for _, u := range l.urls {
			u = strings.Replace(u, "*", fe.sim.URL.Host, 1)
			res, err := fe.sim.Server.Server.Client().Get(u)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusNotFound {
				t.Errorf("lease URL %s still serves: %s", u, res.Status)
			}
		}
	}
	ents, err := os.ReadDir(filepath.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("left behind in the destination: %s", e.Name())
	}
	if _, err := vcb.ReadManifest(dir); !errors.Is(err, vcb.ErrIncomplete) {
		t.Errorf("ReadManifest after failure: %v, want ErrIncomplete", err)
	}
}

func destDir(t *testing.T) string { return filepath.Join(t.TempDir(), "backups", "app01") }

func TestFaultSnapshotCreate(t *testing.T) {
	fe := newFaultEnv(t, nil)
	fe.addFault("CreateSnapshot_Task", 0)
	dir := destDir(t)
	thawed := false
	_, err := fe.c.Backup(context.Background(), fe.vm, dir, &vcb.BackupOptions{
		PostThaw: func(context.Context, vcb.VMInfo) error { thawed = true; return nil },
	})
	if !errors.Is(err, vcb.ErrSnapshot) {
		t.Fatalf("err = %v, want ErrSnapshot", err)
	}
	if !strings.Contains(err.Error(), "injected fault") {
		t.Errorf("error does not carry the fault: %v", err)
	}
	if !thawed {
		t.Error("post-thaw hook not run after a failed snapshot")
	}
	fe.assertClean(t, dir)
}

func TestFaultSnapshotRemoveTransient(t *testing.T) {
	fe := newFaultEnv(t, nil)
	fe.addFault("RemoveSnapshot_Task", 1)
	dir := destDir(t)
	if _, err := fe.c.Backup(context.Background(), fe.vm, dir, nil); err != nil {
		t.Fatalf("a transient removal fault should be retried: %v", err)
	}
	assertNoSnapshots(t, fe.env, fe.vm.MoRef)
	if _, err := vcb.Verify(dir); err != nil {
		t.Fatal(err)
	}
}

func TestFaultSnapshotRemovePersistent(t *testing.T) {
	fe := newFaultEnv(t, nil)
	fe.addFault("RemoveSnapshot_Task", 0)
	dir := destDir(t)
	_, err := fe.c.Backup(context.Background(), fe.vm, dir, &vcb.BackupOptions{SnapshotName: "vcb-test-snap"})
	if !errors.Is(err, vcb.ErrSnapshot) || !strings.Contains(err.Error(), "vcb-test-snap") {
		t.Fatalf("err = %v, want ErrSnapshot naming the snapshot", err)
	}
	// The server refused every removal: the error names the snapshot, and
	// once the server accepts, removing it by name works.
	fe.sim.Service().ClearFaultRules()
	removeByName(t, fe, "vcb-test-snap")
	fe.assertClean(t, dir)
}

func removeByName(t *testing.T, fe *faultEnv, name string) {
	t.Helper()
	ctx := context.Background()
	vm, err := fe.env.findObject(ctx, fe.vm.MoRef)
	if err != nil {
		t.Fatal(err)
	}
	task, err := vm.RemoveSnapshot(ctx, name, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestFaultLease(t *testing.T) {
	for _, method := range []string{"ExportSnapshot", "HttpNfcLeaseProgress", "HttpNfcLeaseComplete"} {
		t.Run(method, func(t *testing.T) {
			fe := newFaultEnv(t, nil)
			fe.addFault(method, 0)
			dir := destDir(t)
			_, err := fe.c.Backup(context.Background(), fe.vm, dir, nil)
			if !errors.Is(err, vcb.ErrLease) || !strings.Contains(err.Error(), "injected fault") {
				t.Fatalf("err = %v, want ErrLease with the fault", err)
			}
			fe.assertClean(t, dir)
		})
	}
}

// resetTransport fails NFC downloads with ECONNRESET after limit bytes.
type resetTransport struct {
	next  http.RoundTripper
	limit int64
	hits  atomic.Int32
}

func (rt *resetTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := rt.next.RoundTrip(req)
	if err != nil || !strings.HasPrefix(req.URL.Path, "/nfc/") || req.Method != http.MethodGet {
		return res, err
	}
	rt.hits.Add(1)
	res.Body = &resetBody{rc: res.Body, left: rt.limit}
	return res, nil
}

type resetBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *resetBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, &os.SyscallError{Syscall: "read", Err: syscall.ECONNRESET}
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *resetBody) Close() error { return b.rc.Close() }

func TestFaultConnectionReset(t *testing.T) {
	rt := &resetTransport{limit: 1 << 20}
	fe := newFaultEnv(t, func(next http.RoundTripper) http.RoundTripper { rt.next = next; return rt })
	dir := destDir(t)
	_, err := fe.c.Backup(context.Background(), fe.vm, dir, nil)
	if !errors.Is(err, vcb.ErrTransfer) || !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("err = %v, want ErrTransfer wrapping ECONNRESET", err)
	}
	t.Log(err)
	if rt.hits.Load() == 0 {
		t.Fatal("the reset transport saw no NFC download")
	}
	fe.assertClean(t, dir)
}

// cancelBody cancels the backup's context once limit bytes of a disk
// were read, so the cancellation hits the middle of the transfer.
type cancelTransport struct {
	next   http.RoundTripper
	limit  int64
	cancel context.CancelFunc
}

func (ct *cancelTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := ct.next.RoundTrip(req)
	if err != nil || !strings.HasPrefix(req.URL.Path, "/nfc/") {
		return res, err
	}
	res.Body = &cancelBody{rc: res.Body, left: ct.limit, cancel: ct.cancel}
	return res, nil
}

type cancelBody struct {
	rc     io.ReadCloser
	left   int64
	cancel context.CancelFunc
}

func (b *cancelBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left <= 0 {
		b.cancel()
	}
	return n, err
}

func (b *cancelBody) Close() error { return b.rc.Close() }

func TestFaultCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ct := &cancelTransport{limit: 1 << 20, cancel: cancel}
	fe := newFaultEnv(t, func(next http.RoundTripper) http.RoundTripper { ct.next = next; return ct })
	dir := destDir(t)
	_, err := fe.c.Backup(ctx, fe.vm, dir, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	t.Log(err)
	fe.assertClean(t, dir)
}

// fullFS fails writes with ENOSPC once more than limit bytes were written.
type fullFS struct {
	vcb.OSFS
	limit   int64
	written atomic.Int64
}

func (f *fullFS) Create(name string) (vcb.WriteFile, error) {
	w, err := f.OSFS.Create(name)
	if err != nil {
		return nil, err
	}
	return &fullFile{WriteFile: w, fs: f}, nil
}

type fullFile struct {
	vcb.WriteFile
	fs *fullFS
}

func (f *fullFile) Write(p []byte) (int, error) {
	if f.fs.written.Add(int64(len(p))) > f.fs.limit {
		return 0, &os.PathError{Op: "write", Path: "backup", Err: syscall.ENOSPC}
	}
	return f.WriteFile.Write(p)
}

func TestFaultDiskFull(t *testing.T) {
	fe := newFaultEnv(t, nil)
	dir := destDir(t)
	_, err := fe.c.Backup(context.Background(), fe.vm, dir, &vcb.BackupOptions{FS: &fullFS{limit: 1 << 20}})
	if !errors.Is(err, vcb.ErrWrite) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("err = %v, want ErrWrite wrapping ENOSPC", err)
	}
	fe.assertClean(t, dir)
}

// syncFailFS fails the fsync of files whose name ends in suffix with EIO
// (a dying disk, an NFS server gone), and counts open files.
type syncFailFS struct {
	vcb.OSFS
	suffix string
	open   atomic.Int64
}

func (f *syncFailFS) Create(name string) (vcb.WriteFile, error) {
	w, err := f.OSFS.Create(name)
	if err != nil {
		return nil, err
	}
	f.open.Add(1)
	return &syncFailFile{WriteFile: w, fs: f, fail: strings.HasSuffix(name, f.suffix)}, nil
}

type syncFailFile struct {
	vcb.WriteFile
	fs   *syncFailFS
	fail bool
}

func (f *syncFailFile) Sync() error {
	if f.fail {
		return &os.PathError{Op: "fsync", Path: "backup", Err: syscall.EIO}
	}
	return f.WriteFile.Sync()
}

func (f *syncFailFile) Close() error {
	f.fs.open.Add(-1)
	return f.WriteFile.Close()
}

// Files are flushed together at the end, before the directory is renamed
// into place: a failed flush of any of them (here the disk, then the
// manifest) still fails the backup, leaves nothing that looks complete
// and leaks no open file.
func TestFaultSyncFails(t *testing.T) {
	fe := newFaultEnv(t, nil)
	for _, suffix := range []string{".vmdk", vcb.ManifestFile} {
		dir := destDir(t)
		fs := &syncFailFS{suffix: suffix}
		_, err := fe.c.Backup(context.Background(), fe.vm, dir, &vcb.BackupOptions{FS: fs})
		if !errors.Is(err, vcb.ErrWrite) || !errors.Is(err, syscall.EIO) {
			t.Fatalf("%s: err = %v, want ErrWrite wrapping EIO", suffix, err)
		}
		fe.assertClean(t, dir)
		if n := fs.open.Load(); n != 0 {
			t.Errorf("%s: %d files left open", suffix, n)
		}
	}
}

func TestFaultHookFails(t *testing.T) {
	fe := newFaultEnv(t, nil)
	dir := destDir(t)
	_, err := fe.c.Backup(context.Background(), fe.vm, dir, &vcb.BackupOptions{
		PreFreeze: func(context.Context, vcb.VMInfo) error { return fmt.Errorf("app refused to freeze") },
	})
	if !errors.Is(err, vcb.ErrHook) {
		t.Fatalf("err = %v, want ErrHook", err)
	}
	fe.assertClean(t, dir)
}
