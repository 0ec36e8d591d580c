package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bulletproof-labs/wsvcb/internal/testenv"
)

// compatCase is one invocation run with procps-ng sysctl and with this
// command inside the same fresh network namespace, from the same state.
type compatCase struct {
	args []string
	// noRollback runs our command with SYSCTL_ROLLBACK_ON_ERROR=false, the
	// procps behaviour for multi-key writes where one key fails.
	noRollback bool
	// safer: procps leaves a partially committed value behind (the kernel
	// stores the good leading fields of a rejected vector); we must leave
	// the state untouched instead. Output and exit status still match.
	safer bool
	// fix turns procps' result into ours where we differ on purpose (see
	// the command's doc comment): procpsFixes for a read-only key, and
	// ignoredLine for a "-key" line of a file.
	fix func(*result)
}

// readOnlyMsg is our message for net.core.rmem_max inside a namespace;
// procps-ng 4.0.2 prints readOnlyProcps (a stale errno) and exits 0.
const (
	readOnlyMsg    = "sysctl: permission denied on key \"net.core.rmem_max\": read-only (mode 0444): net.core.rmem_max is not per network namespace\n"
	readOnlyProcps = "sysctl: setting key \"net.core.rmem_max\": Invalid argument\n"
)

// procpsFixes replaces procps' read-only message with ours.
func procpsFixes(r *result) { r.stderr = strings.ReplaceAll(r.stderr, readOnlyProcps, readOnlyMsg) }

// ignoredLine returns a fix for a file whose "-key" line names a missing
// key: procps reports it like any other; we add ", ignoring".
func ignoredLine(path string) func(*result) {
	return func(r *result) {
		procpsFixes(r)
		m := "sysctl: cannot stat /proc/sys/" + path + ": No such file or directory"
		r.stderr = strings.ReplaceAll(r.stderr, m+"\n", m+", ignoring\n")
	}
}

func compatCases(dir string) []compatCase {
	good, bad := filepath.Join(dir, "good.conf"), filepath.Join(dir, "bad.conf")
	c := func(args ...string) compatCase { return compatCase{args: args} }
	nr := func(args ...string) compatCase { return compatCase{args: args, noRollback: true} }
	// bad.conf has "-net.ipv4.nope = 1" and the read-only net.core.rmem_max.
	nrf := func(args ...string) compatCase {
		return compatCase{args: args, noRollback: true, fix: ignoredLine("net/ipv4/nope")}
	}
	return []compatCase{
		// Reads.
		c("net.ipv4.tcp_sack"), c("net/ipv4/tcp_sack"), c("net.ipv4.tcp_rmem", "net.ipv4.tcp_sack"),
		c("-n", "net.ipv4.tcp_rmem"), c("-b", "net.ipv4.tcp_rmem"), c("-N", "net.ipv4.tcp_rmem"),
		c("net.ipv4.tcp_sack", "-n"), c("net.ipv4.nope"), c("net.nope", "net.nope2", "net.nope3"),
		c("-e", "net.nope", "net.ipv4.tcp_sack"), c("net.ipv4.route"), c("net.ipv4.route.flush"),
		c("net.core.rmem_max"), c("net.ipv4.conf.lo.rp_filter"), c("net.ipv4.conf.lo/x.rp_filter"),
		c("net.ipv4"), c("net.core"), c("net.ipv4.neigh"),
		c("-a", "-r", `^net\.ipv4\.conf`), c("-r", "tcp_.mem", "-a"), c("-a", "-N", "-r", "^net.ipv4.tcp_.mem"),
		c("-n", "-a", "-r", "tcp_wmem"), c("--pattern=tcp_sack", "-a"), c("-a", "-r", "[unclosed"),
		c("--deprecated", "net.ipv4.neigh.lo"), c("-a", "--deprecated", "-N", "-r", "neigh"),
		// Writes.
		c("-w", "net.ipv4.tcp_sack=0"), c("net.ipv4.tcp_sack=0"), c("-q", "-w", "net.ipv4.tcp_sack=0"),
		c("-n", "-w", "net.ipv4.tcp_sack=0"), c("-N", "-w", "net.ipv4.tcp_sack=0"),
		c("-w", "net.ipv4.tcp_rmem=4096 87380 4194304"), c("-w", "net.ipv4.tcp_rmem = 4096 87380 4194304"),
		{args: []string{"-w", "net.ipv4.tcp_rmem=4096 87380 x"}, safer: true},
		c("-w", "net.ipv4.tcp_sack=abc"), c("-w", "net.ipv4.tcp_sack="), c("-w", "net.ipv4.tcp_sack"),
		c("-w", "net.nope=1"), c("-e", "-w", "net.nope=1"), {args: []string{"-w", "net.core.rmem_max=1"}, fix: func(r *result) { procpsFixes(r); r.rc = 1 }},
		c("-w", "net.ipv4.tcp_sack=0", "net.ipv4.tcp_dsack=0"), c("-w", "net.ipv4.tcp_sack=0", "-w", "net.ipv4.tcp_dsack=0"),
		c("-w", "net.ipv4.tcp_sack=0", "net.ipv4.tcp_sack=1"), c("-w", "=1"), c("-w", "net.ipv4.conf.*.rp_filter=2"),
		nr("-w", "net.ipv4.tcp_sack=0", "net.nope=1", "net.ipv4.tcp_dsack=0"),
		nr("-w", "net.ipv4.tcp_sack=0", "net.ipv4.tcp_dsack=abc"),
		// Files.
		c("-p", "/nonexistent"), c("-p", good), c("-p"+good, "-q"), c("-p", good, good),
		nrf("-p", bad), nrf("-e", "-p", bad), nrf("-q", "-p", bad), nrf("-p", bad, "/nonexistent"),
		// Usage.
		c(), c("-x"), c("-z"),
		// --help also lists this tool's own flags, after procps' text.
		{args: []string{"-h"}, fix: func(r *result) { r.stdout += extraUsage }}, c("-N", "-q", "net.ipv4.tcp_sack"), c("--bogus"), c("-r"),
	}
}

func newNetNS(t testing.TB) string {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "ip")
	name := fmt.Sprintf("sysctlcli-%08x", rand.Uint32())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	return name
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
	buildDir  string
)

// buildCLI builds this command once per test binary run.
func buildCLI(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "sysctl-cli-")
		if buildErr != nil {
			return
		}
		builtBin = filepath.Join(buildDir, "sysctl")
		if out, err := exec.Command("go", "build", "-o", builtBin, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

func TestMain(m *testing.M) {
	rc := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(rc)
}

// stateScript resets, and stateKeys reads, the namespace keys the cases touch.
const stateScript = `echo 1 > /proc/sys/net/ipv4/tcp_sack; echo 1 > /proc/sys/net/ipv4/tcp_dsack
echo 1 > /proc/sys/net/ipv4/tcp_window_scaling; echo "4096 131072 33554432" > /proc/sys/net/ipv4/tcp_rmem
for i in all default lo; do echo 0 > /proc/sys/net/ipv4/conf/$i/rp_filter; done`

const stateKeys = `cat /proc/sys/net/ipv4/tcp_sack /proc/sys/net/ipv4/tcp_dsack /proc/sys/net/ipv4/tcp_rmem /proc/sys/net/ipv4/tcp_window_scaling /proc/sys/net/ipv4/conf/*/rp_filter`

type result struct {
	stdout, stderr, state string
	rc                    int
}

func runIn(t testing.TB, ns string, env []string, bin string, args ...string) result {
	t.Helper()
	dir := t.TempDir()
	f := func(n string) string { return filepath.Join(dir, n) }
	// One "ip netns exec" per run: reset the state, run, record the state.
	script := stateScript + "\n\"$@\" >" + f("out") + " 2>" + f("err") + "; echo $? >" + f("rc") + "\n" + stateKeys + " >" + f("state")
	cmdArgs := append([]string{"netns", "exec", ns, "env"}, env...)
	cmdArgs = append(cmdArgs, "sh", "-c", script, "sh", bin)
	cmdArgs = append(cmdArgs, args...)
	if out, err := exec.Command("ip", cmdArgs...).CombinedOutput(); err != nil {
		t.Fatalf("ip netns exec: %v: %s", err, out)
	}
	read := func(n string) string {
		b, err := os.ReadFile(f(n))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	var rc int
	fmt.Sscan(read("rc"), &rc)
	// getopt prefixes its diagnostics with argv[0].
	stderr := strings.ReplaceAll(read("err"), bin+": ", "sysctl: ")
	return result{read("out"), stderr, read("state"), rc}
}

// TestCompatWithProcps compares output, exit status and resulting state
// with procps-ng sysctl, both run with "ip netns exec" in a fresh netns.
func TestCompatWithProcps(t *testing.T) {
	ns := newNetNS(t)
	procps := "/usr/sbin/sysctl"
	if _, err := os.Stat(procps); err != nil {
		procps = testenv.RequireTool(t, "sysctl")
	}
	bin := buildCLI(t)
	dir, _ := filepath.Abs("testdata")
	for _, tc := range compatCases(dir) {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			want := runIn(t, ns, nil, procps, tc.args...)
			if tc.fix != nil {
				tc.fix(&want)
			}
			env := []string{}
			if tc.noRollback {
				env = append(env, "SYSCTL_ROLLBACK_ON_ERROR=false")
			}
			got := runIn(t, ns, env, bin, tc.args...)
			if got.stdout != want.stdout {
				t.Errorf("stdout:\n got %q\nwant %q", got.stdout, want.stdout)
			}
			if got.stderr != want.stderr {
				t.Errorf("stderr:\n got %q\nwant %q", got.stderr, want.stderr)
			}
			if got.rc != want.rc {
				t.Errorf("exit status %d, procps %d", got.rc, want.rc)
			}
			if tc.safer {
				clean := runIn(t, ns, nil, "true")
				if got.state != clean.state {
					t.Errorf("state changed by a refused write: %q, want %q", got.state, clean.state)
				}
				if want.state == clean.state {
					t.Logf("note: procps left no partial commit here")
				}
			} else if got.state != want.state {
				t.Errorf("state after:\n got %q\nwant %q", got.state, want.state)
			}
		})
	}
}

// TestNetnsFlag checks that --netns from the host gives the same answers as
// running inside the namespace, and refuses global keys.
func TestNetnsFlag(t *testing.T) {
	ns := newNetNS(t)
	bin := buildCLI(t)
	inside := runIn(t, ns, nil, bin, "-w", "net.ipv4.tcp_window_scaling=0", "net.ipv4.tcp_rmem=4096 87380 4194304")
	hostWS, _ := os.ReadFile("/proc/sys/net/ipv4/tcp_window_scaling")
	out, err := exec.Command(bin, "--netns", ns, "-w", "net.ipv4.tcp_window_scaling=0", "net.ipv4.tcp_rmem=4096 87380 4194304").CombinedOutput()
	if err != nil || string(out) != inside.stdout {
		t.Fatalf("--netns write: %v %q, inside %q", err, out, inside.stdout)
	}
	st, _ := exec.Command("ip", "netns", "exec", ns, "cat", "/proc/sys/net/ipv4/tcp_window_scaling").Output()
	if string(st) != "0\n" {
		t.Fatalf("namespace value %q", st)
	}
	if now, _ := os.ReadFile("/proc/sys/net/ipv4/tcp_window_scaling"); string(now) != string(hostWS) {
		t.Fatalf("host value changed")
	}
	cmd := exec.Command(bin, "--netns", ns, "-w", "vm.wsvcb_no_such_key=1")
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "not per network namespace") {
		t.Fatalf("--netns vm.*: %v %q", err, out)
	}
}
