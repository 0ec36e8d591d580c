// Package vcbtest is a test double for programs built on package vcb, as
// govmomi's simulator is for govmomi: Start runs an in-process vSphere
// simulator (vcsim) on loopback with real credentials, CreateVM creates VMs
// whose disks hold real, deterministic bytes in the layout real hosts use
// (a descriptor plus a -flat extent per disk), and EnableCBT answers
// QueryChangedDiskAreas so incremental backups can be tested. A backup and
// restore made against it can be checked byte for byte. The project's own
// tests, godoc examples, CLIs (-sim) and demo use it.
package vcbtest

import (
	"context"
	crand "crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// Sim is a running simulator with one datacenter (DC0), one cluster, hosts,
// a local datastore (LocalDS_0) and the default simulator VMs.
type Sim struct {
	Model  *simulator.Model
	Server *simulator.Server
	// URL is the SDK URL without credentials; Username and Password log in.
	URL      *url.URL
	Username string
	Password string
	// Thumbprint is the SHA-1 fingerprint of the server's certificate.
	Thumbprint string
}

// Start starts a vCenter-like simulator serving HTTPS on loopback.
//
// Creating simulators touches package-level state of govmomi's simulator,
// so Start serializes creation; running simulators are independent.
func Start() (*Sim, error) {
	startMu.Lock()
	defer startMu.Unlock()
	m := simulator.VPX()
	if err := m.Create(); err != nil {
		return nil, fmt.Errorf("vcbtest: %w", err)
	}
	m.Service.TLS = new(tls.Config)
	m.Service.RegisterEndpoints = true
	// Real credentials, so that a wrong password is refused.
	var pw [12]byte
	_, _ = crand.Read(pw[:])
	m.Service.Listen = &url.URL{Host: "127.0.0.1:0", User: url.UserPassword("administrator@vsphere.local", hex.EncodeToString(pw[:]))}
	s := m.Service.NewServer()
	u := *s.URL
	user := u.User.Username()
	pass, _ := u.User.Password()
	u.User = nil
	return &Sim{
		Model:      m,
		Server:     s,
		URL:        &u,
		Username:   user,
		Password:   pass,
		Thumbprint: s.CertificateInfo().ThumbprintSHA1,
	}, nil
}

var startMu sync.Mutex

// Close stops the server and removes the simulator's files.
func (s *Sim) Close() {
	s.Server.Close()
	s.Model.Remove()
}

// Service returns the simulator service (for fault injection rules).
func (s *Sim) Service() *simulator.Service { return s.Model.Service }

// VMSpec describes a VM to create with real disk content.
type VMSpec struct {
	Name      string
	DiskSizes []int64 // bytes, one disk per entry (multiples of 1 KiB)
	Seed      uint64  // content seed; disk i uses Seed+i
	PowerOn   bool
	Datastore string // default LocalDS_0
	// Direct writes the disk files straight into the simulator's datastore
	// directory instead of uploading them over HTTP (fast for large disks).
	Direct bool
}

// DiskPath returns the datastore-relative path of disk i of a VM.
func DiskPath(name string, i int) string {
	if i == 0 {
		return fmt.Sprintf("%s/%s.vmdk", name, name)
	}
	return fmt.Sprintf("%s/%s_%d.vmdk", name, name, i)
}

// CreateVM creates a VM with an LSI Logic SCSI controller and one disk per
// DiskSizes entry, each disk file holding DiskContent(Seed+i, size). The
// disk files are written first and attached as existing disks.
func CreateVM(ctx context.Context, c *vim25.Client, spec VMSpec) (*object.VirtualMachine, error) {
	if spec.Datastore == "" {
		spec.Datastore = "LocalDS_0"
	}
	finder := find.NewFinder(c, false)
	dc, err := finder.DefaultDatacenter(ctx)
	if err != nil {
		return nil, err
	}
	finder.SetDatacenter(dc)
	folders, err := dc.Folders(ctx)
	if err != nil {
		return nil, err
	}
	pool, err := DefaultPool(ctx, finder)
	if err != nil {
		return nil, err
	}
	ds, err := finder.Datastore(ctx, spec.Datastore)
	if err != nil {
		return nil, err
	}
	var dsmo mo.Datastore
	if err := ds.Properties(ctx, ds.Reference(), []string{"info"}, &dsmo); err != nil {
		return nil, err
	}
	local := dsmo.Info.GetDatastoreInfo().Url

	devices := []types.BaseVirtualDeviceConfigSpec{
		&types.VirtualDeviceConfigSpec{
			Operation: types.VirtualDeviceConfigSpecOperationAdd,
			Device: &types.VirtualLsiLogicController{VirtualSCSIController: types.VirtualSCSIController{
				SharedBus: types.VirtualSCSISharingNoSharing,
				VirtualController: types.VirtualController{
					BusNumber:     0,
					VirtualDevice: types.VirtualDevice{Key: -100},
				},
			}},
		},
	}
	for i, size := range spec.DiskSizes {
		rel := DiskPath(spec.Name, i)
		content := DiskContent(spec.Seed+uint64(i), size)
		if spec.Direct && local != "" {
			if err := writeLocal(filepath.Join(local, filepath.FromSlash(rel)), content); err != nil {
				return nil, err
			}
		} else if err := ds.Upload(ctx, content, rel, nil); err != nil {
			return nil, fmt.Errorf("vcbtest: upload %s: %w", rel, err)
		}
		unit := int32(i)
		if unit >= 7 {
			unit++ // unit 7 is the controller's
		}
		devices = append(devices, &types.VirtualDeviceConfigSpec{
			Operation: types.VirtualDeviceConfigSpecOperationAdd,
			Device: &types.VirtualDisk{
				VirtualDevice: types.VirtualDevice{
					Key:           int32(-200 - i),
					ControllerKey: -100,
					UnitNumber:    &unit,
					Backing: &types.VirtualDiskFlatVer2BackingInfo{
						DiskMode:        string(types.VirtualDiskModePersistent),
						ThinProvisioned: types.NewBool(true),
						VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{
							FileName: ds.Path(rel),
						},
					},
				},
				CapacityInBytes: size,
				CapacityInKB:    size / 1024,
			},
		})
	}
	cs := types.VirtualMachineConfigSpec{
		Name:         spec.Name,
		GuestId:      string(types.VirtualMachineGuestOsIdentifierOtherLinux64Guest),
		NumCPUs:      1,
		MemoryMB:     128,
		Files:        &types.VirtualMachineFileInfo{VmPathName: ds.Path(spec.Name + "/" + spec.Name + ".vmx")},
		DeviceChange: devices,
	}
	task, err := folders.VmFolder.CreateVM(ctx, cs, pool, nil)
	if err != nil {
		return nil, err
	}
	res, err := task.WaitForResult(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("vcbtest: CreateVM %s: %w", spec.Name, err)
	}
	vm := object.NewVirtualMachine(c, res.Result.(types.ManagedObjectReference))
	if spec.PowerOn {
		t, err := vm.PowerOn(ctx)
		if err != nil {
			return nil, err
		}
		if err := t.Wait(ctx); err != nil {
			return nil, err
		}
	}
	return vm, nil
}

func writeLocal(p string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	if _, err := io.CopyBuffer(f, r, make([]byte, 1<<20)); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// DiskContent returns size deterministic bytes for seed: 64 KiB blocks of
// ChaCha8 noise, every fourth block a readable text block (so compression
// has something to gain but the data is not trivial).
func DiskContent(seed uint64, size int64) io.Reader {
	var key [32]byte
	for i := range 8 {
		key[i] = byte(seed >> (8 * i))
	}
	return io.LimitReader(&content{rng: rand.NewChaCha8(key), seed: seed}, size)
}

const block = 64 << 10

type content struct {
	rng   *rand.ChaCha8
	seed  uint64
	off   int64
	buf   []byte
	bufAt int
}

func (c *content) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if c.bufAt >= len(c.buf) {
			c.fill()
		}
		k := copy(p[n:], c.buf[c.bufAt:])
		c.bufAt += k
		n += k
	}
	return n, nil
}

func (c *content) fill() {
	if c.buf == nil {
		c.buf = make([]byte, block)
	}
	idx := c.off / block
	if idx%4 == 3 {
		line := fmt.Sprintf("vcbtest seed %d block %d: the quick brown fox jumps over the lazy dog\n", c.seed, idx)
		s := strings.Repeat(line, block/len(line)+1)
		copy(c.buf, s)
	} else {
		_, _ = c.rng.Read(c.buf)
	}
	c.off += block
	c.bufAt = 0
}

// DefaultPool returns the resource pool of the first cluster (the
// simulator has several hosts, so there is no single default pool).
func DefaultPool(ctx context.Context, finder *find.Finder) (*object.ResourcePool, error) {
	if cl, err := finder.ClusterComputeResourceList(ctx, "*"); err == nil && len(cl) > 0 {
		return cl[0].ResourcePool(ctx)
	}
	return finder.DefaultResourcePool(ctx)
}

// Quiet discards the standard logger's output (where the simulator and
// net/http log TLS retries, NFC lease lookups and their own quirks) and
// returns a function restoring it. For the demo and -sim command lines.
func Quiet() (restore func()) {
	w := log.Writer()
	log.SetOutput(io.Discard)
	return func() { log.SetOutput(w) }
}
