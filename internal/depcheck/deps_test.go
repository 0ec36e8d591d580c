package depcheck

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/bulletproof-labs/wsvcb/internal/testenv"
)

// forbidden lists, per core package, module path prefixes it must never
// depend on (directly or transitively).
var forbidden = map[string][]string{
	"./tcpwin": {"github.com/vmware/govmomi", "github.com/diskfs", "github.com/prometheus", "github.com/bulletproof-labs/wsvcb/sysctl", "github.com/bulletproof-labs/wsvcb/vcb"},
	"./sysctl": {"github.com/google/gopacket", "github.com/vmware/govmomi", "github.com/bulletproof-labs/wsvcb/tcpwin", "github.com/bulletproof-labs/wsvcb/vcb"},
	"./vcb":    {"github.com/google/gopacket", "github.com/bulletproof-labs/wsvcb/tcpwin", "github.com/bulletproof-labs/wsvcb/sysctl"},
}

func TestCorePackagesStayIndependent(t *testing.T) {
	goTool := testenv.RequireTool(t, "go")
	root := testenv.ModuleRoot(t)
	for pkg, bad := range forbidden {
		cmd := exec.Command(goTool, "list", "-deps", pkg)
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, b := range bad {
				if strings.HasPrefix(dep, b) {
					t.Errorf("%s depends on %s (forbidden prefix %s)", pkg, dep, b)
				}
			}
		}
	}
}
