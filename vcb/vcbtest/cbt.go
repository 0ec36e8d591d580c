package vcbtest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// CBT extends the simulator with changed block tracking, which vcsim
// lacks: VirtualMachine.QueryChangedDiskAreas, and change IDs in the disk
// backings of snapshots. It follows govmomi's documented way of extending
// the simulator (simulator/example_extend_test.go: a type embedding
// *simulator.VirtualMachine that adds methods). The extension is placed,
// through the registry's Handler hook, in the calling session's registry
// for the duration of one QueryChangedDiskAreas call only (the dispatcher
// prefers session objects), so the simulator's own code, which asserts
// *simulator.VirtualMachine on the global registry, is unaffected.
//
// Change IDs are "<epoch>/<sequence>": every WriteAt advances the
// sequence and stamps it into the VM's disk backings, and a snapshot keeps
// the ID of its moment (vcsim deep-copies the configuration).
//
// Tracking is real: tests change a disk with WriteAt, which writes the
// disk's file on the simulator's datastore and records the range.
// QueryChangedDiskAreas answers from those records, so a backup that
// transfers only the reported extents is checked against the real bytes.
type CBT struct {
	m     *simulator.Model
	epoch string // changes IDs are "<epoch>/<sequence>"

	mu     sync.Mutex
	seq    int64
	writes map[diskID][]write
	vms    map[string]bool // tracked VMs by moref value
	// MaxAreas limits the extents of one QueryChangedDiskAreas answer
	// (like ESXi, which answers in parts), to exercise callers' loops.
	MaxAreas int
}

type diskID struct {
	vm  string // moref value
	key int32
}

type write struct {
	seq        int64
	start, end int64
}

// EnableCBT installs changed block tracking into the simulator model; the
// VMs to track are added with Track.
func EnableCBT(m *simulator.Model) *CBT {
	c := &CBT{
		m:        m,
		epoch:    "52 " + strconv.FormatInt(int64(os.Getpid()), 16) + " cb 7a",
		writes:   map[diskID][]write{},
		vms:      map[string]bool{},
		MaxAreas: 64,
	}
	prev := m.Map().Handler
	m.Map().Handler = func(ctx *simulator.Context, method *simulator.Method) (mo.Reference, types.BaseMethodFault) {
		if prev != nil {
			if h, f := prev(ctx, method); h != nil || f != nil {
				return h, f
			}
		}
		if method.Name != "QueryChangedDiskAreas" || ctx.Session == nil {
			return nil, nil
		}
		c.mu.Lock()
		tracked := method.This.Type == "VirtualMachine" && c.vms[method.This.Value]
		c.mu.Unlock()
		if !tracked {
			return nil, nil
		}
		vm, ok := ctx.Map.Get(method.This).(*simulator.VirtualMachine)
		if !ok {
			return nil, nil
		}
		// The dispatcher prefers the session's registry over this
		// handler's answer, so the extension goes there for this call.
		ctx.Session.Registry.Put(&cbtVM{VirtualMachine: vm, cbt: c})
		return nil, nil
	}
	return c
}

// Track enables change tracking for the VM (changeTrackingEnabled).
func (c *CBT) Track(vm types.ManagedObjectReference) error {
	obj, ok := c.m.Map().Get(vm).(*simulator.VirtualMachine)
	if !ok {
		return fmt.Errorf("vcbtest: no VM %s", vm.Value)
	}
	c.mu.Lock()
	c.vms[vm.Value] = true
	c.mu.Unlock()
	c.m.Map().WithLock(&simulator.Context{Map: c.m.Map()}, obj, func() {
		obj.Config.ChangeTrackingEnabled = types.NewBool(true)
	})
	c.stamp(vm)
	return nil
}

// stamp sets the current change ID in the VM's disk backings; a snapshot
// (a deep copy of the VM's configuration) keeps the ID of its moment.
func (c *CBT) stamp(vm types.ManagedObjectReference) {
	obj, ok := c.m.Map().Get(vm).(*simulator.VirtualMachine)
	if !ok {
		return
	}
	id := c.ChangeID()
	c.m.Map().WithLock(&simulator.Context{Map: c.m.Map()}, obj, func() {
		for _, d := range obj.Config.Hardware.Device {
			if vd, ok := d.(*types.VirtualDisk); ok {
				if b, ok := vd.Backing.(*types.VirtualDiskFlatVer2BackingInfo); ok {
					b.ChangeId = id
				}
			}
		}
	})
}

// ChangeID returns the current change ID of the simulated disks.
func (c *CBT) ChangeID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changeID()
}

func (c *CBT) changeID() string { return c.epoch + "/" + strconv.FormatInt(c.seq, 10) }

// WriteAt writes p at off into disk number disk (in device order) of the
// VM, directly into the file on the simulator's datastore, and records
// the changed range.
func (c *CBT) WriteAt(vm types.ManagedObjectReference, disk int, p []byte, off int64) error {
	key, file, err := c.diskFile(vm, disk)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("vcbtest: %w", err)
	}
	_, err = f.WriteAt(p, off)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("vcbtest: %w", err)
	}
	c.mu.Lock()
	c.seq++
	id := diskID{vm.Value, key}
	c.writes[id] = append(c.writes[id], write{seq: c.seq, start: off, end: off + int64(len(p))})
	c.mu.Unlock()
	c.stamp(vm)
	return nil
}

// DiskFile returns the local path of the file backing disk number disk of
// the VM.
func (c *CBT) DiskFile(vm types.ManagedObjectReference, disk int) (string, error) {
	_, f, err := c.diskFile(vm, disk)
	return f, err
}

func (c *CBT) diskFile(vm types.ManagedObjectReference, disk int) (int32, string, error) {
	obj, ok := c.m.Map().Get(vm).(*simulator.VirtualMachine)
	if !ok {
		return 0, "", fmt.Errorf("vcbtest: no VM %s", vm.Value)
	}
	var (
		key  int32
		name string
	)
	c.m.Map().WithLock(&simulator.Context{Map: c.m.Map()}, obj, func() {
		n := 0
		for _, d := range obj.Config.Hardware.Device {
			vd, ok := d.(*types.VirtualDisk)
			if !ok {
				continue
			}
			if n == disk {
				if b, ok := vd.Backing.(types.BaseVirtualDeviceFileBackingInfo); ok {
					key, name = vd.Key, b.GetVirtualDeviceFileBackingInfo().FileName
				}
				break
			}
			n++
		}
	})
	if name == "" {
		return 0, "", fmt.Errorf("vcbtest: VM %s has no disk %d", vm.Value, disk)
	}
	var p object.DatastorePath
	if !p.FromString(name) {
		return 0, "", fmt.Errorf("vcbtest: bad disk path %q", name)
	}
	for _, e := range c.m.Map().All("Datastore") {
		ds := e.(*simulator.Datastore)
		if ds.Name == p.Datastore {
			return key, filepath.Join(ds.Info.GetDatastoreInfo().Url, filepath.FromSlash(p.Path)), nil
		}
	}
	return 0, "", fmt.Errorf("vcbtest: no datastore %q", p.Datastore)
}

// areas returns the merged ranges of disk written after sequence from up
// to sequence to, clipped to [start, capacity).
func (c *CBT) areas(id diskID, from, to, start, capacity int64) []types.DiskChangeExtent {
	c.mu.Lock()
	var rs []write
	for _, w := range c.writes[id] {
		if w.seq > from && w.seq <= to {
			rs = append(rs, w)
		}
	}
	c.mu.Unlock()
	slices.SortFunc(rs, func(a, b write) int {
		if a.start != b.start {
			return int(a.start - b.start)
		}
		return int(a.end - b.end)
	})
	var out []types.DiskChangeExtent
	for _, w := range rs {
		s, e := max(w.start, start), min(w.end, capacity)
		if s >= e {
			continue
		}
		if n := len(out); n > 0 && s <= out[n-1].Start+out[n-1].Length {
			out[n-1].Length = max(out[n-1].Length, e-out[n-1].Start)
			continue
		}
		out = append(out, types.DiskChangeExtent{Start: s, Length: e - s})
	}
	return out
}

// parseChangeID returns the sequence of a change ID of this simulator.
func (c *CBT) parseChangeID(id string) (int64, bool) {
	rest, ok := strings.CutPrefix(id, c.epoch+"/")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	return n, err == nil && n >= 0
}

// cbtVM adds changed block tracking to a simulated VM.
type cbtVM struct {
	*simulator.VirtualMachine
	cbt *CBT
}

// QueryChangedDiskAreas answers from the writes recorded by WriteAt. The
// change ID "*" asks for all allocated areas: the whole disk.
func (vm *cbtVM) QueryChangedDiskAreas(ctx *simulator.Context, req *types.QueryChangedDiskAreas) soap.HasFault {
	defer ctx.Session.Registry.Remove(ctx, vm.Self)
	body := &methods.QueryChangedDiskAreasBody{}
	fail := func(msg string, f types.BaseMethodFault) soap.HasFault {
		body.Fault_ = simulator.Fault(msg, f)
		return body
	}
	if req.Snapshot == nil {
		return fail("snapshot required", &types.InvalidArgument{InvalidProperty: "snapshot"})
	}
	snap, ok := ctx.Map.Get(*req.Snapshot).(*simulator.VirtualMachineSnapshot)
	if !ok || snap.Vm.Value != vm.Self.Value {
		return fail("no such snapshot", &types.ManagedObjectNotFound{Obj: *req.Snapshot})
	}
	var disk *types.VirtualDisk
	for _, d := range snap.Config.Hardware.Device {
		if vd, ok := d.(*types.VirtualDisk); ok && vd.Key == req.DeviceKey {
			disk = vd
		}
	}
	if disk == nil {
		return fail("no such disk", &types.InvalidArgument{InvalidProperty: "deviceKey"})
	}
	b, ok := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
	if !ok {
		return fail("disk backing does not track changes", &types.InvalidArgument{InvalidProperty: "deviceKey"})
	}
	to, ok := vm.cbt.parseChangeID(b.ChangeId)
	if !ok {
		return fail("change tracking was not active when the snapshot was taken", &types.FileFault{})
	}
	capacity := disk.CapacityInBytes
	if req.StartOffset < 0 || req.StartOffset > capacity {
		return fail("startOffset beyond the disk", &types.InvalidArgument{InvalidProperty: "startOffset"})
	}
	info := types.DiskChangeInfo{StartOffset: req.StartOffset, Length: capacity - req.StartOffset}
	if req.ChangeId == "*" {
		if info.Length > 0 {
			info.ChangedArea = []types.DiskChangeExtent{{Start: req.StartOffset, Length: info.Length}}
		}
	} else {
		from, ok := vm.cbt.parseChangeID(req.ChangeId)
		if !ok || from > to {
			return fail("invalid changeId "+req.ChangeId, &types.InvalidArgument{InvalidProperty: "changeId"})
		}
		areas := vm.cbt.areas(diskID{vm.Self.Value, req.DeviceKey}, from, to, req.StartOffset, capacity)
		if max := vm.cbt.MaxAreas; max > 0 && len(areas) > max {
			areas = areas[:max]
			last := areas[max-1]
			info.Length = last.Start + last.Length - req.StartOffset
		}
		info.ChangedArea = areas
	}
	body.Res = &types.QueryChangedDiskAreasResponse{Returnval: info}
	return body
}
