package vcb_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulletproof-labs/wsvcb/internal/testenv"
	"github.com/bulletproof-labs/wsvcb/vcb"
	"github.com/bulletproof-labs/wsvcb/vcb/vcbtest"
)

// govc runs govc (v0.56.0, built from the same govmomi module) against
// the simulator.
func govc(t *testing.T, bin string, e *env, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	u := *e.sim.URL
	cmd.Env = []string{
		"GOVC_URL=" + u.String(),
		"GOVC_USERNAME=" + e.sim.Username,
		"GOVC_PASSWORD=" + e.sim.Password,
		"GOVC_TLS_KNOWN_HOSTS=" + knownHosts(t, e),
		"HOME=" + t.TempDir(),
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("govc %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// knownHosts pins the simulator's certificate for govc, as
// GOVC_TLS_KNOWN_HOSTS ("host thumbprint" lines).
func knownHosts(t *testing.T, e *env) string {
	p := filepath.Join(t.TempDir(), "known_hosts")
	writeFile(t, p, e.sim.URL.Host+" "+e.sim.Thumbprint+"\n")
	return p
}

// TestGovcCrossCheck restores a backup as a copy and checks with govc that
// the copy exists with the expected devices and disk bytes, and that the
// source VM has no snapshot left.
func TestGovcCrossCheck(t *testing.T) {
	t.Parallel()
	bin := testenv.RequireTool(t, "govc")
	e := newEnv(t)
	ctx := context.Background()
	sizes := []int64{3 << 20, 1 << 20}
	vm, dir := backupOne(t, e, "gv01", sizes, 77, nil)
	res, err := e.c.Restore(ctx, dir, &vcb.RestoreOptions{Name: "gv01-copy"})
	if err != nil {
		t.Fatal(err)
	}

	if out := govc(t, bin, e, "snapshot.tree", "-vm", vm.Name); strings.TrimSpace(out) != "" {
		t.Errorf("govc snapshot.tree -vm %s: %q, want no snapshots", vm.Name, out)
	}
	info := govc(t, bin, e, "vm.info", "-r", "gv01-copy")
	if !strings.Contains(info, "Name:") || !strings.Contains(info, "gv01-copy") {
		t.Errorf("govc vm.info: %s", info)
	}
	devs := govc(t, bin, e, "device.ls", "-vm", "gv01-copy")
	if n := strings.Count(devs, "VirtualDisk"); n != 2 {
		t.Errorf("govc device.ls: %d VirtualDisk, want 2:\n%s", n, devs)
	}
	if !strings.Contains(devs, "VirtualLsiLogicController") {
		t.Errorf("govc device.ls: no LSI Logic controller:\n%s", devs)
	}
	for i, size := range sizes {
		out := filepath.Join(t.TempDir(), "disk")
		govc(t, bin, e, "datastore.download", "-ds", "LocalDS_0", vcbtest.DiskPath("gv01-copy", i), out)
		if got, want := fileSum(t, out), sum(vcbtest.DiskContent(77+uint64(i), size)); got != want {
			t.Errorf("govc datastore.download of restored disk %d: sha256 %s, want %s", i, got, want)
		}
	}
	t.Logf("restored %s; govc device.ls:\n%s", res.VM.MoRef, devs)
}
