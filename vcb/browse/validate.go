package browse

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math/bits"
)

// ErrCorrupt means a partition table or file system header contradicts
// itself or the disk size (checked before go-diskfs sees it, so a hostile
// image can neither make it allocate gigabytes nor loop). It wraps
// ErrBadImage: errors.Is(err, ErrBadImage) holds too.
var ErrCorrupt = fmt.Errorf("%w: inconsistent structure", ErrBadImage)

// FormatError names the structure and field that failed validation. It
// wraps ErrCorrupt.
type FormatError struct {
	Structure string // "gpt", "mbr", "fat", "ext4"
	Offset    int64  // byte offset of the structure in the disk
	Field     string // e.g. "partitionEntrySize"
	Msg       string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("browse: corrupt %s at byte %d: %s: %s", e.Structure, e.Offset, e.Field, e.Msg)
}

// Unwrap returns ErrCorrupt.
func (e *FormatError) Unwrap() error { return ErrCorrupt }

func bad(structure string, off int64, field, format string, args ...any) error {
	return &FormatError{Structure: structure, Offset: off, Field: field, Msg: fmt.Sprintf(format, args...)}
}

const sector = 512 // go-diskfs opens disks with 512-byte logical sectors

// Limits of what a sane disk holds; go-diskfs allocates from these fields.
const (
	gptEntrySize    = 128     // the only entry size go-diskfs reads
	maxGPTEntries   = 1 << 14 // 2 MiB of entries (the standard table holds 128)
	maxFATBytes     = 1 << 30 // FAT32's largest FAT: 2^28 entries of 4 bytes
	maxClusterBytes = 1 << 16 // 64 KiB clusters (the largest any FAT driver uses)
)

// readAt reads len(b) bytes at off, or fails with a FormatError.
func readAt(r io.ReaderAt, b []byte, off int64, structure string) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || err == io.EOF {
		return bad(structure, off, "size", "disk ends after %d of %d bytes", n, len(b))
	}
	return fmt.Errorf("browse: reading %s at %d: %w", structure, off, err)
}

// checkTable validates what go-diskfs will read as the partition table:
// a GPT header that go-diskfs would accept (signature, revision, size,
// CRC) at LBA 1 or, as its backup, at the last LBA, else the MBR.
func checkTable(r io.ReaderAt, size int64) error {
	if size < sector {
		return nil // go-diskfs finds no table
	}
	gpt := false
	for _, lba := range []int64{1, size/sector - 1} {
		if lba < 1 || (lba+1)*sector > size {
			continue
		}
		h := make([]byte, sector)
		if err := readAt(r, h, lba*sector, "gpt"); err != nil {
			return err
		}
		if !gptHeaderValid(h) {
			continue
		}
		gpt = true
		if err := checkGPT(h, lba, size); err != nil {
			return err
		}
	}
	if gpt {
		return nil
	}
	mbr := make([]byte, sector)
	if err := readAt(r, mbr, 0, "mbr"); err != nil {
		return err
	}
	if mbr[510] != 0x55 || mbr[511] != 0xaa {
		return nil
	}
	for i := range 4 {
		e := mbr[446+16*i : 446+16*(i+1)]
		typ, start, n := e[4], int64(binary.LittleEndian.Uint32(e[8:])), int64(binary.LittleEndian.Uint32(e[12:]))
		if typ == 0 || n == 0 {
			continue
		}
		if (start+n)*sector > size {
			return bad("mbr", int64(446+16*i), fmt.Sprintf("partition %d", i+1), "sectors %d+%d extend past the disk end (%d sectors)", start, n, size/sector)
		}
	}
	return nil
}

// gptHeaderValid repeats go-diskfs's acceptance test of a GPT header.
func gptHeaderValid(h []byte) bool {
	le := binary.LittleEndian
	if string(h[0:8]) != "EFI PART" || le.Uint32(h[8:]) != 0x00010000 || le.Uint32(h[12:]) != 92 || le.Uint32(h[20:]) != 0 {
		return false
	}
	c := append([]byte(nil), h[:92]...)
	clear(c[16:20])
	return crc32.ChecksumIEEE(c) == le.Uint32(h[16:])
}

// checkGPT bounds the partition entry array of the GPT header at lba.
func checkGPT(h []byte, lba, size int64) error {
	le := binary.LittleEndian
	off := lba * sector
	first, count, esize := le.Uint64(h[72:]), le.Uint32(h[80:]), le.Uint32(h[84:])
	if esize != gptEntrySize {
		return bad("gpt", off+84, "partitionEntrySize", "%d bytes, want %d", esize, gptEntrySize)
	}
	if count > maxGPTEntries {
		return bad("gpt", off+80, "numberOfPartitionEntries", "%d entries exceed %d", count, maxGPTEntries)
	}
	lbas := uint64(size / sector)
	if first < 2 && lba == 1 || first >= lbas || first*sector+uint64(count)*uint64(esize) > uint64(size) {
		return bad("gpt", off+72, "partitionEntryLBA", "entry array at LBA %d (%d entries) outside the disk of %d sectors", first, count, lbas)
	}
	firstUsable, lastUsable := le.Uint64(h[40:]), le.Uint64(h[48:])
	if firstUsable > lastUsable || lastUsable >= lbas {
		return bad("gpt", off+40, "usableLBAs", "%d-%d outside the disk of %d sectors", firstUsable, lastUsable, lbas)
	}
	return nil
}

// fsKind identifies the file system at start (size bytes) and validates
// its header: "fat12", "fat16", "fat32", "ext4", or ErrNoFileSystem.
func fsKind(r io.ReaderAt, start, size int64) (string, error) {
	if size < 2048 {
		return "", ErrNoFileSystem
	}
	b := make([]byte, 2048)
	if err := readAt(r, b, start, "file system"); err != nil {
		return "", err
	}
	if binary.LittleEndian.Uint16(b[1024+0x38:]) == 0xef53 {
		return "ext4", checkExt4(b[1024:], start, size)
	}
	if string(b[3:11]) == "NTFS    " && b[510] == 0x55 && b[511] == 0xaa {
		return "ntfs", checkNTFS(b[:512], start, size)
	}
	if b[510] == 0x55 && b[511] == 0xaa && (b[0] == 0xeb || b[0] == 0xe9) {
		kind, fat, err := checkFAT(b[:512], start, size)
		if err != nil {
			return "", err
		}
		return kind, checkFATChains(r, fat, start)
	}
	return "", ErrNoFileSystem
}

// fatGeometry is what checkFATChains needs from the boot sector.
type fatGeometry struct {
	kind  string
	off   int64 // first FAT, bytes from the file system start
	bytes int64 // FAT size
}

// checkFAT validates a FAT boot sector (BPB) against the partition size,
// with the FAT type decided as the Microsoft specification and Linux do.
func checkFAT(b []byte, start, size int64) (string, fatGeometry, error) {
	le := binary.LittleEndian
	bps := int64(le.Uint16(b[11:]))
	spc := int64(b[13])
	reserved := int64(le.Uint16(b[14:]))
	nfats := int64(b[16])
	rootEntries := int64(le.Uint16(b[17:]))
	total := int64(le.Uint16(b[19:]))
	if total == 0 {
		total = int64(le.Uint32(b[32:]))
	}
	spf := int64(le.Uint16(b[22:]))
	fat32 := spf == 0
	if fat32 {
		spf = int64(le.Uint32(b[36:]))
	}
	fail := func(off int64, field, format string, args ...any) (string, fatGeometry, error) {
		return "", fatGeometry{}, bad("fat", start+off, field, format, args...)
	}
	switch {
	case bps < 512 || bps > 4096 || bits.OnesCount64(uint64(bps)) != 1:
		return fail(11, "bytesPerSector", "%d", bps)
	case spc == 0 || bits.OnesCount64(uint64(spc)) != 1 || spc*bps > maxClusterBytes:
		return fail(13, "sectorsPerCluster", "%d (%d-byte sectors)", spc, bps)
	case reserved == 0:
		return fail(14, "reservedSectors", "0")
	case nfats == 0 || nfats > 2:
		return fail(16, "numberOfFATs", "%d", nfats)
	case total == 0 || total*bps > size:
		return fail(19, "totalSectors", "%d sectors of %d bytes in a partition of %d bytes", total, bps, size)
	case spf == 0 || spf*bps > maxFATBytes:
		return fail(22, "sectorsPerFAT", "%d", spf)
	case fat32 && rootEntries != 0:
		return fail(17, "rootEntries", "%d on FAT32", rootEntries)
	case !fat32 && rootEntries == 0:
		return fail(17, "rootEntries", "0 on FAT12/16")
	}
	rootSectors := (rootEntries*32 + bps - 1) / bps
	meta := reserved + nfats*spf + rootSectors
	if meta >= total {
		return fail(22, "sectorsPerFAT", "reserved %d + %d FATs of %d + root %d sectors leave no data in %d sectors", reserved, nfats, spf, rootSectors, total)
	}
	clusters := (total - meta) / spc
	kind, entryBits := "fat32", int64(32)
	switch {
	case fat32:
		if root := int64(le.Uint32(b[44:])); root < 2 || root >= clusters+2 {
			return fail(44, "rootCluster", "%d outside clusters 2-%d", root, clusters+1)
		}
		if nfats != 2 {
			return fail(16, "numberOfFATs", "%d (go-diskfs reads FAT32 with two FATs)", nfats)
		}
	case clusters < 4085:
		kind, entryBits = "fat12", 12
	case clusters < 65525:
		kind, entryBits = "fat16", 16
	default:
		return fail(19, "totalSectors", "%d clusters are too many for FAT16", clusters)
	}
	need := ((clusters+2)*entryBits + 7) / 8
	if fatBytes := spf * bps; fatBytes < need || fatBytes > 2*need+4*bps {
		return fail(22, "sectorsPerFAT", "%d bytes of FAT for %d clusters (need %d)", fatBytes, clusters, need)
	}
	if kind != "fat32" && bps != 512 {
		return fail(11, "bytesPerSector", "%d on %s (go-diskfs reads 512)", bps, kind)
	}
	return kind, fatGeometry{kind: kind, off: reserved * bps, bytes: spf * bps}, nil
}

// checkFATChains reads the first FAT and checks that every cluster chain
// ends: go-diskfs follows chains without loop detection, so a cycle would
// make it loop forever, appending to a slice. Entries are interpreted as
// go-diskfs does: a chain ends at an end-of-chain mark, at a value above
// the table's last entry or below 2.
func checkFATChains(r io.ReaderAt, g fatGeometry, start int64) error {
	raw := make([]byte, g.bytes)
	if err := readAt(r, raw, start+g.off, "fat"); err != nil {
		return err
	}
	var n int64
	var eoc uint32
	switch g.kind {
	case "fat12":
		n, eoc = g.bytes*2/3, 0xff8
	case "fat16":
		n, eoc = g.bytes/2, 0xfff8
	default:
		n = g.bytes / 4
	}
	entry := func(i int64) uint32 {
		switch g.kind {
		case "fat12":
			v := uint32(raw[i*3/2]) | uint32(raw[i*3/2+1])<<8
			if i%2 == 1 {
				return v >> 4
			}
			return v & 0xfff
		case "fat16":
			return uint32(binary.LittleEndian.Uint16(raw[i*2:]))
		}
		return binary.LittleEndian.Uint32(raw[i*4:])
	}
	end := func(v uint32) bool {
		if g.kind == "fat32" {
			return v&0xffffff8 == 0xffffff8
		}
		return v >= eoc
	}
	last := n - 1 // highest entry index present
	if g.kind == "fat12" && (last*3/2+1) >= int64(len(raw)) {
		last--
	}
	const (
		unseen = iota
		walking
		done
	)
	state := make([]byte, last+1)
	for c := int64(2); c <= last; c++ {
		if state[c] != unseen {
			continue
		}
		// Walk the chain from c, marking it, until it ends or meets a
		// cluster already known to end.
		p := c
		for p >= 2 && p <= last && state[p] == unseen {
			state[p] = walking
			v := entry(p)
			if v == 0 || end(v) || int64(v) > last {
				break
			}
			p = int64(v)
		}
		if p >= 2 && p <= last && state[p] == walking && entry(p) != 0 && !end(entry(p)) && int64(entry(p)) <= last {
			return bad("fat", start+g.off, "clusterChain", "cluster %d is part of a loop", p)
		}
		// Mark the walked path as ending.
		for q := c; q >= 2 && q <= last && state[q] == walking; {
			state[q] = done
			v := entry(q)
			if v == 0 || end(v) || int64(v) > last {
				break
			}
			q = int64(v)
		}
	}
	return nil
}

// checkExt4 validates an ext4 superblock (sb: 1024 bytes) against the
// partition size: block size, blocks and inodes per group, the group
// count and the group descriptor table go-diskfs allocates from them.
func checkExt4(sb []byte, start, size int64) error {
	le := binary.LittleEndian
	off := start + 1024
	fail := func(o int64, field, format string, args ...any) error {
		return bad("ext4", off+o, field, format, args...)
	}
	logBlock := le.Uint32(sb[0x18:])
	if logBlock > 6 {
		return fail(0x18, "s_log_block_size", "%d (blocks of 1 KiB << %d)", logBlock, logBlock)
	}
	bs := uint64(1024) << logBlock
	incompat := le.Uint32(sb[0x60:])
	is64 := incompat&0x80 != 0
	blocks := uint64(le.Uint32(sb[0x04:]))
	if is64 {
		blocks |= uint64(le.Uint32(sb[0x150:])) << 32
	}
	perGroup := uint64(le.Uint32(sb[0x20:]))
	inodesPerGroup := uint64(le.Uint32(sb[0x28:]))
	inodes := uint64(le.Uint32(sb[0x00:]))
	firstData := uint64(le.Uint32(sb[0x14:]))
	switch {
	case blocks == 0 || blocks > uint64(size)/bs:
		return fail(0x04, "s_blocks_count", "%d blocks of %d bytes in a partition of %d bytes", blocks, bs, size)
	case perGroup < 8 || perGroup > 8*bs:
		return fail(0x20, "s_blocks_per_group", "%d (block size %d)", perGroup, bs)
	case inodesPerGroup == 0 || inodesPerGroup > 8*bs:
		return fail(0x28, "s_inodes_per_group", "%d (block size %d)", inodesPerGroup, bs)
	case firstData > 1 || firstData == 1 && bs != 1024 || firstData >= blocks:
		return fail(0x14, "s_first_data_block", "%d with %d-byte blocks", firstData, bs)
	}
	groups := (blocks + perGroup - 1) / perGroup // as go-diskfs counts them
	realGroups := (blocks - firstData + perGroup - 1) / perGroup
	if inodes != realGroups*inodesPerGroup && inodes != groups*inodesPerGroup {
		return fail(0x00, "s_inodes_count", "%d, want %d groups x %d", inodes, realGroups, inodesPerGroup)
	}
	descSize := uint64(32)
	if is64 {
		descSize = uint64(le.Uint16(sb[0xfe:]))
		if descSize < 32 || descSize > 1024 || bits.OnesCount64(descSize) != 1 {
			return fail(0xfe, "s_desc_size", "%d", descSize)
		}
	}
	gdtBlock := uint64(1)
	if bs == 1024 {
		gdtBlock = 2
	}
	if gdt := groups * descSize; gdtBlock*bs+gdt > uint64(size) {
		return fail(0x20, "s_blocks_per_group", "%d groups need a %d-byte descriptor table beyond the partition end", groups, gdt)
	}
	if rev := le.Uint32(sb[0x4c:]); rev >= 1 {
		is := uint64(le.Uint16(sb[0x58:]))
		if is < 128 || is > bs || bits.OnesCount64(is) != 1 {
			return fail(0x58, "s_inode_size", "%d", is)
		}
	}
	return nil
}
