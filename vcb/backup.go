package vcb

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/url"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bulletproof-labs/wsvcb/vcb/vmdk"
	"github.com/klauspost/compress/zstd"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/nfc"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// CompressionZstd is the value of BackupOptions.Compression for zstd.
const CompressionZstd = "zstd"

// BackupOptions tune Backup. A nil *BackupOptions means the defaults: a
// quiesced snapshot without memory, no compression, no rotation.
type BackupOptions struct {
	NoQuiesce   bool   // do not quiesce the guest file systems
	Memory      bool   // include the VM's memory in the snapshot
	Compression string // "" or "zstd"
	// Keep, when > 0, removes older complete backups of the same VM in the
	// parent directory of dir so that only the newest Keep remain.
	Keep int
	// Retention, when set, removes the older complete backups of the same
	// VM in the parent directory of dir that the policy does not keep
	// (with Keep, the policy's Last is at least Keep).
	Retention    *RetentionPolicy
	PreFreeze    Hook
	PostThaw     Hook
	Progress     ProgressFunc
	SnapshotName string // default "vcb-<unix time>"
	// LeaseUpdateInterval is how often the NFC lease's progress is
	// reported to the server (which aborts idle leases); default 10s.
	LeaseUpdateInterval time.Duration
	FS                  FS // default OSFS
	// RemoveStaleSnapshots also removes vcb snapshots whose backup cannot
	// be shown dead: taken on another host or by an older version. A
	// backup always removes those that earlier backups on this host left
	// (their lock is free), and never one whose backup still runs.
	RemoveStaleSnapshots bool
	// OnStaleSnapshot, when set, is told of each leftover vcb snapshot
	// found (removed or not).
	OnStaleSnapshot func(StaleSnapshot)
}

func (o *BackupOptions) withDefaults() BackupOptions {
	var v BackupOptions
	if o != nil {
		v = *o
	}
	if v.FS == nil {
		v.FS = OSFS{}
	}
	if v.LeaseUpdateInterval <= 0 {
		v.LeaseUpdateInterval = 10 * time.Second
	}
	if v.SnapshotName == "" {
		v.SnapshotName = "vcb-" + strconv.FormatInt(time.Now().Unix(), 10)
	}
	return v
}

// test hooks (nil outside tests)
var (
	testHookLease    func(ref types.ManagedObjectReference, info *nfc.LeaseInfo)
	testHookSnapshot func(ref types.ManagedObjectReference)
)

// snapshotRemoveAttempts and snapshotRemoveBackoff govern the retries of
// snapshot removal, which must not be left behind.
var (
	snapshotRemoveAttempts = 3
	snapshotRemoveBackoff  = time.Second
)

// Backup makes a full-VM backup of vm into dir, which must not exist:
// pre-freeze hook, snapshot (quiesced, without memory, by default),
// post-thaw hook, export of the snapshot's disks through an NFC lease,
// download of the .vmx and .nvram, then catalog and manifest. Everything
// is written into a temporary sibling directory that is renamed to dir
// only when complete. The snapshot is removed and the lease aborted on
// every failure, including cancellation of ctx.
//
// Only vm.MoRef is used to find the VM; pass the result of Find.
func (c *Client) Backup(ctx context.Context, vm VMInfo, dir string, opts *BackupOptions) (*Manifest, error) {
	o := opts.withDefaults()
	if o.Compression != "" && o.Compression != CompressionZstd {
		return nil, errf("backup", vm.MoRef, ErrConfig, "unknown compression %q", o.Compression)
	}
	b := &backup{c: c, o: o, dir: filepath.Clean(dir), m: &meter{op: "backup", fn: o.Progress}}
	b.m.report(true)
	man, err := b.run(ctx, vm)
	if err != nil {
		return nil, err
	}
	if err := o.retire(ctx, filepath.Dir(b.dir), man.VM); err != nil {
		return man, err
	}
	return man, nil
}

type backup struct {
	c   *Client
	o   BackupOptions
	dir string
	tmp string
	m   *meter
	vm  VMInfo
	obj *object.VirtualMachine
	// lock is the per-VM lock held for the whole backup.
	lock *fileLock

	files []File
	// unsynced holds the files written but not yet flushed: finish
	// flushes them all at once (concurrent fsyncs share journal commits
	// instead of paying one each) before the directory is renamed in.
	unsynced []unsyncedFile
	// flushes are flushes running in the background (a chunk store's
	// Sync) that must succeed before the backup is renamed into place.
	flushes []chan error
	// folder and pool are the VM's inventory paths, for the catalog.
	folder, pool string
	// disks, when set, replaces the NFC export of the snapshot's disks
	// (chunked and file-level backups).
	disks func(ctx context.Context, snap types.ManagedObjectReference, disks []Disk) error
}

func (b *backup) fail(kind error, err error) error {
	return newErr("backup", b.vm.MoRef, kind, err)
}

func (b *backup) run(ctx context.Context, sel VMInfo) (man *Manifest, err error) {
	c := b.c
	vms, err := c.List(ctx, Selector{Kind: SelectMoRef, Value: sel.MoRef})
	if err != nil {
		return nil, err
	}
	if len(vms) != 1 {
		return nil, errf("backup", sel.MoRef, ErrNotFound, "no VM with moref %q", sel.MoRef)
	}
	b.vm = vms[0]
	b.obj = object.NewVirtualMachine(c.vim, types.ManagedObjectReference{Type: "VirtualMachine", Value: b.vm.MoRef})

	// The destination must not exist; the work happens next to it.
	if _, err := lstat(b.dir); err == nil {
		return nil, errf("backup", b.vm.MoRef, ErrExists, "destination %s already exists", b.dir)
	}
	parent := filepath.Dir(b.dir)
	if err := b.o.FS.MkdirAll(parent); err != nil {
		return nil, b.fail(ErrWrite, err)
	}
	// One backup of a VM at a time: the lock guards the snapshots too.
	lock, err := lockFile(LockPath(parent, b.vm.MoRef), true)
	if err != nil {
		if errors.Is(err, ErrLocked) {
			return nil, b.fail(ErrLocked, err)
		}
		return nil, b.fail(ErrWrite, err)
	}
	b.lock = lock
	defer lock.unlock()
	if err := b.staleSnapshots(ctx); err != nil {
		return nil, err
	}
	b.removeStalePartials(parent)
	tmp, err := b.o.FS.MkdirTemp(parent, "."+filepath.Base(b.dir)+partialMarker(b.vm.MoRef))
	if err != nil {
		return nil, b.fail(ErrWrite, err)
	}
	b.tmp = tmp
	defer func() {
		if ferr := b.waitFlushes(); ferr != nil && err == nil {
			err = ferr
		}
		for _, u := range b.unsynced {
			_ = u.f.Close()
		}
		b.unsynced = nil
		if err != nil {
			if rerr := b.o.FS.RemoveAll(b.tmp); rerr != nil {
				err = errors.Join(err, b.fail(ErrWrite, fmt.Errorf("removing partial backup %s: %w", b.tmp, rerr)))
			}
		}
	}()

	// Freeze, snapshot, thaw.
	if b.o.PreFreeze != nil {
		b.m.setPhase("pre-freeze", "")
		if err := b.o.PreFreeze(ctx, b.vm); err != nil {
			return nil, b.fail(ErrHook, fmt.Errorf("pre-freeze: %w", err))
		}
	}
	b.m.setPhase("snapshot", "")
	snap, serr := b.createSnapshot(ctx)
	if b.o.PostThaw != nil {
		b.m.setPhase("post-thaw", "")
		if herr := b.o.PostThaw(context.WithoutCancel(ctx), b.vm); herr != nil && serr == nil {
			serr = b.fail(ErrHook, fmt.Errorf("post-thaw: %w", herr))
		}
	}
	if snap != nil {
		removed := false
		defer func() {
			if removed {
				return
			}
			if rerr := b.removeSnapshot(*snap); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}()
		man, err = b.withSnapshot(ctx, *snap, serr)
		if err != nil {
			return nil, err
		}
		// Remove it before declaring success, so that a failure to remove
		// it fails the backup.
		removed = true
		if rerr := b.removeSnapshot(*snap); rerr != nil {
			return nil, rerr
		}
	} else {
		return nil, serr
	}
	if err := b.finish(); err != nil {
		return nil, err
	}
	b.m.setPhase("done", "")
	return man, nil
}

func (b *backup) withSnapshot(ctx context.Context, snap types.ManagedObjectReference, serr error) (*Manifest, error) {
	if serr != nil {
		return nil, serr
	}
	var sm mo.VirtualMachineSnapshot
	if err := b.c.retrieve(ctx, []types.ManagedObjectReference{snap}, []string{"config"}, &sm); err != nil {
		return nil, b.fail(ErrSnapshot, fmt.Errorf("reading snapshot configuration: %w", err))
	}
	disks := disksOf(sm.Config.Hardware.Device)
	for _, d := range disks {
		b.m.total.Add(d.CapacityBytes)
	}
	export := b.export
	if b.disks != nil {
		export = b.disks
	}
	// The .vmx and .nvram downloads and the inventory lookups for the
	// catalog do not depend on the disks: they run during the transfer
	// (for an incremental backup their round trips are a good part of
	// the time).
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type prefetched struct {
		files []configFile
		err   error
	}
	// The finder is not safe for concurrent use: resolve here.
	ds, cfgFiles, err := b.configFiles(ctx, &sm.Config)
	if err != nil {
		return nil, err
	}
	cfgc := make(chan prefetched, 1)
	go func() {
		fs, err := b.downloadConfigFiles(pctx, ds, cfgFiles)
		cfgc <- prefetched{fs, err}
	}()
	placec := make(chan [2]string, 1)
	go func() {
		folder, pool := b.placement(pctx)
		placec <- [2]string{folder, pool}
	}()
	err = export(ctx, snap, disks)
	if err != nil {
		cancel()
	}
	cfg, place := <-cfgc, <-placec
	if err != nil {
		return nil, err
	}
	b.m.setPhase("config", "")
	if cfg.err != nil {
		return nil, cfg.err
	}
	if err := b.storeConfigFiles(ctx, cfg.files); err != nil {
		return nil, err
	}
	b.folder, b.pool = place[0], place[1]
	return b.writeMetadata(&sm.Config)
}

// createSnapshot takes the snapshot; when the task fails it still looks
// for a snapshot of that name (a task can fail after creating it) and
// returns it so that it is removed.
func (b *backup) createSnapshot(ctx context.Context) (*types.ManagedObjectReference, error) {
	quiesce := !b.o.NoQuiesce && b.vm.PowerState == string(types.VirtualMachinePowerStatePoweredOn)
	memory := b.o.Memory && b.vm.PowerState == string(types.VirtualMachinePowerStatePoweredOn)
	task, err := b.obj.CreateSnapshot(ctx, b.o.SnapshotName, b.snapshotDesc(), memory, quiesce)
	var res *types.TaskInfo
	if err == nil {
		res, err = task.WaitForResult(ctx, nil)
	}
	if err == nil {
		if ref, ok := res.Result.(types.ManagedObjectReference); ok {
			if testHookSnapshot != nil {
				testHookSnapshot(ref)
			}
			return &ref, nil
		}
		err = fmt.Errorf("task returned %T, not a snapshot", res.Result)
	}
	serr := b.fail(ErrSnapshot, fmt.Errorf("creating snapshot %q: %w", b.o.SnapshotName, err))
	cctx, cancel := cleanupContext()
	defer cancel()
	if ref, ferr := b.obj.FindSnapshot(cctx, b.o.SnapshotName); ferr == nil && ref != nil {
		return ref, serr
	}
	return nil, serr
}

// removeSnapshot removes the backup's snapshot with a fresh context,
// retrying, and reports a snapshot it could not remove by name.
func (b *backup) removeSnapshot(snap types.ManagedObjectReference) error {
	b.m.setPhase("remove-snapshot", "")
	if err := b.removeSnapshotRetry(snap); err != nil {
		return b.fail(ErrSnapshot, fmt.Errorf("snapshot %q (%s) could not be removed, remove it by hand: %w", b.o.SnapshotName, snap.Value, err))
	}
	return nil
}

// removeSnapshotRetry removes a snapshot with fresh contexts, retrying;
// one already gone is no error.
func (b *backup) removeSnapshotRetry(snap types.ManagedObjectReference) error {
	var last error
	for attempt := 0; attempt < snapshotRemoveAttempts; attempt++ {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * snapshotRemoveBackoff)
		}
		cctx, cancel := cleanupContext()
		last = removeSnapshotOnce(cctx, b.c, snap)
		cancel()
		if last == nil || isNotFound(last) {
			return nil
		}
	}
	return last
}

func removeSnapshotOnce(ctx context.Context, c *Client, snap types.ManagedObjectReference) error {
	res, err := methods.RemoveSnapshot_Task(ctx, c.vim, &types.RemoveSnapshot_Task{
		This:           snap,
		RemoveChildren: false,
		Consolidate:    types.NewBool(true),
	})
	if err != nil {
		return err
	}
	return object.NewTask(c.vim, res.Returnval).Wait(ctx)
}

// export streams the snapshot's disks through an NFC lease.
func (b *backup) export(ctx context.Context, snap types.ManagedObjectReference, disks []Disk) (err error) {
	b.m.setPhase("export", "")
	res, err := methods.ExportSnapshot(ctx, b.c.vim, &types.ExportSnapshot{This: snap})
	if err != nil {
		return b.fail(ErrLease, fmt.Errorf("ExportSnapshot: %w", err))
	}
	lease := nfc.NewLease(b.c.vim, res.Returnval)
	completed := false
	defer func() {
		if completed {
			return
		}
		cctx, cancel := cleanupContext()
		defer cancel()
		msg := "vcb backup aborted"
		if err != nil {
			msg = err.Error()
		}
		if aerr := lease.Abort(cctx, &types.LocalizedMethodFault{
			Fault:            &types.SystemError{Reason: msg},
			LocalizedMessage: msg,
		}); aerr != nil && !isNotFound(aerr) {
			err = errors.Join(err, b.fail(ErrLease, fmt.Errorf("aborting lease %s: %w", lease.Reference().Value, aerr)))
		}
	}()
	info, err := lease.Wait(ctx, nil)
	if err != nil {
		return b.fail(ErrLease, fmt.Errorf("waiting for lease: %w", err))
	}
	if testHookLease != nil {
		testHookLease(lease.Reference(), info)
	}

	// Keep the lease alive with progress updates while streaming.
	uctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(b.o.LeaseUpdateInterval)
		defer t.Stop()
		for {
			select {
			case <-uctx.Done():
				return
			case <-t.C:
				_ = lease.Progress(uctx, b.m.percent())
			}
		}
	}()
	defer func() { stop(); wg.Wait() }()

	items, err := b.matchLeaseItems(info, disks)
	if err != nil {
		return err
	}
	for i, d := range disks {
		it := items[i]
		if it == nil {
			return b.fail(ErrLease, fmt.Errorf("lease has no URL for disk %s (%s)", d.Slot, d.File))
		}
		if err := b.download(ctx, it, d); err != nil {
			return err
		}
	}
	if err := lease.Progress(ctx, 100); err != nil {
		return b.fail(ErrLease, fmt.Errorf("lease progress: %w", err))
	}
	if err := lease.Complete(ctx); err != nil {
		return b.fail(ErrLease, fmt.Errorf("completing lease: %w", err))
	}
	completed = true
	return nil
}

// leaseItem is one disk URL of an export lease.
type leaseItem struct {
	URL    *url.URL
	Target string
}

// matchLeaseItems pairs each disk with the lease's disk URL: by file name
// first (vcsim and ESXi name the target after the disk), then in device
// order.
func (b *backup) matchLeaseItems(info *nfc.LeaseInfo, disks []Disk) ([]*leaseItem, error) {
	var items []*leaseItem
	for _, d := range info.DeviceUrl {
		if d.Disk != nil && !*d.Disk {
			continue
		}
		u, err := b.c.vim.ParseURL(d.Url)
		if err != nil {
			return nil, b.fail(ErrLease, fmt.Errorf("lease URL %q: %w", d.Url, err))
		}
		target := d.TargetId
		if target == "" {
			target = path.Base(u.Path)
		}
		items = append(items, &leaseItem{URL: u, Target: target})
	}
	out := make([]*leaseItem, len(disks))
	used := make([]bool, len(items))
	for i, d := range disks {
		var p object.DatastorePath
		p.FromString(d.File)
		for j, it := range items {
			if !used[j] && it.Target == path.Base(p.Path) {
				out[i], used[j] = it, true
				break
			}
		}
	}
	next := 0
	for i := range disks {
		if out[i] != nil {
			continue
		}
		for next < len(items) && used[next] {
			next++
		}
		if next < len(items) {
			out[i], used[next] = items[next], true
		}
	}
	return out, nil
}

func (b *backup) download(ctx context.Context, it *leaseItem, d Disk) error {
	name := diskFileName(d)
	b.m.setPhase("export", name)
	body, _, err := b.c.get(ctx, it.URL)
	if err != nil {
		return b.fail(ErrTransfer, fmt.Errorf("disk %s: %w", d.Slot, err))
	}
	defer body.Close()
	// A lease serves a streamOptimized stream (ESXi, vCenter), raw data,
	// or the disk's text descriptor (vcsim, hosts that serve the backing
	// file as it is): then the content is in the extents it names.
	br := bufio.NewReaderSize(body, maxDescriptor)
	var src io.Reader = br
	format := ""
	stream := false
	if desc := leaseDescriptor(br); desc != nil {
		er, err := b.newExtentReader(ctx, d, desc)
		if err != nil {
			return err
		}
		defer er.Close()
		src, format = er, FormatFlat
	} else if head, _ := br.Peek(4); len(head) == 4 && binary.LittleEndian.Uint32(head) == vmdk.Magic {
		stream = true
	}
	f, err := b.writeFile(ctx, name, KindDisk, &countingReader{ctx: ctx, r: src, m: b.m}, b.o.Compression)
	if err != nil {
		var dse *DiskSizeError
		if errors.As(err, &dse) {
			dse.Capacity = d.CapacityBytes
			return b.fail(ErrIncomplete, dse)
		}
		return err
	}
	// The invariant: raw content covers exactly the configured capacity.
	// (A sparse stream's size says nothing about it.)
	if !stream && f.RawSize != d.CapacityBytes {
		return b.fail(ErrIncomplete, &DiskSizeError{Disk: d.Slot + " " + d.File, Capacity: d.CapacityBytes, Got: f.RawSize})
	}
	f.Format = format
	f.Source, f.Slot, f.DeviceKey, f.Capacity, f.ChangeID = d.File, d.Slot, d.Key, d.CapacityBytes, d.ChangeID
	b.files = append(b.files, f)
	return nil
}

// writeFile stores r as tmp/name (+".zst" when compressed), fsynced, and
// returns its manifest entry. Read errors are transfer errors, write
// errors are ErrWrite.
func (b *backup) writeFile(ctx context.Context, name, kind string, r io.Reader, compression string) (File, error) {
	if compression != "" {
		name += ".zst"
	}
	fe := File{Name: name, Kind: kind, Compression: compression}
	fh, err := b.o.FS.Create(filepath.Join(b.tmp, name))
	if err != nil {
		return fe, b.fail(ErrWrite, err)
	}
	stored := &hashWriter{w: fh, h: sha256.New()}
	var w io.Writer = stored
	var enc *zstd.Encoder
	raw := stored
	if compression == CompressionZstd {
		enc, err = zstd.NewWriter(stored, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(2))
		if err != nil {
			_ = fh.Close()
			return fe, b.fail(ErrWrite, err)
		}
		w = enc
		raw = &hashWriter{w: w, h: sha256.New()}
	}
	var abort func()
	if c, ok := r.(io.Closer); ok {
		abort = func() { _ = c.Close() }
	}
	_, cerr := copyPipelined(raw, r, abort)
	if enc != nil {
		if err := enc.Close(); err != nil && cerr == nil {
			cerr = &writeError{err}
		}
	}
	if cerr == nil {
		// Flushed by finish, with the others.
		b.unsynced = append(b.unsynced, unsyncedFile{name, fh})
	} else {
		_ = fh.Close()
	}
	if cerr != nil {
		var we *writeError
		if errors.As(cerr, &we) {
			return fe, b.fail(ErrWrite, fmt.Errorf("%s: %w", name, we.err))
		}
		if ctx.Err() != nil {
			return fe, b.fail(ErrTransfer, fmt.Errorf("%s: %w", name, ctx.Err()))
		}
		return fe, b.fail(ErrTransfer, fmt.Errorf("%s: %w", name, cerr))
	}
	fe.Size, fe.SHA256 = stored.n, hex.EncodeToString(stored.h.Sum(nil))
	fe.RawSize, fe.RawSHA256 = raw.n, hex.EncodeToString(raw.h.Sum(nil))
	return fe, nil
}

// writeError marks an error of the destination, as opposed to the source.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

type hashWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (hw *hashWriter) Write(p []byte) (int, error) {
	n, err := hw.w.Write(p)
	hw.h.Write(p[:n])
	hw.n += int64(n)
	if err != nil {
		var we *writeError
		if !errors.As(err, &we) {
			err = &writeError{err}
		}
	}
	return n, err
}

// configFile is a .vmx or .nvram downloaded into memory.
type configFile struct {
	kind, file, source string
	data               []byte
}

// maxConfigFile bounds a downloaded .vmx or .nvram (both are kilobytes;
// an nvram is at most a few hundred).
const maxConfigFile = 64 << 20

// configName names a configuration file to back up.
type configName struct{ kind, file string }

// configFiles returns the datastore and the paths of the VM's .vmx and
// .nvram.
func (b *backup) configFiles(ctx context.Context, ci *types.VirtualMachineConfigInfo) (*object.Datastore, []configName, error) {
	var vmx object.DatastorePath
	if !vmx.FromString(ci.Files.VmPathName) {
		return nil, nil, b.fail(ErrTransfer, fmt.Errorf("cannot parse VM path %q", ci.Files.VmPathName))
	}
	ds, err := b.c.datastore(ctx, vmx.Datastore)
	if err != nil {
		return nil, nil, b.fail(ErrNotFound, fmt.Errorf("datastore %s: %w", vmx.Datastore, err))
	}
	dir := path.Dir(vmx.Path)
	vmxPath := vmx.Path
	if !strings.HasSuffix(vmxPath, ".vmx") {
		dir = vmx.Path
		vmxPath = path.Join(dir, ci.Name+".vmx")
	}
	nvram := ci.Name + ".nvram"
	for _, ov := range ci.ExtraConfig {
		if o := ov.GetOptionValue(); o.Key == "nvram" {
			if s, ok := o.Value.(string); ok && s != "" {
				nvram = s
			}
		}
	}
	nvramPath := nvram
	if !strings.HasPrefix(nvram, "/") {
		nvramPath = path.Join(dir, nvram)
	}
	return ds, []configName{{KindVMX, vmxPath}, {KindNVRAM, nvramPath}}, nil
}

// downloadConfigFiles downloads the .vmx and .nvram over the datastore
// HTTP interface. A missing .nvram is not an error (VMs that never ran).
func (b *backup) downloadConfigFiles(ctx context.Context, ds *object.Datastore, names []configName) ([]configFile, error) {
	var out []configFile
	for _, f := range names {
		body, _, err := b.c.get(ctx, datastoreURL(ds, f.file))
		if err != nil {
			if f.kind == KindNVRAM && isHTTPNotFound(err) {
				continue
			}
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return nil, b.fail(ErrTransfer, fmt.Errorf("%s %s: %w", f.kind, f.file, err))
		}
		data, err := io.ReadAll(io.LimitReader(body, maxConfigFile+1))
		_ = body.Close()
		if err == nil && len(data) > maxConfigFile {
			err = fmt.Errorf("larger than %d bytes", maxConfigFile)
		}
		if err != nil {
			return nil, b.fail(ErrTransfer, fmt.Errorf("%s %s: %w", f.kind, f.file, err))
		}
		out = append(out, configFile{kind: f.kind, file: f.file, source: ds.Path(f.file), data: data})
	}
	return out, nil
}

// storeConfigFiles writes the downloaded configuration files into the
// backup.
func (b *backup) storeConfigFiles(ctx context.Context, files []configFile) error {
	for _, f := range files {
		fe, err := b.writeFile(ctx, path.Base(f.file), f.kind, bytes.NewReader(f.data), "")
		if err != nil {
			return err
		}
		fe.Source = f.source
		b.files = append(b.files, fe)
	}
	return nil
}

// writeMetadata writes the VM configuration, the catalog and, last, the
// manifest.
func (b *backup) writeMetadata(ci *types.VirtualMachineConfigInfo) (*Manifest, error) {
	cfg, err := encodeConfig(ci)
	if err != nil {
		return nil, b.fail(ErrManifest, fmt.Errorf("encoding VM configuration: %w", err))
	}
	ctx := context.Background()
	fe, err := b.writeFile(ctx, "config.json", KindConfig, bytes.NewReader(cfg), "")
	if err != nil {
		return nil, err
	}
	b.files = append(b.files, fe)

	man := &Manifest{
		Version:     ManifestVersion,
		Created:     time.Now().UTC(),
		Server:      b.c.vim.URL().Host,
		Datacenter:  b.c.dc.Name(),
		VM:          b.vm,
		Snapshot:    b.o.SnapshotName,
		Quiesced:    !b.o.NoQuiesce && b.vm.PowerState == string(types.VirtualMachinePowerStatePoweredOn),
		Memory:      b.o.Memory && b.vm.PowerState == string(types.VirtualMachinePowerStatePoweredOn),
		Compression: b.o.Compression,
		Config:      cfg,
	}
	man.VM.Disks = disksOf(ci.Hardware.Device)

	cat := b.catalog(man)
	var cb bytes.Buffer
	_, _ = cat.WriteTo(&cb)
	fe, err = b.writeFile(ctx, CatalogFile, KindCatalog, &cb, "")
	if err != nil {
		return nil, err
	}
	b.files = append(b.files, fe)
	man.Files = b.files

	js, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return nil, b.fail(ErrManifest, err)
	}
	js = append(js, '\n')
	if _, err := b.writeFile(ctx, ManifestFile, "", bytes.NewReader(js), ""); err != nil {
		return nil, err
	}
	return man, nil
}

func (b *backup) catalog(man *Manifest) *Catalog {
	cat := NewCatalog()
	cat.Set(CatVersion, "vcb-go-1")
	cat.Set(CatState, man.VM.PowerState)
	cat.Set(CatDisplayName, man.VM.Name)
	cat.Set(CatUUID, man.VM.BIOSUUID)
	cat.Set(CatInstanceUUID, man.VM.InstanceUUID)
	cat.Set(CatMoRef, man.VM.MoRef)
	cat.Set(CatServer, man.Server)
	cat.Set(CatDatacenter, man.Datacenter)
	cat.Set(CatHost, man.VM.Host)
	folder, pool := b.folder, b.pool
	cat.Set(CatFolder, folder)
	cat.Set(CatResourcePool, pool)
	var vmx object.DatastorePath
	vmx.FromString(man.VM.VMXPath)
	cat.Set(CatDatastore, vmx.Datastore)
	for _, f := range b.files {
		switch f.Kind {
		case KindVMX:
			cat.Set(CatCfgFile, f.Name)
		case KindNVRAM:
			cat.Set(CatNvramFile, f.Name)
		}
	}
	n := 0
	for _, f := range b.files {
		if f.Kind != KindDisk {
			continue
		}
		cat.Set(diskKey(n, "slot"), f.Slot)
		cat.Set(diskKey(n, "file"), f.Name)
		cat.Set(diskKey(n, "path"), f.Source)
		cat.Set(diskKey(n, "capacity"), strconv.FormatInt(f.Capacity, 10))
		n++
	}
	cat.Set(CatDiskCount, strconv.Itoa(n))
	cat.Set(CatCompression, compressionName(man.Compression))
	cat.Set(CatTimestamp, man.Created.Format(time.RFC3339))
	return cat
}

func compressionName(c string) string {
	if c == "" {
		return "none"
	}
	return c
}

// placement returns the inventory paths of the VM's folder and resource
// pool ("" when unknown).
func (b *backup) placement(ctx context.Context) (folder, pool string) {
	var vm mo.VirtualMachine
	if err := b.c.retrieve(ctx, []types.ManagedObjectReference{b.obj.Reference()}, []string{"parent", "resourcePool"}, &vm); err != nil {
		return "", ""
	}
	if vm.Parent != nil {
		folder, _ = find.InventoryPath(ctx, b.c.vim, *vm.Parent)
	}
	if vm.ResourcePool != nil {
		pool, _ = find.InventoryPath(ctx, b.c.vim, *vm.ResourcePool)
	}
	return folder, pool
}

// unsyncedFile is a file of the backup written but not yet flushed.
type unsyncedFile struct {
	name string
	f    WriteFile
}

// flushInBackground runs fn, which makes data the backup refers to
// durable, while the backup goes on; finish waits for it.
func (b *backup) flushInBackground(fn func() error) {
	c := make(chan error, 1)
	b.flushes = append(b.flushes, c)
	go func() { c <- fn() }()
}

// waitFlushes waits for the background flushes and returns their errors.
func (b *backup) waitFlushes() error {
	var errs []error
	for _, c := range b.flushes {
		if err := <-c; err != nil {
			errs = append(errs, err)
		}
	}
	b.flushes = nil
	if err := errors.Join(errs...); err != nil {
		return b.fail(ErrWrite, err)
	}
	return nil
}

// syncFiles flushes and closes every file written so far, concurrently.
func (b *backup) syncFiles() error {
	files := b.unsynced
	b.unsynced = nil
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	for i, u := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := u.f.Sync()
			if cerr := u.f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				errs[i] = fmt.Errorf("%s: %w", u.name, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return b.fail(ErrWrite, err)
	}
	return nil
}

// finish flushes the backup's files and the temporary directory and
// renames it into place.
func (b *backup) finish() error {
	err := b.syncFiles()
	if ferr := b.waitFlushes(); err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	if err := b.o.FS.SyncDir(b.tmp); err != nil {
		return b.fail(ErrWrite, err)
	}
	if _, err := lstat(b.dir); err == nil {
		return errf("backup", b.vm.MoRef, ErrExists, "destination %s appeared during the backup", b.dir)
	}
	if err := b.o.FS.Rename(b.tmp, b.dir); err != nil {
		return b.fail(ErrWrite, err)
	}
	_ = b.o.FS.SyncDir(filepath.Dir(b.dir))
	return nil
}
