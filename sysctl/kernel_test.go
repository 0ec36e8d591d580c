package sysctl

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bulletproof-labs/wsvcb/internal/testenv"
)

// newNetNS creates a fresh, uniquely named network namespace with
// "ip netns add" and removes it when the test ends.
func newNetNS(t testing.TB) string {
	t.Helper()
	testenv.RequireRoot(t)
	ip := testenv.RequireTool(t, "ip")
	name := fmt.Sprintf("sysctl-%08x", rand.Uint32())
	if out, err := exec.Command(ip, "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command(ip, "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	return name
}

// nsCat reads a key inside the namespace with an independent tool.
func nsCat(t testing.TB, ns, key string) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns, "cat", "/proc/sys/"+MustParseKey(key).Path()).Output()
	if err != nil {
		t.Fatalf("ip netns exec %s cat %s: %v", ns, key, err)
	}
	return strings.TrimSuffix(string(out), "\n")
}

func openNS(t testing.TB, name string) *FS {
	t.Helper()
	fs, err := OpenNetNS(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })
	return fs
}

func hostValue(t testing.TB, key string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/" + MustParseKey(key).Path())
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(string(b), "\n")
}

func TestKernelReadBackAndIsolation(t *testing.T) {
	ns := newNetNS(t)
	keys := []string{"net.ipv4.tcp_rmem", "net.ipv4.tcp_window_scaling", "net.ipv4.tcp_wmem"}
	host := map[string]string{}
	for _, k := range keys {
		host[k] = hostValue(t, k) // read only: the host is never written
	}
	fs := openNS(t, ns)
	ctx := context.Background()
	tx, err := fs.Apply(ctx, []Setting{
		{Key: "net.ipv4.tcp_window_scaling", Value: "0"},
		{Key: "net.ipv4.tcp_rmem", Value: "4096 87380 4194304"},
		{Key: "net.ipv4.tcp_wmem", Value: "4096  16384\t1048576"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := nsCat(t, ns, "net.ipv4.tcp_rmem"); got != "4096\t87380\t4194304" {
		t.Errorf("tcp_rmem in netns = %q", got)
	}
	if got := nsCat(t, ns, "net.ipv4.tcp_window_scaling"); got != "0" {
		t.Errorf("tcp_window_scaling in netns = %q", got)
	}
	for _, k := range keys {
		if got := hostValue(t, k); got != host[k] {
			t.Errorf("host %s changed: %q -> %q", k, host[k], got)
		}
	}
	if err := tx.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	if got := nsCat(t, ns, "net.ipv4.tcp_window_scaling"); got != "1" {
		t.Errorf("after Restore tcp_window_scaling = %q", got)
	}
}

// TestKernelPartialCommit shows the kernel storing the good leading fields
// of a rejected vector write, and writeVerified undoing it.
func TestKernelPartialCommit(t *testing.T) {
	ns := newNetNS(t)
	fs := openNS(t, ns)
	k := MustParseKey("net.ipv4.tcp_rmem")
	old := nsCat(t, ns, k.String())
	var rawErr, safeErr error
	var afterRaw string
	if err := fs.run(func() {
		rawErr = fs.writeOnce(k, "8192 65536 x")
		afterRaw, _ = fs.readRaw(k)
		fs.writeOnce(k, old)
		safeErr = fs.writeVerified(k, "8192 65536 x", "8192 65536 x", old, true)
	}); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(rawErr, ErrInvalid) && Errno(rawErr) == 0 {
		t.Fatalf("raw bad write: %v", rawErr)
	}
	t.Logf("kernel after raw %q: err=%v value=%q (old %q)", "8192 65536 x", rawErr, afterRaw, old)
	if !strings.HasPrefix(afterRaw, "8192\t65536") {
		t.Logf("note: this kernel did not partially commit (value %q)", afterRaw)
	}
	var se *Error
	if !errors.As(safeErr, &se) || !errors.Is(safeErr, ErrInvalid) || se.Op != OpWrite {
		t.Fatalf("writeVerified = %v, want *Error{Op: write} wrapping ErrInvalid", safeErr)
	}
	if got := nsCat(t, ns, k.String()); got != old {
		t.Fatalf("after failed safe write tcp_rmem = %q, want restored %q", got, old)
	}
	// And through the public API the bad value never reaches the kernel.
	if _, err := fs.Set(context.Background(), k.String(), "8192 65536 x"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Set = %v", err)
	}
}

func TestKernelPermissionAndRollback(t *testing.T) {
	ns := newNetNS(t)
	fs := openNS(t, ns)
	ctx := context.Background()
	before := map[string]string{}
	for _, k := range []string{"net.ipv4.tcp_window_scaling", "net.ipv4.tcp_rmem", "net.core.rmem_max"} {
		before[k] = nsCat(t, ns, k)
	}
	hostRmemMax := hostValue(t, "net.core.rmem_max")
	// net.core.rmem_max is visible but read-only inside a netns.
	_, err := fs.Set(ctx, "net.core.rmem_max", "1048576")
	if !errors.Is(err, ErrPermission) {
		t.Fatalf("Set net.core.rmem_max in netns = %v, want ErrPermission", err)
	}
	_, err = fs.Apply(ctx, []Setting{
		{Key: "net.ipv4.tcp_window_scaling", Value: "0"},
		{Key: "net.ipv4.tcp_rmem", Value: "4096 87380 4194304"},
		{Key: "net.core.rmem_max", Value: "1048576"},
	})
	var se *Error
	if !errors.As(err, &se) || se.Key != "net.core.rmem_max" || !errors.Is(err, ErrPermission) {
		t.Fatalf("Apply = %v, want *Error for net.core.rmem_max wrapping ErrPermission", err)
	}
	for k, v := range before {
		if got := nsCat(t, ns, k); got != v {
			t.Errorf("after rollback %s = %q, want %q", k, got, v)
		}
	}
	if got := hostValue(t, "net.core.rmem_max"); got != hostRmemMax {
		t.Errorf("host net.core.rmem_max changed")
	}
}

func TestKernelScopeRefusesGlobalKeys(t *testing.T) {
	ns := newNetNS(t)
	fs := openNS(t, ns)
	for _, k := range []string{"kernel.hostname", "vm.swappiness", "fs.file-max"} {
		if _, err := fs.Read(k); !errors.Is(err, ErrNotNamespaced) {
			t.Errorf("Read(%s) = %v", k, err)
		}
		if _, err := fs.Set(context.Background(), k, "1"); !errors.Is(err, ErrNotNamespaced) {
			t.Errorf("Set(%s) = %v", k, err)
		}
	}
	if _, err := fs.Plan(context.Background(), []Setting{{Key: "kernel.*", Value: "1"}}); !errors.Is(err, ErrNotNamespaced) {
		t.Errorf("Plan(kernel.*) = %v", err)
	}
}

// TestKernelThreadSafety hammers the host and the namespace scope from many
// goroutines: host readers must never see the namespace's value.
func TestKernelThreadSafety(t *testing.T) {
	ns := newNetNS(t)
	fs := openNS(t, ns)
	host, err := NewFS("")
	if err != nil {
		t.Fatal(err)
	}
	hostVal := hostValue(t, "net.ipv4.tcp_window_scaling")
	nsVal := "0"
	if hostVal == "0" {
		nsVal = "1"
	}
	if _, err := fs.Set(context.Background(), "net.ipv4.tcp_window_scaling", nsVal); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errc := make(chan error, 64)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if v, err := host.Read("net.ipv4.tcp_window_scaling"); err != nil || v != hostVal {
					errc <- fmt.Errorf("host read %q %v", v, err)
					return
				}
				if v, err := fs.Read("net.ipv4.tcp_window_scaling"); err != nil || v != nsVal {
					errc <- fmt.Errorf("netns read %q %v", v, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if err := fs.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Read("net.ipv4.tcp_window_scaling"); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

// TestKernelProcPidRootShowsOpenersNamespace records the measurement that
// rules out /proc/PID/root/proc/sys as a way into another namespace.
func TestKernelProcPidRootShowsOpenersNamespace(t *testing.T) {
	ns := newNetNS(t)
	fs := openNS(t, ns)
	hostVal := hostValue(t, "net.ipv4.tcp_sack")
	nsVal := map[string]string{"0": "1", "1": "0"}[hostVal]
	if _, err := fs.Set(context.Background(), "net.ipv4.tcp_sack", nsVal); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", ns, "sleep", "300")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	pid := cmd.Process.Pid
	// Wait until the child has entered the namespace (ip setns()s, then
	// execs sleep).
	var want, got syscall.Stat_t
	if err := syscall.Stat("/run/netns/"+ns, &want); err != nil {
		t.Fatal(err)
	}
	// The deadline is a guard (fork, setns and exec can take a while on
	// a loaded machine), not a pace.
	for deadline := time.Now().Add(time.Minute); ; {
		if err := syscall.Stat(fmt.Sprintf("/proc/%d/ns/net", pid), &got); err == nil && got.Ino == want.Ino && got.Dev == want.Dev {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("child never entered the namespace")
		}
		time.Sleep(10 * time.Millisecond)
	}
	byPID, err := OpenNetNSPID(pid)
	if err != nil {
		t.Fatal(err)
	}
	defer byPID.Close()
	if v, _ := byPID.Read("net.ipv4.tcp_sack"); v != nsVal {
		t.Fatalf("OpenNetNSPID read %q, want the namespace's %q", v, nsVal)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/root/proc/sys/net/ipv4/tcp_sack", pid))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(b)); got != hostVal {
		t.Fatalf("/proc/PID/root/proc/sys = %q; expected the opener's (host) value %q", got, hostVal)
	}
}

// TestKernelReadBackMismatch writes a value the kernel stores in another
// spelling: the read-back differs, the old value is restored and the
// error says so. (The canonical spelling is then accepted.)
func TestKernelReadBackMismatch(t *testing.T) {
	ns := newNetNS(t)
	fs, err := OpenNetNS("/run/netns/" + ns) // by path this time
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	const key = "net.ipv4.tcp_fastopen_key"
	old := nsCat(t, ns, key)
	_, err = fs.Set(context.Background(), key, "1-2-3-4")
	var se *Error
	if !errors.Is(err, ErrMismatch) || !errors.As(err, &se) || se.Op != OpVerify {
		t.Fatalf("Set = %v, want ErrMismatch from verify", err)
	}
	if got := nsCat(t, ns, key); got != old {
		t.Fatalf("not restored: %q, want %q", got, old)
	}
	if _, err := fs.Set(context.Background(), key, "00000001-00000002-00000003-00000004"); err != nil {
		t.Fatalf("canonical spelling: %v", err)
	}
}

// TestKernelErrnoSentinels maps EIO (stable_secret before it is set) and
// EROFS (a read-only bind mount of a fake tree) to their sentinels.
func TestKernelErrnoSentinels(t *testing.T) {
	ns := newNetNS(t)
	fs := openNS(t, ns)
	if _, err := fs.Read("net.ipv6.conf.lo.stable_secret"); !errors.Is(err, ErrIO) {
		t.Errorf("stable_secret: %v, want ErrIO", err)
	}
	ro := fakeTree(t, map[string]string{"net.ipv4.tcp_sack": "1"})
	dir := ro.Root()
	if err := syscall.Mount(dir, dir, "", syscall.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT|syscall.MS_BIND|syscall.MS_RDONLY, ""); err != nil {
		t.Fatal(err)
	}
	fs2, err := NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = fs2.Set(context.Background(), "net.ipv4.tcp_sack", "0")
	var se *Error
	if !errors.Is(err, ErrReadOnlyFS) || !errors.As(err, &se) || se.Key != "net.ipv4.tcp_sack" || se.Value != "0" {
		t.Fatalf("write on a read-only tree: %v, want *Error wrapping ErrReadOnlyFS", err)
	}
}
