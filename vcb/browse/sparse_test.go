package browse_test

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/bulletproof-labs/wsvcb/internal/diskimg"
	"github.com/bulletproof-labs/wsvcb/internal/testenv"
	"github.com/bulletproof-labs/wsvcb/vcb/browse"
)

// sparseFile is one file written through a kernel ext4 mount and its
// expected content (holes and fallocated ranges are zeros).
type sparseFile struct {
	name string
	want []byte
}

// writeSparse writes the test files into dir (a mounted ext4) and returns
// what each must read as. bs is the file system's block size.
func writeSparse(t *testing.T, dir string, bs int) []sparseFile {
	r := rand.New(rand.NewPCG(7, uint64(bs)))
	rnd := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	var files []sparseFile
	create := func(name string, size int64, do func(f *os.File, want []byte)) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		want := make([]byte, size)
		do(f, want)
		if err := f.Truncate(size); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		files = append(files, sparseFile{name, want})
	}
	write := func(f *os.File, want []byte, off int, b []byte) {
		if _, err := f.WriteAt(b, int64(off)); err != nil {
			t.Fatal(err)
		}
		copy(want[off:], b)
	}
	falloc := func(f *os.File, mode uint32, off, n int64) {
		if err := unix.Fallocate(int(f.Fd()), mode, off, n); err != nil {
			t.Fatal(err)
		}
	}
	create("dense.bin", 300001, func(f *os.File, w []byte) { write(f, w, 0, rnd(len(w))) })
	create("empty", 0, func(*os.File, []byte) {})
	create("tiny", 5, func(f *os.File, w []byte) { write(f, w, 0, []byte("tiny\n")) })
	// truncate -s 1M plus a few blocks written in the middle (one not
	// block-aligned).
	create("hole-middle.bin", 1<<20, func(f *os.File, w []byte) {
		write(f, w, 300*1024, rnd(3*bs))
		write(f, w, 600*1024+77, rnd(bs+5))
	})
	create("hole-end.bin", 2<<20, func(f *os.File, w []byte) { write(f, w, 0, rnd(10000)) })
	create("hole-start.bin", 1<<20+3, func(f *os.File, w []byte) { write(f, w, 1<<20-100, rnd(103)) })
	// fallocate -l 1M, then data written inside the unwritten extent.
	create("falloc.bin", 1<<20, func(f *os.File, w []byte) {
		falloc(f, 0, 0, 1<<20)
		write(f, w, 100000, rnd(5000))
	})
	// unwritten extents past i_size (fallocate --keep-size).
	create("falloc-keep.bin", 3000, func(f *os.File, w []byte) {
		write(f, w, 0, rnd(3000))
		falloc(f, unix.FALLOC_FL_KEEP_SIZE, 0, 1<<20)
	})
	// every other block written: one extent per written block, a tree of
	// depth 2 with 1 KiB blocks.
	create("fragments.bin", int64(2000*bs), func(f *os.File, w []byte) {
		for blk := 0; blk < 2000; blk += 2 {
			write(f, w, blk*bs, rnd(bs))
		}
	})
	return files
}

// TestSparseExt4 writes sparse, fallocated and fragmented files through a
// kernel ext4 loop mount (`mkfs.ext4 -b BS` then mount -o loop), checks
// that the kernel reads them as expected, unmounts and reads them through
// browse: whole (SHA-256), at random offsets (ReadAt) and after Seek.
func TestSparseExt4(t *testing.T) {
	testenv.RequireRoot(t)
	mkfs := testenv.RequireTool(t, "mkfs.ext4")
	mount, umount := testenv.RequireTool(t, "mount"), testenv.RequireTool(t, "umount")
	for _, bs := range []int{1024, 4096} {
		t.Run(strconv.Itoa(bs), func(t *testing.T) {
			dir := t.TempDir()
			img, mnt := filepath.Join(dir, "fs.img"), filepath.Join(dir, "mnt")
			if err := os.Mkdir(mnt, 0o755); err != nil {
				t.Fatal(err)
			}
			diskimg.Run(t, mkfs, "-q", "-F", "-b", strconv.Itoa(bs), img, "32M")
			if out, err := exec.Command(mount, "-o", "loop", img, mnt).CombinedOutput(); err != nil {
				t.Skipf("loop mount: %v: %s", err, out)
			}
			mounted := true
			unmount := func() {
				if mounted {
					if out, err := exec.Command(umount, mnt).CombinedOutput(); err != nil {
						t.Errorf("umount: %v: %s", err, out)
					}
					mounted = false
				}
			}
			t.Cleanup(unmount)
			files := writeSparse(t, mnt, bs)
			for _, f := range files {
				b, err := os.ReadFile(filepath.Join(mnt, f.name))
				if err != nil || !bytes.Equal(b, f.want) {
					t.Fatalf("kernel reads %s as %d bytes (%v), want %d", f.name, len(b), err, len(f.want))
				}
			}
			unmount()
			im, err := browse.OpenImage(img)
			if err != nil {
				t.Fatal(err)
			}
			defer im.Close()
			d, err := browse.Open(im, im.Size)
			if err != nil {
				t.Fatal(err)
			}
			fsys, err := d.FileSystem(0)
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(1, 2))
			for _, sf := range files {
				got, err := fsys.ReadFile(sf.name)
				if err != nil {
					t.Errorf("%s: %v", sf.name, err)
					continue
				}
				if sha256.Sum256(got) != sha256.Sum256(sf.want) {
					t.Errorf("%s: %d bytes differ from the kernel's %d", sf.name, len(got), len(sf.want))
				}
				checkRandomReads(t, fsys, sf, r)
			}
		})
	}
}

// checkRandomReads reads sf at random offsets through ReadAt and Seek+Read.
func checkRandomReads(t *testing.T, fsys *browse.FS, sf sparseFile, r *rand.Rand) {
	t.Helper()
	f, err := fsys.Open(sf.name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || fi.Size() != int64(len(sf.want)) {
		t.Errorf("%s: Stat = %v, %v", sf.name, fi, err)
	}
	ra, ok := f.(io.ReaderAt)
	if !ok {
		t.Errorf("%s: %T is no io.ReaderAt", sf.name, f)
		return
	}
	size := len(sf.want)
	for range 200 {
		off := r.IntN(size + 10)
		n := r.IntN(9000)
		buf := make([]byte, n)
		got, err := ra.ReadAt(buf, int64(off))
		wantN := max(0, min(n, size-off))
		if got != wantN || !bytes.Equal(buf[:got], sf.want[min(off, size):min(off, size)+wantN]) {
			t.Fatalf("%s: ReadAt(%d bytes, %d) = %d, %v: want %d bytes equal to the source", sf.name, n, off, got, err, wantN)
		}
		if got < n && err != io.EOF {
			t.Fatalf("%s: short ReadAt at %d gave %v, want io.EOF", sf.name, off, err)
		}
	}
	s, ok := f.(io.Seeker)
	if !ok || size == 0 {
		return
	}
	off := r.IntN(size)
	if _, err := s.Seek(int64(off), io.SeekStart); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(f)
	if err != nil || !bytes.Equal(rest, sf.want[off:]) {
		t.Errorf("%s: after Seek(%d) read %d bytes (%v), want %d", sf.name, off, len(rest), err, size-off)
	}
}

// BenchmarkReadExt4: Open and read a dense 8 MiB file and a 64 MiB sparse
// file (8 MiB of data in 1 MiB pieces every 8 MiB) of an image made by
// `mkfs.ext4 -d` and held in memory.
func BenchmarkReadExt4(b *testing.B) {
	mkfs := testenv.RequireTool(b, "mkfs.ext4")
	dir := b.TempDir()
	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	data := []byte(blob(1<<20, 5))
	dense, err := os.Create(filepath.Join(src, "dense.bin"))
	if err != nil {
		b.Fatal(err)
	}
	sp, err := os.Create(filepath.Join(src, "sparse.bin"))
	if err != nil {
		b.Fatal(err)
	}
	for i := range 8 {
		dense.Write(data)
		sp.WriteAt(data, int64(i)<<23)
	}
	sp.Truncate(64 << 20)
	dense.Close()
	sp.Close()
	img := filepath.Join(dir, "ext4.img")
	diskimg.Run(b, mkfs, "-q", "-F", "-d", src, img, "48M")
	raw, err := os.ReadFile(img)
	if err != nil {
		b.Fatal(err)
	}
	disk, err := browse.Open(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		b.Fatal(err)
	}
	fsys, err := disk.FileSystem(0)
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"dense.bin", "sparse.bin"} {
		b.Run(name, func(b *testing.B) {
			buf := make([]byte, 128<<10)
			for b.Loop() {
				f, err := fsys.Open(name)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{f}, buf)
				f.Close()
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(n)
			}
		})
	}
}
