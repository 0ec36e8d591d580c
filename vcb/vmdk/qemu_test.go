package vmdk_test

import (
	"bytes"
	"context"
	"errors"
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
	chacha := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16)})
	// Random runs of 1 byte to 200 KiB at random places; about a third of
	// the disk stays zero (unallocated grains).
	var written int64
	for written < size/2 {
		n := int64(rng.IntN(200<<10) + 1)
		off := rng.Int64N(size)
		n = min(n, size-off)
		b := make([]byte, n)
		chacha.Read(b)
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
			size := int64(3<<20 + 4096) // not a multiple of the 64 KiB grain
			raw := makeRaw(t, dir, size, 1)
			img := filepath.Join(dir, "img.vmdk")
			run(t, qemu, "convert", "-f", "raw", "-O", "vmdk", "-o", "subformat="+sub, raw, img)
			assertSame(t, raw, img)
		})
	}
}

// TestWriteStreamOptimizedQemu: library-written streamOptimized images pass
// `qemu-img check img.vmdk` and `qemu-img compare -f raw -F vmdk src.raw img.vmdk`.
// writeCases: sizes and grain sizes (sectors) for the writers. 512-byte
// grains make a 3 MiB disk span 13 grain tables (256 KiB each), so grain
// table boundaries are crossed without a big disk.
var writeCases = []struct {
	size  int64
	grain uint64
}{{0, 0}, {512, 0}, {65536, 0}, {4<<20 + 4096, 0}, {3<<20 + 512, 1}}

func TestWriteStreamOptimizedQemu(t *testing.T) {
	qemu := testenv.RequireTool(t, "qemu-img")
	for _, c := range writeCases {
		size := c.size
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
		if _, err := vmdk.WriteStreamOptimized(context.Background(), out, src, size, &vmdk.WriteOptions{GrainSize: c.grain}); err != nil {
			t.Fatal(err)
		}
		src.Close()
		out.Close()
		if size > 0 { // qemu takes capacity 0 as "descriptor inside a sparse file"
			if out := run(t, qemu, "check", img); !strings.Contains(out, "No errors were found") {
				t.Errorf("qemu-img check %s:\n%s", img, out)
			}
			if out := run(t, qemu, "info", img); !strings.Contains(out, "create type: streamOptimized") || !strings.Contains(out, "compressed: true") {
				t.Errorf("qemu-img info %s:\n%s", img, out)
			}
			run(t, qemu, "compare", "-f", "raw", "-F", "vmdk", raw, img)
		}
		assertSame(t, raw, img)
	}
}

// TestWriteSparseQemu: library-written monolithicSparse images pass
// `qemu-img check img.vmdk` and `qemu-img compare -f raw -F vmdk src.raw img.vmdk`.
func TestWriteSparseQemu(t *testing.T) {
	qemu := testenv.RequireTool(t, "qemu-img")
	for _, c := range writeCases[1:] {
		size := c.size
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
		n, err := vmdk.WriteSparse(context.Background(), out, src, size, &vmdk.WriteOptions{GrainSize: c.grain})
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

// TestReadQemuTwoGbExtents: a sparse 2.1 GiB raw disk with data across the
// 2 GiB extent boundary, converted with
// `qemu-img convert -f raw -O vmdk -o subformat=twoGbMaxExtentSparse|twoGbMaxExtentFlat`,
// reads back through several extent files (compared around the data).
func TestReadQemuTwoGbExtents(t *testing.T) {
	qemu := testenv.RequireTool(t, "qemu-img")
	if testing.Short() {
		t.Skip("short mode")
	}
	dir := t.TempDir()
	raw := filepath.Join(dir, "src.raw")
	size := int64(2<<30 + 3<<20)
	f, err := os.Create(raw)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(size)
	chacha := rand.NewChaCha8([32]byte{9})
	data := make([]byte, 1<<20)
	chacha.Read(data)
	offs := []int64{0, 1<<30 + 12345, 2<<30 - 300000, size - len64(data)}
	for _, off := range offs {
		f.WriteAt(data, off)
	}
	f.Close()
	for _, sub := range []string{"twoGbMaxExtentSparse", "twoGbMaxExtentFlat"} {
		t.Run(sub, func(t *testing.T) {
			img := filepath.Join(dir, sub+".vmdk")
			run(t, qemu, "convert", "-f", "raw", "-O", "vmdk", "-o", "subformat="+sub, raw, img)
			d, err := vmdk.Open(img)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if d.Size() != size || len(d.Descriptor().Extents) < 2 {
				t.Fatalf("size %d, %d extents", d.Size(), len(d.Descriptor().Extents))
			}
			// Allocated covers the data and little else (flat extents: all).
			var total int64
			covered := map[int64]bool{}
			d.Allocated(func(off, n int64) error {
				total += n
				for _, o := range offs {
					if o >= off && o+len64(data) <= off+n+65536 {
						covered[o] = true
					}
				}
				return nil
			})
			if len(covered) != len(offs) || sub == "twoGbMaxExtentSparse" && total > 8<<20 {
				t.Errorf("Allocated: %d bytes, covers %v of %v", total, covered, offs)
			}
			rf, _ := os.Open(raw)
			defer rf.Close()
			got, want := make([]byte, 3<<20), make([]byte, 3<<20)
			for _, off := range offs {
				off = max(0, off-1<<20)
				n, _ := rf.ReadAt(want, off)
				m, _ := d.ReadAt(got, off)
				if n != m || !bytes.Equal(got[:m], want[:n]) {
					t.Fatalf("range at %d differs (%d/%d bytes)", off, m, n)
				}
			}
		})
	}
}

func len64(b []byte) int64 { return int64(len(b)) }

// A hand-written descriptor with FLAT extents at offsets and a ZERO
// extent (layout as ESX and Workstation write them).
func TestMultiExtentDescriptor(t *testing.T) {
	dir := t.TempDir()
	a := bytes.Repeat([]byte("A"), 4096)
	b := append(make([]byte, 1024), bytes.Repeat([]byte("B"), 2048)...) // extent starts at sector 2
	os.WriteFile(filepath.Join(dir, "d-f001.vmdk"), a, 0o644)
	os.WriteFile(filepath.Join(dir, "d f002.vmdk"), b, 0o644)
	desc := "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType=\"twoGbMaxExtentFlat\"\n" +
		"RW 8 FLAT \"d-f001.vmdk\" 0\nRW 4 ZERO\nRW 4 FLAT \"d f002.vmdk\" 2\nRW 2 VMFS \"d-f001.vmdk\" 6\n"
	p := filepath.Join(dir, "d.vmdk")
	os.WriteFile(p, []byte(desc), 0o644)
	d, err := vmdk.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	want := append(append(append(append([]byte(nil), a...), make([]byte, 2048)...), b[1024:]...), a[3072:]...)
	got, err := io.ReadAll(io.NewSectionReader(d, 0, d.Size()))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, %v; want %d", len(got), err, len(want))
	}
	var ranges [][2]int64
	d.Allocated(func(off, n int64) error { ranges = append(ranges, [2]int64{off, n}); return nil })
	if len(ranges) != 2 || ranges[1] != [2]int64{6144, 3072} { // adjacent extents merge
		t.Errorf("allocated %v", ranges)
	}
}

// TestDeltaChain: a snapshot (delta) disk over a flat base, made with
//
//	qemu-img convert -f raw -O vmdk -o subformat=monolithicFlat src.raw base.vmdk
//	qemu-img create -f vmdk -b base.vmdk -F vmdk delta.vmdk
//	qemu-io -c "write -P 0xab 1048576 100000" -c "write -z 0 4096" delta.vmdk
//	qemu-img convert -f vmdk -O raw delta.vmdk merged.raw
//
// reads as merged.raw; LayerAllocated reports only the written grains; a
// changed parent CID is refused.
func TestDeltaChain(t *testing.T) {
	qemu := testenv.RequireTool(t, "qemu-img")
	qio := testenv.RequireTool(t, "qemu-io")
	dir := t.TempDir()
	raw := makeRaw(t, dir, 4<<20, 5)
	base := filepath.Join(dir, "base.vmdk")
	delta := filepath.Join(dir, "delta.vmdk")
	merged := filepath.Join(dir, "merged.raw")
	run(t, qemu, "convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=monolithicFlat", raw, base)
	run(t, qemu, "create", "-f", "vmdk", "-b", "base.vmdk", "-F", "vmdk", delta)
	run(t, qio, "-c", "write -P 0xab 1048576 100000", "-c", "write -z 0 4096", delta)
	run(t, qemu, "convert", "-f", "vmdk", "-O", "raw", delta, merged)
	assertSame(t, merged, delta)

	d, err := vmdk.Open(delta)
	if err != nil {
		t.Fatal(err)
	}
	if d.Parent() == nil || d.Parent().CreateType() != "monolithicFlat" {
		t.Fatalf("parent = %v", d.Parent())
	}
	var layer [][2]int64
	d.LayerAllocated(func(off, n int64) error { layer = append(layer, [2]int64{off, n}); return nil })
	d.Close()
	// Grain 0 (zero-written 4 KiB: qemu copies the rest of the grain) and grains 16-17.
	want := [][2]int64{{0, 65536}, {1 << 20, 2 * 65536}}
	if len(layer) != 2 || layer[1] != want[1] {
		t.Errorf("LayerAllocated = %v, want %v", layer, want)
	}

	// Change the base's CID: the delta no longer belongs to it.
	b, _ := os.ReadFile(base)
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "CID=") {
			lines[i] = "CID=0badc0de"
		}
	}
	os.WriteFile(base, []byte(strings.Join(lines, "\n")), 0o644)
	if _, err := vmdk.Open(delta); !errors.Is(err, vmdk.ErrCorrupt) {
		t.Errorf("CID mismatch: err = %v", err)
	}
}
