package vcb_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/bulletproof-labs/wsvcb/vcb"
	"github.com/bulletproof-labs/wsvcb/vcb/vcbtest"
)

// withSim runs f against an in-process simulator holding a powered-on VM
// "web01" with two disks of real bytes.
func withSim(f func(ctx context.Context, c *vcb.Client)) {
	defer vcbtest.Quiet()()
	sim, err := vcbtest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer sim.Close()
	ctx := context.Background()
	c, err := vcb.Dial(ctx, &vcb.Config{URL: sim.URL.String(), Username: sim.Username, Password: sim.Password, Thumbprint: sim.Thumbprint})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if _, err := vcbtest.CreateVM(ctx, c.Vim(), vcbtest.VMSpec{Name: "web01", DiskSizes: []int64{2 << 20, 1 << 20}, Seed: 1, PowerOn: true}); err != nil {
		log.Fatal(err)
	}
	f(ctx, c)
}

func ExampleParseSelector() {
	for _, s := range []string{"any:", "name:web01", "moref:vm-42", "powerstate:off", "color:red"} {
		sel, err := vcb.ParseSelector(s)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Printf("%s -> kind %s value %q\n", s, sel.Kind, sel.Value)
	}
	// Output:
	// any: -> kind any value ""
	// name:web01 -> kind name value "web01"
	// moref:vm-42 -> kind moref value "vm-42"
	// powerstate:off -> kind powerstate value "poweredOff"
	// error: vcb: select: invalid selector: unknown kind "color"
}

func ExampleClient_List() {
	withSim(func(ctx context.Context, c *vcb.Client) {
		sel, _ := vcb.ParseSelector("name:web01")
		vms, err := c.List(ctx, sel)
		if err != nil {
			log.Fatal(err)
		}
		for _, vm := range vms {
			fmt.Println(vm.Name, vm.PowerState, vm.Datastores)
			for _, d := range vm.Disks {
				fmt.Println(" ", d.Slot, d.File, d.CapacityBytes)
			}
		}
	})
	// Output:
	// web01 poweredOn [LocalDS_0]
	//   scsi0:0 [LocalDS_0] web01/web01.vmdk 2097152
	//   scsi0:1 [LocalDS_0] web01/web01_1.vmdk 1048576
}

func ExampleClient_Backup() {
	withSim(func(ctx context.Context, c *vcb.Client) {
		sel, _ := vcb.ParseSelector("name:web01")
		vm, err := c.Find(ctx, sel)
		if err != nil {
			log.Fatal(err)
		}
		tmp, _ := os.MkdirTemp("", "vcb-example-")
		defer os.RemoveAll(tmp)
		m, err := c.Backup(ctx, vm, filepath.Join(tmp, "web01"), nil)
		if err != nil {
			log.Fatal(err)
		}
		for _, f := range m.Files {
			if f.Kind == vcb.KindDisk {
				fmt.Println(f.Kind, f.Name, f.Size, f.Slot)
			} else {
				fmt.Println(f.Kind, f.Name)
			}
		}
		if _, err := vcb.Verify(filepath.Join(tmp, "web01")); err != nil {
			log.Fatal(err)
		}
		fmt.Println("verified")
	})
	// Output:
	// disk scsi0-0-web01.vmdk 2097152 scsi0:0
	// disk scsi0-1-web01_1.vmdk 1048576 scsi0:1
	// vmx web01.vmx
	// nvram web01.nvram
	// config config.json
	// catalog catalog
	// verified
}

func ExampleClient_Restore() {
	withSim(func(ctx context.Context, c *vcb.Client) {
		sel, _ := vcb.ParseSelector("name:web01")
		vm, _ := c.Find(ctx, sel)
		tmp, _ := os.MkdirTemp("", "vcb-example-")
		defer os.RemoveAll(tmp)
		dir := filepath.Join(tmp, "web01")
		if _, err := c.Backup(ctx, vm, dir, &vcb.BackupOptions{Compression: vcb.CompressionZstd}); err != nil {
			log.Fatal(err)
		}
		res, err := c.Restore(ctx, dir, &vcb.RestoreOptions{Name: "web01-copy"})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(res.VM.Name, len(res.VM.Disks), "disks, verified:", res.Verified)
		for _, f := range res.Files {
			fmt.Println(f)
		}
	})
	// Output:
	// web01-copy 2 disks, verified: true
	// [LocalDS_0] web01-copy/web01-copy.vmdk
	// [LocalDS_0] web01-copy/web01-copy_1.vmdk
	// [LocalDS_0] web01-copy/web01-copy.nvram
}

func ExampleParseCatalog() {
	cat, err := vcb.ParseCatalog(strings.NewReader("display_name= \"web01\"\ndatastore= LocalDS_0\n"))
	if err != nil {
		log.Fatal(err)
	}
	cat.Set(vcb.CatDisplayName, "web01 copy")
	cat.Set(vcb.CatFolder, "/DC0/vm/restored")
	_, _ = cat.WriteTo(os.Stdout)
	// Output:
	// display_name= "web01 copy"
	// datastore= LocalDS_0
	// folder= /DC0/vm/restored
}

func ExampleDial() {
	defer vcbtest.Quiet()()
	sim, err := vcbtest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer sim.Close()
	// Normally: GOVC_URL, GOVC_USERNAME and GOVC_PASSWORD in the environment
	// and vcb.Dial(ctx, nil).
	c, err := vcb.Dial(context.Background(), &vcb.Config{
		URL:        sim.URL.String(),
		Username:   sim.Username,
		Password:   sim.Password,
		Thumbprint: sim.Thumbprint, // pin the self-signed certificate
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	fmt.Println("datacenter:", c.Datacenter().Name())
	// Output:
	// datacenter: DC0
}
