package vmount

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/bulletproof-labs/wsvcb/internal/diskimg"
	"github.com/bulletproof-labs/wsvcb/vcb/browse"
)

// countingOpener opens sequential-only readers of data and counts them.
type countingOpener struct {
	data  []byte
	opens atomic.Int32
}

type seqOnly struct{ r io.Reader }

func (s seqOnly) Read(p []byte) (int, error) { return s.r.Read(p) }
func (s seqOnly) Close() error               { return nil }

func (c *countingOpener) open() (io.ReadCloser, error) {
	c.opens.Add(1)
	return seqOnly{bytes.NewReader(c.data)}, nil
}

func TestSeqReaderAtReuse(t *testing.T) {
	t.Parallel()
	c := &countingOpener{data: []byte(blob(8<<20+100, 4))}
	var mu sync.Mutex
	r := newSeqReaderAt(c.open, int64(len(c.data)), &mu)
	buf := make([]byte, 4096)
	for off := 0; off < 3<<20; off += 16 * len(buf) { // forward only: one reader
		n, err := r.ReadAt(buf, int64(off))
		if n != len(buf) || err != nil || !bytes.Equal(buf, c.data[off:off+n]) {
			t.Fatalf("ReadAt %d: %d, %v", off, n, err)
		}
	}
	if c.opens.Load() != 1 {
		t.Errorf("sequential read opened %d readers", c.opens.Load())
	}
	// Out of order: chunks passed over are cached; only a chunk behind
	// every reader and out of the cache opens another reader.
	c.opens.Store(0)
	r = newSeqReaderAt(c.open, int64(len(c.data)), &mu)
	for i, off := range []int64{0, 3<<20 + 5, 1<<20 + 7, 2 << 20, 7<<20 - 10, 4 << 20, 0, 100} {
		n, err := r.ReadAt(buf, off)
		if n != len(buf) || err != nil || !bytes.Equal(buf, c.data[off:off+int64(n)]) {
			t.Fatalf("ReadAt %d: %d, %v", off, n, err)
		}
		if want := map[bool]int32{true: 1, false: 2}[i < 6]; c.opens.Load() != want {
			t.Errorf("after reading at %d: %d readers opened, want %d", off, c.opens.Load(), want)
		}
	}
	// The tail: short read with io.EOF; past the end: 0, io.EOF.
	n, err := r.ReadAt(buf, int64(len(c.data)-100))
	if n != 100 || err != io.EOF || !bytes.Equal(buf[:n], c.data[len(c.data)-100:]) {
		t.Errorf("tail read: %d, %v", n, err)
	}
	if n, err := r.ReadAt(buf, int64(len(c.data))); n != 0 || err != io.EOF {
		t.Errorf("read at the end: %d, %v", n, err)
	}
	if _, err := r.ReadAt(buf, -1); err == nil {
		t.Error("negative offset accepted")
	}
	r.Close()
	if _, err := r.ReadAt(buf, 0); !errors.Is(err, errClosed) {
		t.Errorf("read after close: %v", err)
	}
	// A file shorter than its recorded size is an error, not zeros.
	r = newSeqReaderAt(c.open, int64(len(c.data))+10, &mu)
	if _, err := r.ReadAt(make([]byte, 20), int64(len(c.data)-10)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short file: %v", err)
	}
}

// TestSeqReaderAtConcurrent reads the files of real FAT and ext4 images
// (go-diskfs, not safe for concurrent use) from many goroutines at random
// offsets through one seqReaderAt per file; run with -race.
func TestSeqReaderAtConcurrent(t *testing.T) {
	t.Parallel()
	big := blob(1<<20+4321, 5)
	files := map[string]string{"big.bin": big, "dir/small.txt": "small\n", "mid.bin": blob(200_000, 6)}
	for _, fsType := range []string{"vfat", "ext4"} {
		t.Run(fsType, func(t *testing.T) {
			raw := diskimg.Raw(t, t.TempDir(), diskimg.Layout{Parts: []diskimg.Part{{FS: fsType, MiB: 8, Label: "T", Files: files}}})
			f, err := os.Open(raw)
			must(t, err)
			defer f.Close()
			st, _ := f.Stat()
			d, err := browse.Open(f, st.Size())
			must(t, err)
			fsys, err := d.FileSystem(0)
			must(t, err)
			var fsLock sync.Mutex
			var wg sync.WaitGroup
			for name, content := range files {
				open := func() (io.ReadCloser, error) { return fsys.Open(name) }
				r := newSeqReaderAt(open, int64(len(content)), &fsLock)
				for g := range 4 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						rnd := rand.New(rand.NewPCG(uint64(g), uint64(len(name))))
						for range 40 {
							off := rnd.Int64N(int64(len(content)) + 1)
							buf := make([]byte, 1+rnd.IntN(70000))
							n, err := r.ReadAt(buf, off)
							want := content[off:min(off+int64(len(buf)), int64(len(content)))]
							if string(buf[:n]) != want || (err != nil) != (n < len(buf)) {
								t.Errorf("%s ReadAt(%d bytes, %d) = %d, %v", name, len(buf), off, n, err)
								return
							}
						}
					}()
				}
			}
			wg.Wait()
		})
	}
}

// stuck reads some bytes, then 0, nil for ever (as go-diskfs does past the
// last extent of a sparse ext4 file).
type stuck struct{ n int }

func (s *stuck) Read(p []byte) (int, error) {
	m := min(len(p), s.n)
	s.n -= m
	return m, nil
}
func (s *stuck) Close() error { return nil }

func TestSeqReaderAtNoProgress(t *testing.T) {
	var mu sync.Mutex
	r := newSeqReaderAt(func() (io.ReadCloser, error) { return &stuck{n: 5000}, nil }, 3<<20, &mu)
	buf := make([]byte, 10000)
	if n, err := r.ReadAt(buf, 0); n != 0 || !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("ReadAt = %d, %v; want io.ErrNoProgress", n, err)
	}
}
