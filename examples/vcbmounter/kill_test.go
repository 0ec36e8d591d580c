package main

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/bulletproof-labs/wsvcb/vcb/vcbtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// buildVcbmounter builds this command into a temporary directory.
func buildVcbmounter(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "vcbmounter")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// vcbSnapshots returns the names of the VM's snapshots whose description
// is vcb's.
func vcbSnapshots(t *testing.T, ctx context.Context, vm *object.VirtualMachine) []string {
	t.Helper()
	var m mo.VirtualMachine
	require.NoError(t, vm.Properties(ctx, vm.Reference(), []string{"snapshot"}, &m))
	var names []string
	var walk func([]types.VirtualMachineSnapshotTree)
	walk = func(ts []types.VirtualMachineSnapshotTree) {
		for _, s := range ts {
			if strings.HasPrefix(s.Description, "vcb backup") {
				names = append(names, s.Name)
			}
			walk(s.ChildSnapshotList)
		}
	}
	if m.Snapshot != nil {
		walk(m.Snapshot.RootSnapshotList)
	}
	return names
}

// TestKilledBackupsLeaveNoSnapshots SIGKILLs a real vcbmounter process in
// the middle of a backup (after its snapshot is taken: its -post hook
// signals and waits) three times, checks that a concurrent backup of the
// VM is refused with exit status 75 while one runs, and that the next
// backup succeeds and leaves no vcb snapshot.
func TestKilledBackupsLeaveNoSnapshots(t *testing.T) {
	ctx := context.Background()
	bin := buildVcbmounter(t)
	restore := vcbtest.Quiet()
	defer restore()
	sim, err := vcbtest.Start()
	require.NoError(t, err)
	defer sim.Close()
	u := *sim.URL
	u.User = url.UserPassword(sim.Username, sim.Password)
	gc, err := govmomi.NewClient(ctx, &u, true)
	require.NoError(t, err)
	vm, err := vcbtest.CreateVM(ctx, gc.Client, vcbtest.VMSpec{Name: "killme", DiskSizes: []int64{4 << 20}, Seed: 3, PowerOn: true, Direct: true})
	require.NoError(t, err)

	work := t.TempDir()
	// The hook tells through a FIFO that it runs (no polling).
	mark := filepath.Join(work, "snapshot-taken")
	require.NoError(t, syscall.Mkfifo(mark, 0o600))
	hook := filepath.Join(work, "post-thaw.sh")
	require.NoError(t, os.WriteFile(hook, []byte("#!/bin/sh\necho taken > \"$VCB_TEST_MARK\"\nexec sleep 600\n"), 0o755))
	env := append(os.Environ(),
		"GOVC_URL="+sim.URL.String(), "GOVC_USERNAME="+sim.Username, "GOVC_PASSWORD="+sim.Password,
		"GOVC_TLS_THUMBPRINT="+sim.Thumbprint, "GOVC_INSECURE=", "VCB_TEST_MARK="+mark)
	backups := filepath.Join(work, "backups")
	command := func(dir string, extra ...string) *exec.Cmd {
		args := append([]string{"-a", "name:killme", "-r", filepath.Join(backups, dir), "-q"}, extra...)
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		return cmd
	}

	for i := range 3 {
		cmd := command("killed", "-post", hook)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		pid := cmd.Process.Pid
		// Wait for the hook's mark: the snapshot exists, the backup waits.
		waitErr := make(chan error, 1)
		go func() { waitErr <- cmd.Wait() }()
		marked := make(chan error, 1)
		go func() {
			b, err := os.ReadFile(mark) // returns once the hook wrote and closed
			if err == nil && string(b) != "taken\n" {
				err = errors.New("hook wrote " + string(b))
			}
			marked <- err
		}()
		select {
		case err := <-waitErr:
			t.Fatalf("round %d: vcbmounter ended before its hook ran: %v\n%s", i, err, stderr.String())
		case err := <-marked:
			require.NoError(t, err)
		}
		if i == 0 {
			// A second backup of the VM while this one runs is refused.
			second := command("second")
			out, err := second.CombinedOutput()
			var ee *exec.ExitError
			require.True(t, errors.As(err, &ee), "second backup: %v\n%s", err, out)
			assert.Equal(t, 75, ee.ExitCode(), "%s", out)
			assert.Contains(t, string(out), "another backup of this VM is running")
		}
		// SIGKILL the backup and its hook (its own process group).
		require.NoError(t, syscall.Kill(-pid, syscall.SIGKILL))
		err := <-waitErr
		require.Error(t, err)
		assert.Len(t, vcbSnapshots(t, ctx, vm), 1, "round %d: the killed backup's snapshot stays (the earlier one is removed)", i)
		if i > 0 {
			assert.Contains(t, stderr.String(), "left by an earlier backup", "round %d", i)
		}
		_ = os.RemoveAll(filepath.Join(backups, "killed"))
	}

	cmd := command("ok")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "removed snapshot")
	assert.Contains(t, string(out), "backed up killme")
	assert.Empty(t, vcbSnapshots(t, ctx, vm), "vcb snapshots left after a successful backup")
	ents, err := os.ReadDir(backups)
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{"ok"}, names, "only the good backup (no partial, no lock file) remains")
}
