package live

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Layout of the TPACKET_V3 ring (linux/if_packet.h): the ring is nBlocks
// blocks of blockSize bytes. Each block starts with struct
// tpacket_block_desc, whose struct tpacket_hdr_v1 holds the block's status
// (owned by the kernel or by user space), its packet count and the offset
// of its first packet; packets are chained by tpacket3_hdr.tp_next_offset.
const (
	bdStatusOff     = 8  // tpacket_block_desc.hdr.bh1.block_status
	bdNumPktsOff    = 12 // .num_pkts
	bdFirstPktOff   = 16 // .offset_to_first_pkt
	tp3NextOff      = 0  // tpacket3_hdr.tp_next_offset
	tp3SecOff       = 4  // .tp_sec
	tp3NsecOff      = 8  // .tp_nsec
	tp3SnaplenOff   = 12 // .tp_snaplen
	tp3LenOff       = 16 // .tp_len
	tp3StatusOff    = 20 // .tp_status
	tp3MacOff       = 24 // .tp_mac
	tp3HdrLen       = unix.SizeofTpacket3Hdr
	sockaddrLLLen   = 20 // struct sockaddr_ll, after the header in each frame
	tpacketAlign    = 16 // TPACKET_ALIGNMENT
	ringFrameSize   = 2048
	blockHeaderRoom = 64 // tpacket_block_desc, aligned
)

// ring is a mapped TPACKET_V3 receive ring, read by one goroutine.
type ring struct {
	mem       []byte
	blockSize int
	nBlocks   int
	cur       int  // block read next
	held      bool // block cur belongs to user space
	left      int  // packets not yet read in block cur
	off       int  // offset in block cur of the next packet
}

// ringGeometry returns the block size and count for c: blocks are a power
// of two of at least a page and one full frame; at least two blocks.
func ringGeometry(c Config) (blockSize, nBlocks int) {
	need := blockHeaderRoom + alignUp(tp3HdrLen+sockaddrLLLen, tpacketAlign) + alignUp(c.Snaplen+ethHeaderLen+8, tpacketAlign)
	want := max(c.BlockSize, os.Getpagesize(), need, ringFrameSize)
	blockSize = 1
	for blockSize < want {
		blockSize <<= 1
	}
	nBlocks = max(2, c.BufferSize/blockSize)
	return blockSize, nBlocks
}

func alignUp(n, a int) int { return (n + a - 1) &^ (a - 1) }

// setupRing switches fd to TPACKET_V3 and maps a receive ring.
func setupRing(fd int, c Config) (*ring, error) {
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return nil, fmt.Errorf("PACKET_VERSION TPACKET_V3: %w", err)
	}
	bs, nb := ringGeometry(c)
	tov := max(1, c.BlockTimeout/time.Millisecond)
	req := unix.TpacketReq3{
		Block_size:     uint32(bs),
		Block_nr:       uint32(nb),
		Frame_size:     ringFrameSize,
		Frame_nr:       uint32(bs / ringFrameSize * nb),
		Retire_blk_tov: uint32(tov),
	}
	if err := unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return nil, fmt.Errorf("PACKET_RX_RING (%d blocks of %d bytes): %w", nb, bs, err)
	}
	mem, err := unix.Mmap(fd, 0, bs*nb, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap ring (%d bytes): %w", bs*nb, err)
	}
	return &ring{mem: mem, blockSize: bs, nBlocks: nb}, nil
}

// status returns the block_status word of block i, shared with the kernel.
func (r *ring) status(i int) *uint32 {
	return (*uint32)(unsafe.Pointer(&r.mem[i*r.blockSize+bdStatusOff]))
}

// errRingCorrupt reports a block whose packet chain leaves the block.
var errRingCorrupt = errors.New("TPACKET_V3 block: packet outside the block")

// next returns the next frame in place (data aliases the ring until the
// following call), or nil data when no block is ready. wire is the
// frame's length on the wire; vlan reports an outer tag moved into the
// metadata.
func (r *ring) next() (data []byte, wire int, ts time.Time, vlan bool, err error) {
	if r.held && r.left == 0 {
		r.release()
	}
	if !r.held {
		if atomic.LoadUint32(r.status(r.cur))&unix.TP_STATUS_USER == 0 {
			return nil, 0, time.Time{}, false, nil
		}
		b := r.mem[r.cur*r.blockSize:]
		r.held = true
		r.left = int(binary.NativeEndian.Uint32(b[bdNumPktsOff:]))
		r.off = int(binary.NativeEndian.Uint32(b[bdFirstPktOff:]))
		if r.left == 0 {
			r.release()
			return nil, 0, time.Time{}, false, nil
		}
	}
	block := r.mem[r.cur*r.blockSize : (r.cur+1)*r.blockSize]
	if r.off < 0 || r.off+tp3HdrLen > len(block) {
		r.left = 0
		return nil, 0, time.Time{}, false, errRingCorrupt
	}
	h := block[r.off:]
	snap := int(binary.NativeEndian.Uint32(h[tp3SnaplenOff:]))
	wire = int(binary.NativeEndian.Uint32(h[tp3LenOff:]))
	start := r.off + int(binary.NativeEndian.Uint16(h[tp3MacOff:]))
	if start+snap > len(block) {
		r.left = 0
		return nil, 0, time.Time{}, false, errRingCorrupt
	}
	ts = time.Unix(int64(binary.NativeEndian.Uint32(h[tp3SecOff:])), int64(binary.NativeEndian.Uint32(h[tp3NsecOff:])))
	data = block[start : start+snap : start+snap]
	vlan = binary.NativeEndian.Uint32(h[tp3StatusOff:])&unix.TP_STATUS_VLAN_VALID != 0
	r.left--
	if r.left > 0 {
		next := int(binary.NativeEndian.Uint32(h[tp3NextOff:]))
		if next <= 0 {
			r.left = 0
		}
		r.off += next
	}
	return data, wire, ts, vlan, nil
}

// release hands block cur back to the kernel and moves to the next one.
func (r *ring) release() {
	atomic.StoreUint32(r.status(r.cur), unix.TP_STATUS_KERNEL)
	r.held = false
	r.left = 0
	r.cur = (r.cur + 1) % r.nBlocks
}

// detach replaces the ring's pages with private zero pages at the same
// address: the kernel's ring is freed once the socket is closed, while a
// segment still aliasing it reads zeros instead of faulting.
func (r *ring) detach() {
	if r.mem == nil {
		return
	}
	_, _, e := unix.Syscall6(unix.SYS_MMAP, uintptr(unsafe.Pointer(&r.mem[0])), uintptr(len(r.mem)),
		unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED, ^uintptr(0), 0)
	_ = e // on failure the old mapping simply stays until unmap
}

// unmap releases the mapping; safe to call twice.
func (r *ring) unmap() {
	if r.mem == nil {
		return
	}
	unix.Munmap(r.mem)
	r.mem = nil
}
