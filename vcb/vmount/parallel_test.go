package vmount

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// TestTreeParallelReads reads files of a ModeFUSE mount (served in this
// process, so -race sees the server) from several goroutines at random
// offsets, dropping the files' page cache (posix_fadvise DONTNEED, per
// file) between rounds so that the reads reach the FUSE server.
func TestTreeParallelReads(t *testing.T) {
	requireMount(t)
	t.Parallel()
	disk := fatDisk(t)
	m := &Manager{StateDir: t.TempDir()}
	dir := filepath.Join(t.TempDir(), "mnt")
	mt, err := m.Mount(dir, disk, &Options{Partition: 1, Mode: ModeFUSE})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Unmount(dir) })
	names := []string{"big.bin", "EFI/BOOT/BOOTX64.EFI", "big.bin", "Long File Name With Spaces.txt"}
	var wg sync.WaitGroup
	for g, name := range names {
		content := fatFiles[name]
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := os.Open(filepath.Join(dir, name))
			if err != nil {
				t.Error(err)
				return
			}
			defer f.Close()
			rnd := rand.New(rand.NewPCG(uint64(g), 3))
			for round := range 10 {
				if round%4 == 0 {
					unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
				}
				off := rnd.Int64N(int64(len(content)) + 1)
				buf := make([]byte, 1+rnd.IntN(128<<10))
				n, _ := f.ReadAt(buf, off)
				want := content[off:min(off+int64(len(buf)), int64(len(content)))]
				if string(buf[:n]) != want {
					t.Errorf("%s: ReadAt(%d bytes, %d) = %d bytes, not the file's", name, len(buf), off, n)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := mt.Close(); err != nil {
		t.Fatal(err)
	}
	checkClean(t, m.StateDir, dir)
}
