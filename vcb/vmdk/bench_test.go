package vmdk_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/bulletproof-labs/wsvcb/vcb/vmdk"
)

// benchDisk is 32 MiB: alternating 1 MiB runs of half-compressible data
// (random bytes in every other 256-byte block) and zeros.
func benchDisk() []byte {
	disk := make([]byte, 32<<20)
	r := rand.NewChaCha8([32]byte{1})
	for off := 0; off < len(disk); off += 2 << 20 {
		for b := off; b < off+1<<20; b += 512 {
			r.Read(disk[b : b+256])
		}
	}
	return disk
}

func BenchmarkWriteStreamOptimized(b *testing.B) {
	disk := benchDisk()
	b.SetBytes(int64(len(disk)))
	for b.Loop() {
		if _, err := vmdk.WriteStreamOptimized(context.Background(), io.Discard, bytes.NewReader(disk), int64(len(disk)), nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteSparse(b *testing.B) {
	disk := benchDisk()
	b.SetBytes(int64(len(disk)))
	for b.Loop() {
		var m memFile
		if _, err := vmdk.WriteSparse(context.Background(), &m, bytes.NewReader(disk), int64(len(disk)), nil); err != nil {
			b.Fatal(err)
		}
	}
}

func benchRead(b *testing.B, img []byte) {
	d, err := vmdk.NewSparseReader(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	b.SetBytes(d.Size())
	for b.Loop() {
		for off := int64(0); off < d.Size(); off += int64(len(buf)) {
			if _, err := d.ReadAt(buf, off); err != nil && err != io.EOF {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkReadStreamOptimized(b *testing.B) {
	disk := benchDisk()
	var img bytes.Buffer
	vmdk.WriteStreamOptimized(context.Background(), &img, bytes.NewReader(disk), int64(len(disk)), nil)
	benchRead(b, img.Bytes())
}

func BenchmarkReadSparse(b *testing.B) {
	disk := benchDisk()
	var m memFile
	n, _ := vmdk.WriteSparse(context.Background(), &m, bytes.NewReader(disk), int64(len(disk)), nil)
	benchRead(b, m.b[:n])
}

// BenchmarkCopyAllocated restores a streamOptimized image with 1 and 2
// workers (parallel inflate).
func BenchmarkCopyAllocated(b *testing.B) {
	disk := benchDisk()
	var img bytes.Buffer
	vmdk.WriteStreamOptimized(context.Background(), &img, bytes.NewReader(disk), int64(len(disk)), nil)
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			b.SetBytes(int64(len(disk)))
			for b.Loop() {
				d, _ := vmdk.NewSparseReader(bytes.NewReader(img.Bytes()), int64(img.Len()))
				var m memFile
				m.b = make([]byte, len(disk))
				if _, err := d.CopyAllocated(context.Background(), &m, workers); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOpenStream256 opens a 256 MiB streamOptimized image (half data,
// half zero grains; a file on disk) through its footer and, with the
// footer cut off, by scanning the stream's markers; each open also walks
// the grain index once (Allocated).
func BenchmarkOpenStream256(b *testing.B) {
	disk := make([]byte, 256<<20)
	r := rand.NewChaCha8([32]byte{2})
	for off := 0; off < len(disk); off += 2 << 20 {
		for p := off; p < off+1<<20; p += 512 {
			r.Read(disk[p : p+256])
		}
	}
	var img bytes.Buffer
	if _, err := vmdk.WriteStreamOptimized(context.Background(), &img, bytes.NewReader(disk), int64(len(disk)), nil); err != nil {
		b.Fatal(err)
	}
	disk = nil
	dir := b.TempDir()
	for _, c := range []struct {
		name string
		n    int
	}{{"footer", img.Len()}, {"scan", img.Len() - 1536}} {
		path := filepath.Join(dir, c.name+".vmdk")
		if err := os.WriteFile(path, img.Bytes()[:c.n], 0o644); err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				d, err := vmdk.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				if (d.Recovered() != nil) != (c.name == "scan") {
					b.Fatalf("Recovered = %+v", d.Recovered())
				}
				var total int64
				d.Allocated(func(off, n int64) error { total += n; return nil })
				if total != 128<<20 {
					b.Fatalf("allocated %d", total)
				}
				d.Close()
			}
		})
	}
}
