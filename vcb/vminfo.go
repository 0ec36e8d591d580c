package vcb

import (
	"context"
	"fmt"
	"path"
	"sort"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// VMInfo is what this package knows about a virtual machine.
type VMInfo struct {
	Name         string   `json:"name"`
	MoRef        string   `json:"moref"`
	InstanceUUID string   `json:"instanceUuid,omitempty"`
	BIOSUUID     string   `json:"biosUuid,omitempty"`
	IPs          []string `json:"ips,omitempty"`
	PowerState   string   `json:"powerState"`
	Host         string   `json:"host,omitempty"`
	Datastores   []string `json:"datastores,omitempty"`
	GuestID      string   `json:"guestId,omitempty"`
	VMXPath      string   `json:"vmxPath,omitempty"` // "[ds] dir/name.vmx"
	Template     bool     `json:"template,omitempty"`
	Disks        []Disk   `json:"disks,omitempty"`
}

// Disk is one virtual disk of a VM.
type Disk struct {
	Key           int32  `json:"key"`
	Label         string `json:"label,omitempty"`
	Slot          string `json:"slot"` // "scsi0:0", "ide0:1", "sata0:0", "nvme0:0"
	File          string `json:"file"` // "[ds] dir/name.vmdk"
	Datastore     string `json:"datastore,omitempty"`
	CapacityBytes int64  `json:"capacityBytes"`
	Thin          bool   `json:"thin,omitempty"`
	// ChangeID is the backing's change-tracking id (CBT), when enabled:
	// the base for QueryChangedDiskAreas in a later incremental backup.
	ChangeID string `json:"changeId,omitempty"`
}

var vmProps = []string{"name", "config", "guest", "runtime.powerState", "runtime.host", "datastore"}

// List returns the VMs of the datacenter matching sel, sorted by name.
func (c *Client) List(ctx context.Context, sel Selector) ([]VMInfo, error) {
	if sel.Kind == "" {
		sel.Kind = SelectAny
	}
	var vms []mo.VirtualMachine
	if sel.Kind == SelectMoRef {
		var vm mo.VirtualMachine
		ref := types.ManagedObjectReference{Type: "VirtualMachine", Value: sel.Value}
		if err := c.retrieve(ctx, []types.ManagedObjectReference{ref}, vmProps, &vm); err != nil {
			if isNotFound(err) {
				return nil, nil
			}
			return nil, newErr("list", sel.Value, ErrConnect, err)
		}
		vms = append(vms, vm)
	} else {
		m := view.NewManager(c.vim)
		v, err := m.CreateContainerView(ctx, c.dc.Reference(), []string{"VirtualMachine"}, true)
		if err != nil {
			return nil, newErr("list", "", ErrConnect, err)
		}
		defer func() {
			cctx, cancel := cleanupContext()
			defer cancel()
			_ = v.Destroy(cctx)
		}()
		if err := v.Retrieve(ctx, []string{"VirtualMachine"}, vmProps, &vms); err != nil {
			return nil, newErr("list", "", ErrConnect, err)
		}
	}
	names, err := c.names(ctx, vms)
	if err != nil {
		return nil, err
	}
	var out []VMInfo
	for i := range vms {
		info := vmInfo(&vms[i], names)
		if sel.Match(&info) {
			out = append(out, info)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].MoRef < out[j].MoRef
	})
	return out, nil
}

// Find returns the single VM matching sel; ErrNotFound when none does,
// ErrAmbiguous when more than one does.
func (c *Client) Find(ctx context.Context, sel Selector) (VMInfo, error) {
	vms, err := c.List(ctx, sel)
	if err != nil {
		return VMInfo{}, err
	}
	switch len(vms) {
	case 0:
		return VMInfo{}, errf("find", sel.String(), ErrNotFound, "no VM matches %s", sel)
	case 1:
		return vms[0], nil
	}
	var list []string
	for _, v := range vms {
		list = append(list, v.Name+" ("+v.MoRef+")")
	}
	return VMInfo{}, errf("find", sel.String(), ErrAmbiguous, "%d VMs match: %v", len(vms), list)
}

func (c *Client) retrieve(ctx context.Context, refs []types.ManagedObjectReference, props []string, dst any) error {
	pc := c.propertyCollector()
	return pc.Retrieve(ctx, refs, props, dst)
}

// names resolves host and datastore morefs to names in one round trip.
func (c *Client) names(ctx context.Context, vms []mo.VirtualMachine) (map[string]string, error) {
	seen := map[types.ManagedObjectReference]bool{}
	var refs []types.ManagedObjectReference
	add := func(r *types.ManagedObjectReference) {
		if r != nil && !seen[*r] {
			seen[*r] = true
			refs = append(refs, *r)
		}
	}
	for i := range vms {
		add(vms[i].Runtime.Host)
		for j := range vms[i].Datastore {
			add(&vms[i].Datastore[j])
		}
	}
	out := map[string]string{}
	if len(refs) == 0 {
		return out, nil
	}
	var ents []mo.ManagedEntity
	if err := c.retrieve(ctx, refs, []string{"name"}, &ents); err != nil {
		return nil, newErr("list", "", ErrConnect, err)
	}
	for _, e := range ents {
		out[e.Self.Value] = e.Name
	}
	return out, nil
}

func vmInfo(vm *mo.VirtualMachine, names map[string]string) VMInfo {
	info := VMInfo{Name: vm.Name, MoRef: vm.Self.Value, PowerState: string(vm.Runtime.PowerState)}
	if vm.Runtime.Host != nil {
		info.Host = names[vm.Runtime.Host.Value]
	}
	for _, ds := range vm.Datastore {
		info.Datastores = append(info.Datastores, names[ds.Value])
	}
	if g := vm.Guest; g != nil {
		seen := map[string]bool{}
		addIP := func(ip string) {
			if ip != "" && !seen[ip] {
				seen[ip] = true
				info.IPs = append(info.IPs, ip)
			}
		}
		addIP(g.IpAddress)
		for _, n := range g.Net {
			for _, ip := range n.IpAddress {
				addIP(ip)
			}
		}
	}
	if cfg := vm.Config; cfg != nil {
		if info.Name == "" {
			info.Name = cfg.Name
		}
		info.BIOSUUID = cfg.Uuid
		info.InstanceUUID = cfg.InstanceUuid
		info.GuestID = cfg.GuestId
		info.VMXPath = cfg.Files.VmPathName
		info.Template = cfg.Template
		info.Disks = disksOf(cfg.Hardware.Device)
	}
	return info
}

// disksOf lists the virtual disks of a device list, with their slots.
func disksOf(devices []types.BaseVirtualDevice) []Disk {
	list := object.VirtualDeviceList(devices)
	var out []Disk
	for _, d := range list.SelectByType((*types.VirtualDisk)(nil)) {
		vd := d.(*types.VirtualDisk)
		disk := Disk{Key: vd.Key, CapacityBytes: vd.CapacityInBytes}
		if disk.CapacityBytes == 0 {
			disk.CapacityBytes = vd.CapacityInKB * 1024
		}
		if di := vd.DeviceInfo; di != nil {
			disk.Label = di.GetDescription().Label
		}
		if b, ok := vd.Backing.(types.BaseVirtualDeviceFileBackingInfo); ok {
			disk.File = b.GetVirtualDeviceFileBackingInfo().FileName
			var p object.DatastorePath
			if p.FromString(disk.File) {
				disk.Datastore = p.Datastore
			}
		}
		if b, ok := vd.Backing.(*types.VirtualDiskFlatVer2BackingInfo); ok {
			if b.ThinProvisioned != nil {
				disk.Thin = *b.ThinProvisioned
			}
			disk.ChangeID = b.ChangeId
		}
		disk.Slot = slotOf(list, vd)
		out = append(out, disk)
	}
	return out
}

func slotOf(list object.VirtualDeviceList, vd *types.VirtualDisk) string {
	unit := int32(0)
	if vd.UnitNumber != nil {
		unit = *vd.UnitNumber
	}
	ctrl := list.FindByKey(vd.ControllerKey)
	bus := "disk"
	switch c := ctrl.(type) {
	case types.BaseVirtualSCSIController:
		bus = fmt.Sprintf("scsi%d", c.GetVirtualSCSIController().BusNumber)
	case types.BaseVirtualSATAController:
		bus = fmt.Sprintf("sata%d", c.GetVirtualSATAController().BusNumber)
	case *types.VirtualIDEController:
		bus = fmt.Sprintf("ide%d", c.BusNumber)
	case *types.VirtualNVMEController:
		bus = fmt.Sprintf("nvme%d", c.BusNumber)
	}
	return fmt.Sprintf("%s:%d", bus, unit)
}

// diskFileName is the local file name of a backed-up disk, VCB style:
// "scsi0-0-name.vmdk".
func diskFileName(d Disk) string {
	slot := d.Slot
	out := make([]byte, 0, len(slot))
	for i := 0; i < len(slot); i++ {
		if slot[i] == ':' {
			out = append(out, '-')
		} else {
			out = append(out, slot[i])
		}
	}
	var p object.DatastorePath
	base := "disk.vmdk"
	if p.FromString(d.File) && p.Path != "" {
		base = path.Base(p.Path)
	}
	return string(out) + "-" + base
}
