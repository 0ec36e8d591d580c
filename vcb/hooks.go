package vcb

import (
	"context"
	"fmt"
	"os"
	"os/exec"
)

// Hook runs around the snapshot: PreFreeze before it is taken, PostThaw
// right after (whether or not taking it succeeded), like VCB's
// pre-freeze-script and post-thaw-script.
type Hook func(ctx context.Context, vm VMInfo) error

// CommandHook returns a Hook running a program on the backup host with
// VCB_PHASE (pre-freeze or post-thaw), VCB_VM_NAME and VCB_VM_MOREF in
// its environment. Its combined output is included in the error when it
// fails.
func CommandHook(phase, name string, args ...string) Hook {
	return func(ctx context.Context, vm VMInfo) error {
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Env = append(os.Environ(), "VCB_PHASE="+phase, "VCB_VM_NAME="+vm.Name, "VCB_VM_MOREF="+vm.MoRef)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s %s: %w: %s", phase, name, err, clip(string(out)))
		}
		return nil
	}
}
