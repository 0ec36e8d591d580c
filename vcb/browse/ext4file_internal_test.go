package browse

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"
)

// TestExtentReaderSynthetic reads a hand-made extent list over a 16-block
// file system of 1 KiB blocks: holes and unwritten extents read as zeros,
// reads stop at i_size, and a block past the file system's end (the
// partition is shorter than the superblock's block count) is a
// FormatError.
func TestExtentReaderSynthetic(t *testing.T) {
	const bs = 1024
	disk := make([]byte, 16*bs)
	for i := range disk {
		disk[i] = byte(i/bs + 1) // block n holds the byte n+1
	}
	c := &ext4Check{r: bytes.NewReader(disk), size: int64(len(disk)), bs: bs, blocks: 32}
	r := &extentReader{c: c, ino: 12, size: 9*bs + 100, exts: []extent{
		{file: 1, count: 2, disk: 3},               // blocks 1-2 <- 3-4
		{file: 4, count: 1, disk: 9, uninit: true}, // block 4 unwritten
		{file: 5, count: 1, disk: 10},              // block 5 <- 10
		{file: 20, count: 1, disk: 11},             // past i_size
	}}
	want := make([]byte, r.size)
	for i := range want {
		switch blk := i / bs; blk {
		case 1, 2:
			want[i] = byte(blk + 2 + 1)
		case 5:
			want[i] = 11
		}
	}
	got := make([]byte, r.size+50)
	n, err := r.ReadAt(got, 0)
	if n != int(r.size) || err != io.EOF || !bytes.Equal(got[:n], want) {
		t.Fatalf("ReadAt = %d, %v; contents equal: %v", n, err, bytes.Equal(got[:n], want))
	}
	for off := int64(0); off < r.size; off += 333 {
		b := make([]byte, 1500)
		n, _ := r.ReadAt(b, off)
		if !bytes.Equal(b[:n], want[off:off+int64(n)]) {
			t.Fatalf("ReadAt at %d differs", off)
		}
	}
	if n, err := r.ReadAt(got, r.size+1); n != 0 || err != io.EOF {
		t.Errorf("past the end: %d, %v", n, err)
	}
	r.exts = slices.Insert(r.exts, 3, extent{file: 7, count: 1, disk: 20}) // block 20 of 16
	_, err = r.ReadAt(make([]byte, bs), 7*bs)
	var fe *FormatError
	if !errors.As(err, &fe) || !errors.Is(err, ErrBadImage) {
		t.Errorf("block outside the partition: %v, want a FormatError", err)
	}
}
