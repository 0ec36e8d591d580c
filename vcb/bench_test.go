package vcb_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bulletproof-labs/wsvcb/internal/vcbsim"
	"github.com/bulletproof-labs/wsvcb/vcb"
)

// resetPeakRSS clears the kernel's peak-RSS mark of this process
// (VmHWM), so that each measurement starts from the current RSS.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS returns VmHWM of this process in bytes (0 when unknown).
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkBackup backs up a VM with one disk of real bytes (1 GiB, and
// 256 MiB to show that memory does not grow with the disk) from the
// in-process simulator, next to `govc datastore.download` of the same disk
// file from the same simulator (vcsim has no ExportVm, so govc cannot
// export the VM itself). MB/s is disk bytes per second; peak-RSS-MB is the
// process's VmHWM during the run (for vcb it includes the in-process
// simulator serving the disk; for govc it is the govc process alone).
func BenchmarkBackup(b *testing.B) {
	if testing.Short() {
		b.Skip("writes 1 GiB disks; not in -short")
	}
	for _, size := range []int64{256 << 20, 1 << 30} {
		e := newEnv(b)
		ctx := context.Background()
		name := fmt.Sprintf("bench%d", size>>20)
		if _, err := vcbsim.CreateVM(ctx, e.c.Vim(), vcbsim.VMSpec{Name: name, DiskSizes: []int64{size}, Seed: 1, Direct: true}); err != nil {
			b.Fatal(err)
		}
		vm, err := e.c.Find(ctx, vcb.Selector{Kind: vcb.SelectName, Value: name})
		if err != nil {
			b.Fatal(err)
		}
		label := fmt.Sprintf("%dMiB", size>>20)
		for _, comp := range []string{"", vcb.CompressionZstd} {
			b.Run("vcb/"+label+"/compression="+compressionLabel(comp), func(b *testing.B) {
				b.SetBytes(size)
				var peak int64
				var elapsed time.Duration
				for i := 0; i < b.N; i++ {
					dir := filepath.Join(b.TempDir(), fmt.Sprint(i))
					resetPeakRSS()
					start := time.Now()
					if _, err := e.c.Backup(ctx, vm, dir, &vcb.BackupOptions{Compression: comp}); err != nil {
						b.Fatal(err)
					}
					elapsed += time.Since(start)
					peak = max(peak, peakRSS())
					b.StopTimer()
					_ = os.RemoveAll(dir)
					b.StartTimer()
				}
				b.ReportMetric(float64(size)*float64(b.N)/1e6/elapsed.Seconds(), "MB/s")
				b.ReportMetric(float64(peak)/1e6, "peak-RSS-MB")
			})
		}
		b.Run("govc-datastore.download/"+label, func(b *testing.B) {
			bin, err := exec.LookPath("govc")
			if err != nil {
				b.Skip("govc not installed")
			}
			b.SetBytes(size)
			var peak int64
			var elapsed time.Duration
			kh := filepath.Join(b.TempDir(), "known_hosts")
			writeFile(b, kh, e.sim.URL.Host+" "+e.sim.Thumbprint+"\n")
			for i := 0; i < b.N; i++ {
				out := filepath.Join(b.TempDir(), "disk")
				cmd := exec.Command(bin, "datastore.download", "-ds", "LocalDS_0", vcbsim.DiskPath(name, 0), out)
				cmd.Env = []string{"GOVC_URL=" + e.sim.URL.String(), "GOVC_USERNAME=" + e.sim.Username,
					"GOVC_PASSWORD=" + e.sim.Password, "GOVC_TLS_KNOWN_HOSTS=" + kh, "HOME=" + b.TempDir()}
				start := time.Now()
				if o, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("%v: %s", err, o)
				}
				elapsed += time.Since(start)
				if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
					peak = max(peak, ru.Maxrss<<10)
				}
				b.StopTimer()
				_ = os.Remove(out)
				b.StartTimer()
			}
			b.ReportMetric(float64(size)*float64(b.N)/1e6/elapsed.Seconds(), "MB/s")
			b.ReportMetric(float64(peak)/1e6, "peak-RSS-MB")
		})
	}
}

func compressionLabel(c string) string {
	if c == "" {
		return "none"
	}
	return c
}
