package vmount

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/bulletproof-labs/wsvcb/internal/diskimg"

	"golang.org/x/sys/unix"
)

// BenchmarkSequentialRead reads a 64 MiB file of an ext4 image
// (monolithicSparse VMDK) through a ModeFUSE mount (the file tree served
// by vcb/browse) and through a ModeKernel mount (flat FUSE file, loop
// device, kernel ext4), and one of a FAT image through ModeFUSE. Before each pass the file's page cache, and in
// ModeKernel that of the flat disk file below the loop device, is dropped
// with posix_fadvise(DONTNEED), so every pass reads through the servers.
// Needs root (mounts); skipped otherwise.
//
//	go test -run '^$' -bench SequentialRead -benchtime 5x ./vcb/vmount
func BenchmarkSequentialRead(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root (mount)")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		b.Skip("no /dev/fuse")
	}
	const mib = 64
	ext4 := ext4Disk(b, mib)
	for _, c := range []struct{ name, mode string }{{"ext4/fuse", ModeFUSE}, {"ext4/kernel", ModeKernel}, {"fat/fuse", ModeFUSE}} {
		mode := c.mode
		b.Run(c.name, func(b *testing.B) {
			if mode == ModeKernel && !KernelCanMount("ext4") {
				b.Skip("kernel without ext4")
			}
			disk := ext4
			if c.name == "fat/fuse" {
				disk = cachedImage(b, "fat-large", func(dir string) string {
					raw := diskimg.Raw(b, dir, diskimg.Layout{Table: "mbr", Parts: []diskimg.Part{
						{FS: "vfat", MiB: mib + 16, Label: "DATA", Files: map[string]string{"large.bin": blob(mib<<20, 11)}},
					}})
					return diskimg.VMDK(b, raw, "monolithicSparse")
				})
			}
			m := &Manager{StateDir: b.TempDir()}
			dir := filepath.Join(b.TempDir(), "mnt")
			mt, err := m.Mount(dir, disk, &Options{Mode: mode})
			if err != nil {
				b.Fatal(err)
			}
			defer mt.Close()
			name := filepath.Join(dir, "large.bin")
			buf := make([]byte, 1<<20)
			b.SetBytes(mib << 20)
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				dropCache(b, name)
				if mode == ModeKernel {
					dropCache(b, filepath.Join(mt.FuseDir, DiskFileName))
				}
				b.StartTimer()
				f, err := os.Open(name)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.CopyBuffer(io.Discard, f, buf)
				f.Close()
				if err != nil || n != mib<<20 {
					b.Fatalf("read %d bytes: %v", n, err)
				}
			}
		})
	}
}

// dropCache evicts one file's pages from the page cache (no sysctl).
func dropCache(b *testing.B, name string) {
	f, err := os.Open(name)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		b.Fatal(err)
	}
}
