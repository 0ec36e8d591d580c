package vcb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/bulletproof-labs/wsvcb/vcb/vmdk"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"
)

// RestoreOptions tune Restore. Empty fields come from the catalog (the
// backup's, or the one named by Catalog), like vcbRestore.
type RestoreOptions struct {
	// Catalog is an alternate, edited catalog file (vcbRestore -a).
	Catalog string
	// Overwrite allows replacing an existing VM of the target name (it
	// must be powered off) and its directory. Without it Restore refuses.
	Overwrite bool
	// Name, Folder (inventory path), ResourcePool (inventory path),
	// Datastore (name) and Host (name or inventory path) override the
	// catalog's display_name, folder, resourcepool, datastore and host.
	Name         string
	Folder       string
	ResourcePool string
	Datastore    string
	Host         string
	PowerOn      bool
	Progress     ProgressFunc
}

// RestoreResult describes a restored VM.
type RestoreResult struct {
	VM       VMInfo   `json:"vm"`
	Files    []string `json:"files"`              // datastore paths uploaded
	Replaced string   `json:"replaced,omitempty"` // moref of the VM overwritten
	Verified bool     `json:"verified"`           // uploaded disks read back and matched
}

// Restore recreates the VM saved in dir: it verifies the backup, uploads
// the disks (and .nvram) over the datastore HTTP interface into a new
// directory named after the VM, creates the VM from the saved
// configuration with those disks attached, and reads every disk back to
// check it against the manifest. A VM of the same name is replaced only
// with Overwrite and only when powered off; restoring as a copy (another
// Name) gives the copy new UUIDs and MAC addresses. On failure, what
// Restore created is removed.
func (c *Client) Restore(ctx context.Context, dir string, opts *RestoreOptions) (*RestoreResult, error) {
	var o RestoreOptions
	if opts != nil {
		o = *opts
	}
	man, err := Verify(dir)
	if err != nil {
		var ve *VerifyError
		if errors.As(err, &ve) {
			return nil, newErr("restore", dir, ErrChecksum, err)
		}
		return nil, err
	}
	r := &restore{c: c, o: o, dir: dir, man: man, m: &meter{op: "restore", fn: o.Progress}}
	res, err := r.run(ctx)
	if err != nil {
		if cerr := r.cleanup(); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return nil, err
	}
	return res, nil
}

type restore struct {
	c   *Client
	o   RestoreOptions
	dir string
	man *Manifest
	cat *Catalog
	m   *meter

	name     string
	ds       *object.Datastore
	created  *object.VirtualMachine
	uploaded []string
	dirMade  bool
}

func (r *restore) fail(kind error, err error) error {
	name := r.name
	if name == "" {
		name = r.man.VM.Name
	}
	return newErr("restore", name, kind, err)
}

// setting returns the option value, else the catalog's; explicit tells
// whether it came from the caller (option or alternate catalog).
func (r *restore) setting(opt, key string) (value string, explicit bool) {
	if opt != "" {
		return opt, true
	}
	return r.cat.Get(key), r.o.Catalog != ""
}

func (r *restore) run(ctx context.Context) (*RestoreResult, error) {
	catPath := r.o.Catalog
	if catPath == "" {
		catPath = filepath.Join(r.dir, CatalogFile)
	}
	f, err := os.Open(catPath)
	if err != nil {
		return nil, r.fail(ErrCatalog, err)
	}
	r.cat, err = ParseCatalog(f)
	_ = f.Close()
	if err != nil {
		return nil, err
	}
	ci, err := r.man.VMConfig()
	if err != nil {
		return nil, err
	}
	r.name, _ = r.setting(r.o.Name, CatDisplayName)
	if r.name == "" {
		r.name = r.man.VM.Name
	}
	if strings.ContainsAny(r.name, "/\\[]") {
		return nil, errf("restore", r.name, ErrConfig, "invalid VM name %q", r.name)
	}
	c := r.c

	// Placement.
	dsName, _ := r.setting(r.o.Datastore, CatDatastore)
	if dsName == "" {
		return nil, r.fail(ErrConfig, fmt.Errorf("no datastore in options or catalog"))
	}
	if r.ds, err = c.datastore(ctx, dsName); err != nil {
		return nil, r.fail(ErrNotFound, fmt.Errorf("datastore %s: %w", dsName, err))
	}
	folder, err := r.folder(ctx)
	if err != nil {
		return nil, err
	}
	pool, err := r.pool(ctx)
	if err != nil {
		return nil, err
	}
	host, err := r.host(ctx)
	if err != nil {
		return nil, err
	}

	// An existing VM of that name is replaced only when asked, powered off.
	res := &RestoreResult{}
	existing, err := c.List(ctx, Selector{Kind: SelectName, Value: r.name})
	if err != nil {
		return nil, err
	}
	if len(existing) > 0 {
		if !r.o.Overwrite {
			return nil, errf("restore", r.name, ErrExists, "a VM named %q exists (%s); restore as a copy with another name, or overwrite it", r.name, existing[0].MoRef)
		}
		if len(existing) > 1 {
			return nil, errf("restore", r.name, ErrAmbiguous, "%d VMs are named %q", len(existing), r.name)
		}
		if existing[0].PowerState != string(types.VirtualMachinePowerStatePoweredOff) {
			return nil, errf("restore", r.name, ErrPoweredOn, "power off %s (%s) before overwriting it", r.name, existing[0].MoRef)
		}
		old := object.NewVirtualMachine(c.vim, types.ManagedObjectReference{Type: "VirtualMachine", Value: existing[0].MoRef})
		r.m.setPhase("destroy", existing[0].MoRef)
		task, err := old.Destroy(ctx)
		if err == nil {
			err = task.Wait(ctx)
		}
		if err != nil {
			return nil, r.fail(ErrRestore, fmt.Errorf("destroying %s: %w", existing[0].MoRef, err))
		}
		res.Replaced = existing[0].MoRef
	}
	vmxRel := r.name + "/" + r.name + ".vmx"
	_, statErr := r.ds.Stat(ctx, vmxRel)
	if statErr == nil && !r.o.Overwrite {
		return nil, errf("restore", r.name, ErrExists, "%s exists on the datastore", r.ds.Path(vmxRel))
	}
	// A replaced VM's files go with it, but not always before its Destroy
	// task reports success (vcsim removes them in a task of its own, still
	// running then), and whatever Stat saw may be gone a moment later: so
	// delete the directory after any replacement too, and take "not found"
	// as done.
	if statErr == nil || res.Replaced != "" {
		if err := r.deleteDir(ctx); err != nil && !types.IsFileNotFound(err) {
			return nil, r.fail(ErrRestore, fmt.Errorf("removing old directory: %w", err))
		}
	}

	// Upload.
	disks := r.man.Disks()
	newPaths := map[string]string{}
	readPaths := map[string]string{} // where the data is, when not at newPaths
	for _, d := range disks {
		r.m.total.Add(d.RawSize)
	}
	r.dirMade = true
	for _, d := range disks {
		base := rebase(path.Base(sourcePath(d.Source, d.Name)), r.man.VM.Name, r.name)
		rel := r.name + "/" + base
		if d.Format == FormatFlat {
			// Content read from a descriptor's flat extents goes back in
			// that layout: the data where the descriptor points.
			flat := strings.TrimSuffix(rel, ".vmdk") + "-flat.vmdk"
			if err := r.upload(ctx, d, flat); err != nil {
				return nil, err
			}
			if err := r.putDescriptor(ctx, rel, path.Base(flat), d.RawSize); err != nil {
				return nil, err
			}
			readPaths[d.Source] = r.ds.Path(flat)
		} else if err := r.upload(ctx, d, rel); err != nil {
			return nil, err
		}
		newPaths[d.Source] = r.ds.Path(rel)
	}
	if nv, ok := r.man.FileOf(KindNVRAM); ok {
		if err := r.upload(ctx, nv, r.name+"/"+r.name+".nvram"); err != nil {
			return nil, err
		}
	}

	// Create the VM.
	r.m.setPhase("create", r.name)
	// Same name: a real restore keeps the VM's identity; another name is
	// a copy and gets new UUIDs and MAC addresses.
	spec := buildSpec(ci, r.name, r.ds, newPaths, r.name == r.man.VM.Name)
	task, err := folder.CreateVM(ctx, spec, pool, host)
	if err != nil {
		return nil, r.fail(ErrRestore, fmt.Errorf("CreateVM: %w", err))
	}
	info, err := task.WaitForResult(ctx, nil)
	if err != nil {
		return nil, r.fail(ErrRestore, fmt.Errorf("CreateVM: %w", err))
	}
	ref, ok := info.Result.(types.ManagedObjectReference)
	if !ok {
		return nil, r.fail(ErrRestore, fmt.Errorf("CreateVM returned %T", info.Result))
	}
	r.created = object.NewVirtualMachine(c.vim, ref)

	// Read back what was uploaded.
	r.m.done.Store(0)
	for _, d := range disks {
		p := newPaths[d.Source]
		if rp, ok := readPaths[d.Source]; ok {
			p = rp
		}
		if err := r.readBack(ctx, d, p); err != nil {
			return nil, err
		}
	}
	res.Verified = true

	if r.o.PowerOn {
		r.m.setPhase("power-on", r.name)
		task, err := r.created.PowerOn(ctx)
		if err == nil {
			err = task.Wait(ctx)
		}
		if err != nil {
			return nil, r.fail(ErrRestore, fmt.Errorf("power on: %w", err))
		}
	}
	vms, err := c.List(ctx, Selector{Kind: SelectMoRef, Value: ref.Value})
	if err != nil || len(vms) != 1 {
		return nil, r.fail(ErrNotFound, fmt.Errorf("restored VM %s vanished: %v", ref.Value, err))
	}
	res.VM = vms[0]
	for _, p := range r.uploaded {
		res.Files = append(res.Files, r.ds.Path(p))
	}
	r.created, r.uploaded, r.dirMade = nil, nil, false // success: keep everything
	r.m.setPhase("done", "")
	return res, nil
}

// sourcePath returns the datastore path's file part, or fallback.
func sourcePath(src, fallback string) string {
	var p object.DatastorePath
	if p.FromString(src) && p.Path != "" {
		return p.Path
	}
	return strings.TrimSuffix(fallback, ".zst")
}

// rebase renames "old.vmdk"/"old_1.vmdk" to "new.vmdk"/"new_1.vmdk".
func rebase(base, oldName, newName string) string {
	if oldName != "" && strings.HasPrefix(base, oldName) {
		return newName + strings.TrimPrefix(base, oldName)
	}
	return base
}

func (r *restore) upload(ctx context.Context, f File, rel string) error {
	r.m.setPhase("upload", rel)
	rc, err := openContent(r.dir, f)
	if err != nil {
		return r.fail(ErrRestore, err)
	}
	defer rc.Close()
	r.uploaded = append(r.uploaded, rel)
	var src io.Reader = rc
	if f.Kind == KindDisk {
		src = &countingReader{ctx: ctx, r: rc, m: r.m}
	}
	if err := r.c.put(ctx, datastoreURL(r.ds, rel), src, f.RawSize); err != nil {
		return r.fail(ErrTransfer, fmt.Errorf("upload %s: %w", r.ds.Path(rel), err))
	}
	return nil
}

// putDescriptor writes at rel a VMDK text descriptor of one flat extent
// (the file flat, next to it) of size bytes.
func (r *restore) putDescriptor(ctx context.Context, rel, flat string, size int64) error {
	d := vmdk.Descriptor{
		Version: 1, CID: uint32(time.Now().UnixNano()), ParentCID: vmdk.NoParentCID, CreateType: "vmfs",
		Extents: []vmdk.ExtentDesc{{Access: "RW", Sectors: uint64(size) / 512, Type: vmdk.ExtentVMFS, FileName: flat}},
		DDB:     map[string]string{"ddb.adapterType": "lsilogic", "ddb.virtualHWVersion": "4"},
	}
	text := d.Marshal()
	r.uploaded = append(r.uploaded, rel)
	if err := r.c.put(ctx, datastoreURL(r.ds, rel), bytes.NewReader(text), int64(len(text))); err != nil {
		return r.fail(ErrTransfer, fmt.Errorf("upload %s: %w", r.ds.Path(rel), err))
	}
	return nil
}

func (r *restore) readBack(ctx context.Context, f File, dsPath string) error {
	var p object.DatastorePath
	p.FromString(dsPath)
	r.m.setPhase("readback", dsPath)
	body, _, err := r.c.get(ctx, datastoreURL(r.ds, p.Path))
	if err != nil {
		return r.fail(ErrTransfer, fmt.Errorf("reading back %s: %w", dsPath, err))
	}
	defer body.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, &countingReader{ctx: ctx, r: body, m: r.m}, make([]byte, 1<<20))
	if err != nil {
		return r.fail(ErrTransfer, fmt.Errorf("reading back %s: %w", dsPath, err))
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != f.RawSize || got != f.RawSHA256 {
		return r.fail(ErrChecksum, fmt.Errorf("%s on the datastore: %d bytes sha256 %s, manifest says %d bytes sha256 %s", dsPath, n, got, f.RawSize, f.RawSHA256))
	}
	return nil
}

// cleanup removes what a failed restore created, with a fresh context.
func (r *restore) cleanup() error {
	if r.created == nil && !r.dirMade {
		return nil
	}
	ctx, cancel := cleanupContext()
	defer cancel()
	var errs []error
	if r.created != nil {
		task, err := r.created.Destroy(ctx)
		if err == nil {
			err = task.Wait(ctx)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("destroying partial VM %s: %w", r.created.Reference().Value, err))
		}
	}
	if r.dirMade && r.ds != nil {
		if err := r.deleteDir(ctx); err != nil && !types.IsFileNotFound(err) {
			errs = append(errs, fmt.Errorf("removing %s: %w", r.ds.Path(r.name), err))
		}
	}
	if len(errs) > 0 {
		return r.fail(ErrRestore, errors.Join(errs...))
	}
	return nil
}

func (r *restore) deleteDir(ctx context.Context) error {
	fm := object.NewFileManager(r.c.vim)
	task, err := fm.DeleteDatastoreFile(ctx, r.ds.Path(r.name), r.c.dc)
	if err != nil {
		return err
	}
	return task.Wait(ctx)
}

func (r *restore) folder(ctx context.Context) (*object.Folder, error) {
	v, explicit := r.setting(r.o.Folder, CatFolder)
	if v != "" {
		f, err := r.c.finder.Folder(ctx, v)
		if err == nil {
			return f, nil
		}
		if explicit {
			return nil, r.fail(ErrNotFound, fmt.Errorf("folder %s: %w", v, err))
		}
	}
	folders, err := r.c.dc.Folders(ctx)
	if err != nil {
		return nil, r.fail(ErrNotFound, err)
	}
	return folders.VmFolder, nil
}

func (r *restore) pool(ctx context.Context) (*object.ResourcePool, error) {
	v, explicit := r.setting(r.o.ResourcePool, CatResourcePool)
	if v != "" {
		p, err := r.c.finder.ResourcePool(ctx, v)
		if err == nil {
			return p, nil
		}
		if explicit {
			return nil, r.fail(ErrNotFound, fmt.Errorf("resource pool %s: %w", v, err))
		}
	}
	if cl, err := r.c.finder.ClusterComputeResourceList(ctx, "*"); err == nil && len(cl) > 0 {
		return cl[0].ResourcePool(ctx)
	}
	p, err := r.c.finder.DefaultResourcePool(ctx)
	if err != nil {
		return nil, r.fail(ErrNotFound, fmt.Errorf("resource pool: %w", err))
	}
	return p, nil
}

func (r *restore) host(ctx context.Context) (*object.HostSystem, error) {
	v, explicit := r.setting(r.o.Host, CatHost)
	if v == "" || !explicit {
		return nil, nil // let vCenter place the VM in the pool
	}
	h, err := r.c.finder.HostSystem(ctx, v)
	if err != nil {
		return nil, r.fail(ErrNotFound, fmt.Errorf("host %s: %w", v, err))
	}
	return h, nil
}

// buildSpec turns a saved configuration into a CreateVM spec attaching
// the uploaded disks. Default devices (PCI, IDE, PS/2, video, ...) are
// left for the server to create; storage controllers, disks and network
// cards are added with fresh temporary keys.
func buildSpec(ci *types.VirtualMachineConfigInfo, name string, ds *object.Datastore, disks map[string]string, keepIdentity bool) types.VirtualMachineConfigSpec {
	spec := types.VirtualMachineConfigSpec{
		Name:              name,
		GuestId:           ci.GuestId,
		NumCPUs:           ci.Hardware.NumCPU,
		NumCoresPerSocket: ci.Hardware.NumCoresPerSocket,
		MemoryMB:          int64(ci.Hardware.MemoryMB),
		Annotation:        ci.Annotation,
		Firmware:          ci.Firmware,
		Version:           ci.Version,
		Files:             &types.VirtualMachineFileInfo{VmPathName: ds.Path(name + "/" + name + ".vmx")},
	}
	if keepIdentity {
		spec.Uuid, spec.InstanceUuid = ci.Uuid, ci.InstanceUuid
	}
	keys := map[int32]int32{}
	next := int32(-1)
	var devs []types.BaseVirtualDevice
	for _, d := range ci.Hardware.Device {
		switch d.(type) {
		case types.BaseVirtualSCSIController, types.BaseVirtualSATAController, *types.VirtualNVMEController,
			*types.VirtualDisk, types.BaseVirtualEthernetCard:
			keys[d.GetVirtualDevice().Key] = next
			next--
			devs = append(devs, d)
		}
	}
	for _, d := range devs {
		vd := d.GetVirtualDevice()
		vd.Key = keys[vd.Key]
		if k, ok := keys[vd.ControllerKey]; ok {
			vd.ControllerKey = k
		}
		vd.DeviceInfo = nil
		vd.SlotInfo = nil
		ds := ds.Reference()
		cs := &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationAdd, Device: d}
		switch dev := d.(type) {
		case types.BaseVirtualController:
			dev.GetVirtualController().Device = nil
		case *types.VirtualDisk:
			if b, ok := dev.Backing.(types.BaseVirtualDeviceFileBackingInfo); ok {
				fb := b.GetVirtualDeviceFileBackingInfo()
				if np, ok := disks[fb.FileName]; ok {
					fb.FileName = np
				}
				fb.Datastore = &ds
			}
			switch b := dev.Backing.(type) {
			case *types.VirtualDiskFlatVer2BackingInfo:
				b.Parent, b.Uuid, b.ChangeId, b.ContentId = nil, "", "", ""
			case *types.VirtualDiskSeSparseBackingInfo:
				b.Parent, b.Uuid, b.ChangeId, b.ContentId = nil, "", "", ""
			case *types.VirtualDiskSparseVer2BackingInfo:
				b.Parent, b.Uuid, b.ChangeId, b.ContentId = nil, "", "", ""
			}
			dev.VDiskId = nil
		case types.BaseVirtualEthernetCard:
			if !keepIdentity {
				nic := dev.GetVirtualEthernetCard()
				nic.MacAddress = ""
				nic.AddressType = string(types.VirtualEthernetCardMacTypeGenerated)
			}
		}
		spec.DeviceChange = append(spec.DeviceChange, cs)
	}
	return spec
}
