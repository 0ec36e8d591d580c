package vmdk_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/bulletproof-labs/wsvcb/vcb/vmdk"
)

// A disk written as streamOptimized reads back byte for byte; only the
// grain holding data is stored.
func Example() {
	disk := make([]byte, 1<<20) // 1 MiB virtual disk
	copy(disk[300000:], "hello, backup")

	var img bytes.Buffer
	if _, err := vmdk.WriteStreamOptimized(context.Background(), &img, bytes.NewReader(disk), int64(len(disk)), nil); err != nil {
		panic(err)
	}
	d, err := vmdk.NewSparseReader(bytes.NewReader(img.Bytes()), int64(img.Len()))
	if err != nil {
		panic(err)
	}
	back, _ := io.ReadAll(io.NewSectionReader(d, 0, d.Size()))
	fmt.Println(d.CreateType(), d.Size(), bytes.Equal(back, disk))
	d.Allocated(func(off, n int64) error {
		fmt.Println("allocated", off, n)
		return nil
	})
	// Output:
	// streamOptimized 1048576 true
	// allocated 262144 65536
}

// Open a flat disk: a text descriptor and its -flat extent file.
func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "vmdk")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "disk-flat.vmdk"), []byte(strings.Repeat("x", 1024)), 0o644)
	os.WriteFile(filepath.Join(dir, "disk.vmdk"), []byte(`# Disk DescriptorFile
version=1
CID=fffffffe
parentCID=ffffffff
createType="monolithicFlat"
RW 2 FLAT "disk-flat.vmdk" 0
RW 2 ZERO
`), 0o644)
	d, err := vmdk.Open(filepath.Join(dir, "disk.vmdk"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close()
	b := make([]byte, 4)
	d.ReadAt(b, 1022)
	fmt.Printf("%s %d %q\n", d.CreateType(), d.Size(), b)
	// Output: monolithicFlat 2048 "xx\x00\x00"
}

// Parse a descriptor and list its extents.
func ExampleParseDescriptor() {
	d, err := vmdk.ParseDescriptor([]byte("version=1\ncreateType=\"twoGbMaxExtentSparse\"\nRW 4192256 SPARSE \"d-s001.vmdk\"\nRW 2048 SPARSE \"d-s002.vmdk\"\nddb.adapterType = \"lsilogic\"\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range d.Extents {
		fmt.Println(e.Type, e.Sectors, e.FileName)
	}
	fmt.Println(d.Sectors()*vmdk.SectorSize, d.DDB["ddb.adapterType"])
	// Output:
	// SPARSE 4192256 d-s001.vmdk
	// SPARSE 2048 d-s002.vmdk
	// 2147483648 lsilogic
}

// A malformed image is a typed error that names the broken structure.
func ExampleFormatError() {
	img := make([]byte, 1024)
	copy(img, "KDMV")
	img[4] = 1 // version 1, grain size 0
	_, err := vmdk.NewSparseReader(bytes.NewReader(img), int64(len(img)))
	var fe *vmdk.FormatError
	fmt.Println(errors.Is(err, vmdk.ErrCorrupt), errors.As(err, &fe) && fe.Field == "header.grainSize")
	fmt.Println(err)
	// Output:
	// true true
	// vmdk at offset 20: corrupt header.grainSize: 0 sectors is not a power of two
}

// A streamOptimized image cut short (here: the last grain, the grain
// directory and the footer are missing) still opens: the grain index is
// rebuilt from the stream's markers, the part before the cut reads
// exactly, and the rest fails with ErrTruncated.
func ExampleDisk_Recovered() {
	disk := make([]byte, 1<<20)
	copy(disk[100:], "first grain")
	copy(disk[700000:], "last grain")
	var img bytes.Buffer
	if _, err := vmdk.WriteStreamOptimized(context.Background(), &img, bytes.NewReader(disk), int64(len(disk)), nil); err != nil {
		panic(err)
	}
	// An export cut short: 600 bytes after the first grain's marker, in
	// the second grain (grains start after the header's overhead).
	h, _ := vmdk.ParseHeader(img.Bytes())
	cut := img.Bytes()[:h.OverHead*vmdk.SectorSize+600]
	d, err := vmdk.NewSparseReader(bytes.NewReader(cut), int64(len(cut)))
	if err != nil {
		panic(err)
	}
	for _, r := range d.Recovered() {
		fmt.Println("complete:", r.Complete, "grains:", r.Grains, "known bytes:", r.KnownBytes)
	}
	buf := make([]byte, 11)
	d.ReadAt(buf, 100)
	fmt.Printf("%q\n", buf)
	_, err = d.ReadAt(buf, 700000)
	fmt.Println(errors.Is(err, vmdk.ErrTruncated), errors.Is(err, vmdk.ErrCorrupt))
	// Output:
	// complete: false grains: 1 known bytes: 65536
	// "first grain"
	// true true
}
