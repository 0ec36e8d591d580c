package live

import (
	"encoding/binary"
	"testing"
)

// FuzzRingBlock feeds arbitrary bytes to the ring reader as one block the
// kernel handed over: whatever the packet count, offsets and lengths say,
// next must stay inside the block and never panic.
func FuzzRingBlock(f *testing.F) {
	// A well-formed block with two packets.
	blk := make([]byte, 4096)
	binary.NativeEndian.PutUint32(blk[bdNumPktsOff:], 2)
	binary.NativeEndian.PutUint32(blk[bdFirstPktOff:], 48)
	for i, off := range []int{48, 48 + 160} {
		h := blk[off:]
		if i == 0 {
			binary.NativeEndian.PutUint32(h[tp3NextOff:], 160)
		}
		binary.NativeEndian.PutUint32(h[tp3SnaplenOff:], 74)
		binary.NativeEndian.PutUint32(h[tp3LenOff:], 74)
		binary.NativeEndian.PutUint16(h[tp3MacOff:], 80)
	}
	f.Add(blk)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		const bs = 4096
		mem := make([]byte, 2*bs)
		copy(mem, data)
		r := &ring{mem: mem, blockSize: bs, nBlocks: 2}
		binary.NativeEndian.PutUint32(mem[bdStatusOff:], 1) // TP_STATUS_USER
		for range 1000 {
			d, wire, _, _, err := r.next()
			if d == nil && err == nil {
				break
			}
			if err != nil {
				continue
			}
			if wire < 0 || len(d) > bs {
				t.Fatalf("frame of %d bytes, wire %d", len(d), wire)
			}
		}
		if r.held && r.cur != 0 {
			t.Fatalf("ring moved past the only ready block")
		}
	})
}
