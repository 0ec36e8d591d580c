package vmdk_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/bulletproof-labs/wsvcb/vcb/vmdk"
)

// memFile is a growable in-memory io.WriterAt.
type memFile struct{ b []byte }

func (m *memFile) WriteAt(p []byte, off int64) (int, error) {
	if need := off + int64(len(p)); need > int64(len(m.b)) {
		m.b = append(m.b, make([]byte, need-int64(len(m.b)))...)
	}
	return copy(m.b[off:], p), nil
}

func sampleDisk() []byte {
	// Small on purpose: the fuzzer minimizes interesting inputs byte by byte.
	disk := make([]byte, 64<<10)
	for i := range 300 {
		disk[i*37%4096+(i%3)*20000] = byte(i)
	}
	return disk
}

func streamImage(t testing.TB) []byte {
	disk := sampleDisk()
	var b bytes.Buffer
	if _, err := vmdk.WriteStreamOptimized(context.Background(), &b, bytes.NewReader(disk), int64(len(disk)), &vmdk.WriteOptions{GrainSize: 2}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func sparseImage(t testing.TB) []byte {
	disk := sampleDisk()
	var m memFile
	n, err := vmdk.WriteSparse(context.Background(), &m, bytes.NewReader(disk), int64(len(disk)), &vmdk.WriteOptions{GrainSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	return m.b[:n]
}

// checkErr fails unless err is nil or a typed format error / I/O error.
func checkErr(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var fe *vmdk.FormatError
	if !errors.As(err, &fe) || !(errors.Is(err, vmdk.ErrCorrupt) || errors.Is(err, vmdk.ErrUnsupported)) {
		t.Fatalf("untyped error %T: %v", err, err)
	}
	if fe.Error() == "" {
		t.Fatal("empty message")
	}
}

func FuzzHeader(f *testing.F) {
	f.Add(streamImage(f)[:512])
	f.Add(sparseImage(f)[:512])
	f.Add([]byte("KDMV"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := vmdk.ParseHeader(b)
		checkErr(t, err)
		if err != nil {
			return
		}
		h2, err := vmdk.ParseHeader(h.Marshal())
		if err != nil || *h2 != *h {
			t.Fatalf("round trip: %+v, %v; want %+v", h2, err, h)
		}
	})
}

func FuzzDescriptor(f *testing.F) {
	f.Add([]byte("# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n\nRW 2048 FLAT \"a b-flat.vmdk\" 0\nRW 10 ZERO\nRDONLY 99 SPARSE \"s.vmdk\"\n#DDB\nddb.adapterType = \"ide\"\n"))
	f.Add(streamImage(f)[512:1024])
	f.Add([]byte("version=x\n"))
	f.Add([]byte("RW 1 FLAT \"unterminated\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := vmdk.ParseDescriptor(b)
		checkErr(t, err)
		if err != nil {
			return
		}
		d2, err := vmdk.ParseDescriptor(d.Marshal())
		if err != nil {
			t.Fatalf("reparse of %q: %v", d.Marshal(), err)
		}
		if len(d2.Extents) != len(d.Extents) || d2.Sectors() != d.Sectors() || d2.CreateType != d.CreateType {
			t.Fatalf("round trip changed the descriptor: %+v vs %+v", d, d2)
		}
	})
}

func FuzzOpen(f *testing.F) {
	f.Add(streamImage(f))
	f.Add(sparseImage(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := vmdk.NewSparseReader(bytes.NewReader(b), int64(len(b)))
		checkErr(t, err)
		if err != nil {
			return
		}
		buf := make([]byte, 70000)
		for _, off := range []int64{0, 4096, 65536, d.Size() / 2, d.Size() - 100} {
			if off < 0 || off >= d.Size() {
				continue
			}
			_, err := d.ReadAt(buf, off)
			if err != io.EOF {
				checkErr(t, err)
			}
		}
		count := 0
		err = d.Allocated(func(off, n int64) error {
			if off < 0 || n <= 0 || off+n > d.Size() {
				t.Fatalf("allocated range %d+%d outside the disk of %d", off, n, d.Size())
			}
			if count++; count > 1000 {
				return io.EOF
			}
			return nil
		})
		if err != io.EOF {
			checkErr(t, err)
		}
	})
}

// Malformed images give typed errors that name the structure.
func TestMalformed(t *testing.T) {
	good := streamImage(t)
	sparse := sparseImage(t)
	mut := func(src []byte, f func(b []byte) []byte) []byte {
		return f(append([]byte(nil), src...))
	}
	le := binary.LittleEndian
	cases := []struct {
		name  string
		img   []byte
		kind  error
		field string
	}{
		{"empty", nil, vmdk.ErrCorrupt, "header"},
		{"magic", mut(good, func(b []byte) []byte { b[0] = 'X'; return b }), vmdk.ErrCorrupt, "header.magic"},
		{"cowd", mut(good, func(b []byte) []byte { copy(b, "COWD"); return b }), vmdk.ErrUnsupported, "header.magic"},
		{"version", mut(good, func(b []byte) []byte { le.PutUint32(b[4:], 9); return b }), vmdk.ErrUnsupported, "header.version"},
		{"grain not pow2", mut(sparse, func(b []byte) []byte { le.PutUint64(b[20:], 7); return b }), vmdk.ErrCorrupt, "header.grainSize"},
		{"huge grain", mut(sparse, func(b []byte) []byte { le.PutUint64(b[20:], 1<<30); return b }), vmdk.ErrUnsupported, "header.grainSize"},
		{"huge capacity", mut(sparse, func(b []byte) []byte { le.PutUint64(b[12:], 1<<60); return b }), vmdk.ErrUnsupported, "header.capacity"},
		{"capacity vs gd", mut(sparse, func(b []byte) []byte { le.PutUint64(b[12:], 1<<40); return b }), vmdk.ErrUnsupported, "header.capacity"},
		{"gd beyond file", mut(sparse, func(b []byte) []byte { le.PutUint64(b[56:], 1<<40); return b }), vmdk.ErrCorrupt, "header.gdOffset"},
		{"newline", mut(sparse, func(b []byte) []byte { b[75] = '\n'; return b }), vmdk.ErrCorrupt, "header.newline"},
		{"compression", mut(good, func(b []byte) []byte { le.PutUint16(b[77:], 2); return b }), vmdk.ErrUnsupported, "header.compressAlgorithm"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := vmdk.NewSparseReader(bytes.NewReader(c.img), int64(len(c.img)))
			var fe *vmdk.FormatError
			if !errors.Is(err, c.kind) || !errors.As(err, &fe) || fe.Field != c.field {
				t.Fatalf("err = %v, want %v in %s", err, c.kind, c.field)
			}
		})
	}
}

// A damaged grain is reported when read, not at open.
func TestCorruptGrain(t *testing.T) {
	img := streamImage(t)
	d, err := vmdk.NewSparseReader(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	// Find the first grain marker (after header+descriptor overhead) and damage its data.
	h := d.Header()
	off := int64(h.OverHead) * vmdk.SectorSize
	bad := append([]byte(nil), img...)
	for i := off + 12; i < off+40; i++ {
		bad[i] ^= 0xff
	}
	d, err = vmdk.NewSparseReader(bytes.NewReader(bad), int64(len(bad)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.ReadAt(make([]byte, 512), 0)
	if !errors.Is(err, vmdk.ErrCorrupt) {
		t.Fatalf("err = %v, want ErrCorrupt", err)
	}
}

// Descriptors must not reach outside their directory, and ESX-only extent types are refused.
func TestDescriptorRefusals(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"escape.vmdk":   "version=1\ncreateType=\"monolithicFlat\"\nRW 8 FLAT \"../../etc/passwd\" 0\n",
		"abs.vmdk":      "version=1\ncreateType=\"monolithicFlat\"\nRW 8 FLAT \"/etc/passwd\" 0\n",
		"loop.vmdk":     "version=1\nCID=12345678\nparentCID=12345678\nparentFileNameHint=\"loop.vmdk\"\ncreateType=\"monolithicSparse\"\nRW 8 ZERO\n",
		"sesparse.vmdk": "version=1\ncreateType=\"seSparse\"\nRW 8 SESPARSE \"x.vmdk\"\n",
	} {
		p := dir + "/" + name
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := vmdk.Open(p); !errors.Is(err, vmdk.ErrUnsupported) {
			t.Errorf("%s: err = %v, want ErrUnsupported", name, err)
		}
	}
}

func TestCopyAllocated(t *testing.T) {
	disk := sampleDisk()
	img := streamImage(t)
	d, err := vmdk.NewSparseReader(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	m := &memFile{b: make([]byte, len(disk))}
	n, err := d.CopyAllocated(context.Background(), m, 3)
	if err != nil || !bytes.Equal(m.b, disk) {
		t.Fatalf("CopyAllocated: %d, %v, equal=%v", n, err, bytes.Equal(m.b, disk))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.CopyAllocated(ctx, &memFile{}, 2); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
}
