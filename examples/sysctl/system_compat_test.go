package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// systemScript runs "$@" in the namespace with every sysctl.d directory
// and /etc/sysctl.conf replaced by the fake ones under $FAKE, using bind
// mounts in the private mount namespace "ip netns exec" creates. It refuses
// to run the command unless every replacement is in place, so that neither
// tool can ever see (and apply) the host's real configuration.
const systemScript = `set -e
for d in /etc/sysctl.d /run/sysctl.d /usr/local/lib/sysctl.d /usr/lib/sysctl.d /lib/sysctl.d; do
	if [ -d "$d" ]; then mount --bind "$FAKE$d" "$d"; fi
done
if [ -e /etc/sysctl.conf ]; then mount --bind "$FAKE/etc/sysctl.conf" /etc/sysctl.conf; fi
for d in /etc/sysctl.d /run/sysctl.d /usr/local/lib/sysctl.d /usr/lib/sysctl.d /lib/sysctl.d; do
	if [ -d "$d" ] && [ "$(ls -A "$d")" != "$(ls -A "$FAKE$d")" ]; then echo "bind of $d failed" >&2; exit 99; fi
done
if [ -e /etc/sysctl.conf ] && ! cmp -s /etc/sysctl.conf "$FAKE/etc/sysctl.conf"; then echo "bind of sysctl.conf failed" >&2; exit 99; fi
` + stateScript + `
"$@" >"$OUT" 2>"$ERR" || echo $? >"$RC"
` + stateKeys + ` >"$STATE"`

// TestCompatSystem compares --system (directory precedence, masking by
// name and /dev/null, lexical order, /etc/sysctl.conf last) with procps.
func TestCompatSystem(t *testing.T) {
	ns := newNetNS(t)
	bin := buildCLI(t)
	fake := t.TempDir()
	w := func(p, s string) {
		p = filepath.Join(fake, p)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"etc/sysctl.d", "run/sysctl.d", "usr/local/lib/sysctl.d", "usr/lib/sysctl.d", "lib/sysctl.d"} {
		os.MkdirAll(filepath.Join(fake, d), 0o755)
	}
	// Only directories that exist on this machine can be bind-mounted;
	// put test files only there.
	exists := func(d string) bool { st, err := os.Stat("/" + d); return err == nil && st.IsDir() }
	if !exists("etc/sysctl.d") || !exists("usr/lib/sysctl.d") {
		t.Skip("needs /etc/sysctl.d and /usr/lib/sysctl.d")
	}
	w("usr/lib/sysctl.d/10-base.conf", "net.ipv4.tcp_window_scaling = 0\nnet.ipv4.tcp_rmem = 4096 87380 4194304\n")
	w("usr/lib/sysctl.d/50-masked.conf", "net.ipv4.tcp_sack = 0\n")
	w("usr/lib/sysctl.d/60-over.conf", "net.ipv4.tcp_dsack = 0\n")
	w("etc/sysctl.d/60-over.conf", "# overrides the /usr/lib one by name\nnet.ipv4.conf.*.rp_filter = 2\n-net.ipv4.conf.lo.rp_filter\n")
	w("etc/sysctl.d/README", "not a .conf file\n")
	w("etc/sysctl.d/70-bad.conf", "bad line\n-net.ipv4.nope = 1\n")
	if err := os.Symlink(os.DevNull, filepath.Join(fake, "etc/sysctl.d/50-masked.conf")); err != nil {
		t.Fatal(err)
	}
	if exists("lib/sysctl.d") {
		// /lib is often /usr/lib: keep both views identical.
		if r, _ := filepath.EvalSymlinks("/lib/sysctl.d"); r == "/usr/lib/sysctl.d" {
			os.RemoveAll(filepath.Join(fake, "lib/sysctl.d"))
			os.Symlink(filepath.Join(fake, "usr/lib/sysctl.d"), filepath.Join(fake, "lib/sysctl.d"))
		}
	}
	w("etc/sysctl.conf", "net.ipv4.tcp_window_scaling = 1\n")
	for _, args := range [][]string{{"--system"}, {"-q", "--system"}, {"--system", "net.ipv4.tcp_sack"}} {
		run := func(env []string, tool string) result {
			dir := t.TempDir()
			f := func(n string) string { return filepath.Join(dir, n) }
			os.WriteFile(f("rc"), []byte("0\n"), 0o644)
			cmdArgs := []string{"netns", "exec", ns, "env", "FAKE=" + fake, "OUT=" + f("out"), "ERR=" + f("err"), "RC=" + f("rc"), "STATE=" + f("state")}
			cmdArgs = append(cmdArgs, env...)
			cmdArgs = append(cmdArgs, "sh", "-c", systemScript, "sh", tool)
			cmdArgs = append(cmdArgs, args...)
			if out, err := exec.Command("ip", cmdArgs...).CombinedOutput(); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			rd := func(n string) string { b, _ := os.ReadFile(f(n)); return string(b) }
			return result{rd("out"), strings.ReplaceAll(rd("err"), tool+": ", "sysctl: "), rd("state"), 0}
		}
		want := run(nil, "/usr/sbin/sysctl")
		ignoredLine("net/ipv4/nope")(&want) // 70-bad.conf's "-net.ipv4.nope = 1"
		got := run([]string{"SYSCTL_ROLLBACK_ON_ERROR=false"}, bin)
		if got != want {
			t.Errorf("%v:\n got %+v\nwant %+v", args, got, want)
		}
	}
}
