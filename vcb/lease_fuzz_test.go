package vcb

import (
	"bufio"
	"bytes"
	"testing"
)

// FuzzLeaseDescriptor: whatever a lease serves, sniffing it never panics
// and a descriptor it accepts has extents.
func FuzzLeaseDescriptor(f *testing.F) {
	f.Add([]byte("# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType=\"vmfs\"\n\nRW 131072 VMFS \"vm1-flat.vmdk\"\n"))
	f.Add([]byte("KDMV\x01\x00\x00\x00"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		d := leaseDescriptor(bufio.NewReaderSize(bytes.NewReader(data), maxDescriptor))
		if d != nil && len(d.Extents) == 0 {
			t.Fatal("descriptor without extents accepted")
		}
	})
}
