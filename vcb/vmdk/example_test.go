package vmdk_test

import (
	"bytes"
	"context"
	"fmt"
	"io"

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
