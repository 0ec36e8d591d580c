package vcb_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulletproof-labs/wsvcb/vcb"
	"github.com/bulletproof-labs/wsvcb/vcb/vcbtest"
)

// resetPeakRSS clears the kernel's peak-RSS mark of this process
// (VmHWM), so that each measurement starts from the current RSS.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS returns VmHWM of this process in bytes (0 when unknown).
func peakRSS() int64 { return statusHWM(0) }

// statusHWM returns VmHWM of process pid (0: this process) in bytes.
func statusHWM(pid int) int64 {
	p := "/proc/self/status"
	if pid > 0 {
		p = "/proc/" + strconv.Itoa(pid) + "/status"
	}
	b, err := os.ReadFile(p)
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
// simulator serving the disk; for govc it is the govc process alone,
// sampled every 5 ms).
func BenchmarkBackup(b *testing.B) {
	if testing.Short() {
		b.Skip("writes 1 GiB disks; not in -short")
	}
	for _, size := range []int64{256 << 20, 1 << 30} {
		e := newEnv(b)
		ctx := context.Background()
		name := fmt.Sprintf("bench%d", size>>20)
		if _, err := vcbtest.CreateVM(ctx, e.c.Vim(), vcbtest.VMSpec{Name: name, DiskSizes: []int64{size}, Seed: 1, Direct: true}); err != nil {
			b.Fatal(err)
		}
		vm, err := e.c.Find(ctx, vcb.Selector{Kind: vcb.SelectName, Value: name})
		if err != nil {
			b.Fatal(err)
		}
		label := fmt.Sprintf("%dMiB", size>>20)
		type variant struct {
			name string
			comp string
			fs   vcb.FS
		}
		for _, v := range []variant{
			{"vcb/" + label + "/compression=none", "", nil},
			{"vcb/" + label + "/compression=zstd", vcb.CompressionZstd, nil},
			// Like govc: no fsync (the page cache absorbs the writes).
			{"vcb/" + label + "/compression=none/no-fsync", "", noSyncFS{}},
		} {
			comp := v.comp
			b.Run(v.name, func(b *testing.B) {
				b.SetBytes(size)
				var peak int64
				var elapsed time.Duration
				for i := 0; i < b.N; i++ {
					dir := filepath.Join(b.TempDir(), fmt.Sprint(i))
					resetPeakRSS()
					start := time.Now()
					if _, err := e.c.Backup(ctx, vm, dir, &vcb.BackupOptions{Compression: comp, FS: v.fs}); err != nil {
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
				cmd := exec.Command(bin, "datastore.download", "-ds", "LocalDS_0", vcbtest.DiskPath(name, 0), out)
				cmd.Env = []string{"GOVC_URL=" + e.sim.URL.String(), "GOVC_USERNAME=" + e.sim.Username,
					"GOVC_PASSWORD=" + e.sim.Password, "GOVC_TLS_KNOWN_HOSTS=" + kh, "HOME=" + b.TempDir()}
				var outb strings.Builder
				cmd.Stdout, cmd.Stderr = &outb, &outb
				start := time.Now()
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				// ru_maxrss of a vfork'ed child includes the parent's peak,
				// so sample the child's own VmHWM while it runs.
				stop := make(chan struct{})
				hwm := make(chan int64)
				go func() {
					var m int64
					t := time.NewTicker(5 * time.Millisecond)
					defer t.Stop()
					for {
						if v := statusHWM(cmd.Process.Pid); v > m {
							m = v
						}
						select {
						case <-stop:
							hwm <- m
							return
						case <-t.C:
						}
					}
				}()
				err := cmd.Wait()
				elapsed += time.Since(start)
				close(stop)
				peak = max(peak, <-hwm)
				if err != nil {
					b.Fatalf("%v: %s", err, outb.String())
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

// noSyncFS is the OS file system with fsync turned into a no-op, to
// compare with tools that do not fsync.
type noSyncFS struct{ vcb.OSFS }

type noSyncFile struct{ vcb.WriteFile }

func (noSyncFile) Sync() error { return nil }

func (f noSyncFS) Create(name string) (vcb.WriteFile, error) {
	w, err := f.OSFS.Create(name)
	if err != nil {
		return nil, err
	}
	return noSyncFile{w}, nil
}

func (noSyncFS) SyncDir(string) error { return nil }
