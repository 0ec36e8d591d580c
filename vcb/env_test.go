package vcb_test

import (
	"context"
	"os"
	"testing"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/bulletproof-labs/wsvcb/vcb"
	"github.com/bulletproof-labs/wsvcb/vcb/vcbtest"
)

type env struct {
	sim *vcbtest.Sim
	c   *vcb.Client
	cfg vcb.Config
}

func newEnv(t testing.TB) *env {
	t.Helper()
	sim, err := vcbtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	cfg := vcb.Config{URL: sim.URL.String(), Username: sim.Username, Password: sim.Password, Thumbprint: sim.Thumbprint}
	c, err := vcb.Dial(context.Background(), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &env{sim: sim, c: c, cfg: cfg}
}

func assertNoSnapshots(t *testing.T, e *env, moref string) {
	t.Helper()
	var vm mo.VirtualMachine
	ref := types.ManagedObjectReference{Type: "VirtualMachine", Value: moref}
	if err := property.DefaultCollector(e.c.Vim()).RetrieveOne(context.Background(), ref, []string{"snapshot"}, &vm); err != nil {
		t.Fatal(err)
	}
	if vm.Snapshot != nil && len(vm.Snapshot.RootSnapshotList) > 0 {
		t.Fatalf("VM %s still has snapshots: %+v", moref, vm.Snapshot.RootSnapshotList)
	}
}

func (e *env) findObject(ctx context.Context, moref string) (*object.VirtualMachine, error) {
	return object.NewVirtualMachine(e.c.Vim(), types.ManagedObjectReference{Type: "VirtualMachine", Value: moref}), nil
}

func mkdir(p string) error { return os.MkdirAll(p, 0o755) }

func writeFile(t testing.TB, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func fileSum(t testing.TB, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return sum(f)
}
