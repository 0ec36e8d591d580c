package vmdk_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulletproof-labs/wsvcb/internal/testenv"
	"github.com/bulletproof-labs/wsvcb/vcb/vmdk"
)

// makeRaw writes a raw image of size bytes with a pattern of random
// regions, zero regions and unaligned edges, and returns its path.
func makeRaw(t testing.TB, dir string, size int64, seed uint64) string {
	t.Helper()
	p := filepath.Join(dir, "src.raw")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	// Random runs of 1 byte to 200 KiB at random places; about a third of
	// the disk stays zero (unallocated grains).
	var written int64
	for written < size/2 {
		n := int64(rng.IntN(200<<10) + 1)
		off := rng.Int64N(size)
		n = min(n, size-off)
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		if _, err := f.WriteAt(b, off); err != nil {
			t.Fatal(err)
		}
		written += n
	}
	// The very first and last bytes are data.
	f.WriteAt([]byte("MBR!"), 0)
	f.WriteAt([]byte("END!"), size-4)
	return p
}

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// assertSame compares the library's view of img with the raw file.
func assertSame(t *testing.T, raw, img string) {
	t.Helper()
	want, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	d, err := vmdk.Open(img)
	if err != nil {
		t.Fatalf("Open(%s): %v", img, err)
	}
	defer d.Close()
	if d.Size() != int64(len(want)) {
		t.Fatalf("Size = %d, want %d", d.Size(), len(want))
	}
	got := make([]byte, len(want))
	// Read in odd-sized chunks to cross grain and extent boundaries.
	for off := 0; off < len(got); {
		n := min(len(got)-off, 77777)
		m, err := d.ReadAt(got[off:off+n], int64(off))
		if err != nil && !(err == io.EOF && off+m == len(got)) {
			t.Fatalf("ReadAt(%d): %d, %v", off, m, err)
		}
		off += m
	}
	if !bytes.Equal(got, want) {
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("first difference at byte %d (grain %d)", i, i/65536)
			}
		}
	}
}

// TestReadQemuImages: qemu-img convert -f raw -O vmdk -o subformat=S src.raw img.vmdk,
// then the library must read back exactly src.raw.
func TestReadQemuImages(t *testing.T) {
	qemu := testenv.RequireTool(t, "qemu-img")
	for _, sub := range []string{"monolithicSparse", "streamOptimized", "monolithicFlat", "twoGbMaxExtentSparse", "twoGbMaxExtentFlat"} {
		t.Run(sub, func(t *testing.T) {
			dir := t.TempDir()
			size := int64(9<<20 + 4096) // not a multiple of the 64 KiB grain
			raw := makeRaw(t, dir, size, 1)
			img := filepath.Join(dir, "img.vmdk")
			run(t, qemu, "convert", "-f", "raw", "-O", "vmdk", "-o", "subformat="+sub, raw, img)
			assertSame(t, raw, img)
		})
	}
}

// TestWriteStreamOptimizedQemu: library-written streamOptimized images pass
// `qemu-img check img.vmdk` and `qemu-img compare -f raw -F vmdk src.raw img.vmdk`.
func TestWriteStreamOptimizedQemu(t *testing.T) {
	qemu := testenv.RequireTool(t, "qemu-img")
	for _, size := range []int64{0, 512, 65536, 9<<20 + 4096, 40 << 20} {
		dir := t.TempDir()
		var raw string
		if size == 0 {
			raw = filepath.Join(dir, "src.raw")
			os.WriteFile(raw, nil, 0o644)
		} else {
			raw = makeRaw(t, dir, size, uint64(size))
		}
		img := filepath.Join(dir, "img.vmdk")
		src, err := os.Open(raw)
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(img)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := vmdk.WriteStreamOptimized(context.Background(), out, src, size, nil); err != nil {
			t.Fatal(err)
		}
		src.Close()
		out.Close()
		if size > 0 { // qemu takes capacity 0 as "descriptor inside a sparse file"
			run(t, qemu, "check", img)
			run(t, qemu, "compare", "-f", "raw", "-F", "vmdk", raw, img)
		}
		assertSame(t, raw, img)
	}
}

// TestWriteSparseQemu: library-written monolithicSparse images pass
// `qemu-img check img.vmdk` and `qemu-img compare -f raw -F vmdk src.raw img.vmdk`.
func TestWriteSparseQemu(t *testing.T) {
	qemu := testenv.RequireTool(t, "qemu-img")
	for _, size := range []int64{512, 65536, 9<<20 + 4096, 40 << 20} {
		dir := t.TempDir()
		raw := makeRaw(t, dir, size, uint64(size))
		img := filepath.Join(dir, "img.vmdk")
		src, err := os.Open(raw)
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(img)
		if err != nil {
			t.Fatal(err)
		}
		n, err := vmdk.WriteSparse(context.Background(), out, src, size, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := out.Truncate(n); err != nil {
			t.Fatal(err)
		}
		src.Close()
		out.Close()
		run(t, qemu, "check", img)
		run(t, qemu, "compare", "-f", "raw", "-F", "vmdk", raw, img)
		assertSame(t, raw, img)
	}
}
