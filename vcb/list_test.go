package vcb_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/bulletproof-labs/wsvcb/vcb"
	"github.com/bulletproof-labs/wsvcb/vcb/vcbtest"
)

func TestParseSelector(t *testing.T) {
	good := map[string]vcb.Selector{
		"any:":                      {Kind: vcb.SelectAny},
		"name:web 01":               {Kind: vcb.SelectName, Value: "web 01"},
		"ipaddr:10.0.0.5":           {Kind: vcb.SelectIPAddr, Value: "10.0.0.5"},
		"ipaddr:fe80::1":            {Kind: vcb.SelectIPAddr, Value: "fe80::1"},
		"uuid:4211-abc":             {Kind: vcb.SelectUUID, Value: "4211-abc"},
		"moref:vm-42":               {Kind: vcb.SelectMoRef, Value: "vm-42"},
		"moref:VirtualMachine:vm-7": {Kind: vcb.SelectMoRef, Value: "vm-7"},
		"powerstate:on":             {Kind: vcb.SelectPowerState, Value: "poweredOn"},
		"PowerState:poweredOff":     {Kind: vcb.SelectPowerState, Value: "poweredOff"},
	}
	for in, want := range good {
		got, err := vcb.ParseSelector(in)
		if err != nil || got != want {
			t.Errorf("ParseSelector(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "web01", "any:x", "name:", "ipaddr:10.0.0", "uuid:", "moref:", "moref:a b", "powerstate:maybe", "color:red"} {
		if _, err := vcb.ParseSelector(in); !errors.Is(err, vcb.ErrSelector) {
			t.Errorf("ParseSelector(%q) err = %v, want ErrSelector", in, err)
		}
	}
}

func FuzzParseSelector(f *testing.F) {
	for _, s := range []string{"any:", "name:x", "ipaddr:1.2.3.4", "uuid:u", "moref:vm-1", "powerstate:off", ":", "::::", "ipaddr:[::1]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sel, err := vcb.ParseSelector(s)
		if err != nil {
			if !errors.Is(err, vcb.ErrSelector) {
				t.Fatalf("error %v is not ErrSelector", err)
			}
			return
		}
		again, err := vcb.ParseSelector(sel.String())
		if err != nil || again != sel {
			t.Fatalf("round trip %q -> %q -> %+v, %v", s, sel, again, err)
		}
		sel.Match(&vcb.VMInfo{IPs: []string{"garbage", "10.0.0.1"}})
	})
}

func TestList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	if _, err := vcbtest.CreateVM(ctx, e.c.Vim(), vcbtest.VMSpec{Name: "lst01", DiskSizes: []int64{1 << 20, 2 << 20}, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	all, err := e.c.List(ctx, mustSel(t, "any:"))
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 5 {
		t.Fatalf("any: found %d VMs, want the 4 simulator VMs and lst01", len(all))
	}
	var mine vcb.VMInfo
	for _, v := range all {
		if v.Name == "lst01" {
			mine = v
		}
	}
	if mine.MoRef == "" || mine.BIOSUUID == "" || mine.InstanceUUID == "" || mine.Host == "" || mine.PowerState != "poweredOff" {
		t.Fatalf("lst01 info incomplete: %+v", mine)
	}
	if len(mine.Datastores) != 1 || mine.Datastores[0] != "LocalDS_0" {
		t.Errorf("datastores %v", mine.Datastores)
	}
	if len(mine.Disks) != 2 || mine.Disks[0].Slot != "scsi0:0" || mine.Disks[1].Slot != "scsi0:1" ||
		mine.Disks[1].CapacityBytes != 2<<20 || mine.Disks[0].File != "[LocalDS_0] lst01/lst01.vmdk" {
		t.Errorf("disks %+v", mine.Disks)
	}
	for _, s := range []string{"name:lst01", "moref:" + mine.MoRef, "uuid:" + mine.BIOSUUID, "uuid:" + strings.ToUpper(mine.InstanceUUID)} {
		got, err := e.c.Find(ctx, mustSel(t, s))
		if err != nil || got.MoRef != mine.MoRef {
			t.Errorf("Find(%s) = %s, %v", s, got.MoRef, err)
		}
	}
	off, err := e.c.List(ctx, mustSel(t, "powerstate:off"))
	if err != nil || len(off) != 1 || off[0].Name != "lst01" {
		t.Errorf("powerstate:off = %v, %v", off, err)
	}
	on, _ := e.c.List(ctx, mustSel(t, "powerstate:on"))
	if len(on) != len(all)-1 {
		t.Errorf("powerstate:on found %d, want %d", len(on), len(all)-1)
	}
	for _, v := range all {
		for _, ip := range v.IPs {
			got, err := e.c.List(ctx, mustSel(t, "ipaddr:"+ip))
			if err != nil || len(got) == 0 {
				t.Errorf("ipaddr:%s found nothing: %v", ip, err)
			}
		}
	}
	if _, err := e.c.Find(ctx, mustSel(t, "name:nope")); !errors.Is(err, vcb.ErrNotFound) {
		t.Errorf("name:nope: %v", err)
	}
	if _, err := e.c.Find(ctx, mustSel(t, "any:")); !errors.Is(err, vcb.ErrAmbiguous) {
		t.Errorf("Find(any:): %v", err)
	}
	if got, err := e.c.List(ctx, mustSel(t, "moref:vm-99999")); err != nil || len(got) != 0 {
		t.Errorf("unknown moref: %v, %v", got, err)
	}
}
