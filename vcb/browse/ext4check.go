package browse

import (
	"encoding/binary"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"
)

// go-diskfs reads ext4 inodes lazily and trusts them: a directory or
// symbolic link is read whole into memory (an inode can declare any size
// and extents of up to 65535 blocks), and extent trees are followed
// without checking that depth decreases (a self-referencing index block
// recurses until the stack overflows, which no recover catches). ext4Check
// validates, before go-diskfs reads a path, every inode it will read on
// the way: the directories leading to it, the target and, when listing,
// every entry.

// Limits on what go-diskfs may read into memory for one inode.
const (
	maxDirBytes     = 16 << 20 // a directory of about 200000 entries
	maxLinkBytes    = 4096     // PATH_MAX
	maxExtentNodes  = 1 << 16  // extent tree nodes per inode
	ext4RootInode   = 2
	extentMagic     = 0xf30a
	inodeFlagExtent = 0x80000
)

type ext4Check struct {
	r           io.ReaderAt
	start, size int64
	bs          int64
	blocks      uint64
	inodes      uint64
	ipg         uint64
	inodeSize   int64
	descSize    int64
	gdtOff      int64
	is64        bool

	mu      sync.Mutex
	good    map[uint64]bool              // inodes already validated
	dirs    map[uint64]map[string]uint64 // directories already read
	dirEnts int                          // entries in dirs
}

// maxCachedEntries bounds the directory cache (about 100 MiB at most).
const maxCachedEntries = 1 << 20

// newExt4Check reads the superblock checkExt4 has validated.
func newExt4Check(r io.ReaderAt, start, size int64) (*ext4Check, error) {
	sb := make([]byte, 1024)
	if err := readAt(r, sb, start+1024, "ext4"); err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	c := &ext4Check{r: r, start: start, size: size, good: map[uint64]bool{}, dirs: map[uint64]map[string]uint64{}}
	c.bs = 1024 << le.Uint32(sb[0x18:])
	c.is64 = le.Uint32(sb[0x60:])&0x80 != 0
	c.blocks = uint64(le.Uint32(sb[0x04:]))
	c.descSize = 32
	if c.is64 {
		c.blocks |= uint64(le.Uint32(sb[0x150:])) << 32
		c.descSize = int64(le.Uint16(sb[0xfe:]))
	}
	c.inodes = uint64(le.Uint32(sb[0x00:]))
	c.ipg = uint64(le.Uint32(sb[0x28:]))
	c.inodeSize = 128
	if le.Uint32(sb[0x4c:]) >= 1 {
		c.inodeSize = int64(le.Uint16(sb[0x58:]))
	}
	c.gdtOff = c.bs
	if c.bs == 1024 {
		c.gdtOff = 2048
	}
	return c, nil
}

func (c *ext4Check) fail(ino uint64, field, format string, args ...any) error {
	return bad("ext4", c.start, fmt.Sprintf("inode %d %s", ino, field), format, args...)
}

// inode reads inode ino's bytes.
func (c *ext4Check) inode(ino uint64) ([]byte, error) {
	if ino == 0 || ino > c.inodes {
		return nil, c.fail(ino, "number", "outside 1-%d", c.inodes)
	}
	group, idx := (ino-1)/c.ipg, (ino-1)%c.ipg
	gd := make([]byte, c.descSize)
	if err := readAt(c.r, gd, c.start+c.gdtOff+int64(group)*c.descSize, "ext4"); err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	table := uint64(le.Uint32(gd[8:]))
	if c.is64 && c.descSize >= 64 {
		table |= uint64(le.Uint32(gd[0x28:])) << 32
	}
	if table >= c.blocks {
		return nil, c.fail(ino, "inode table", "block %d of group %d outside %d blocks", table, group, c.blocks)
	}
	off := int64(table)*c.bs + int64(idx)*c.inodeSize
	if off+c.inodeSize > c.size {
		return nil, c.fail(ino, "inode table", "inode at byte %d outside the partition", off)
	}
	b := make([]byte, c.inodeSize)
	return b, readAt(c.r, b, c.start+off, "ext4")
}

// extent is one leaf extent: file block, length, disk block.
type extent struct {
	file   uint64
	count  uint64
	disk   uint64
	uninit bool // allocated but unwritten: reads as zeros
}

// check validates inode ino and returns its mode, size and extents.
func (c *ext4Check) check(ino uint64) (mode uint16, size uint64, exts []extent, err error) {
	mode, _, size, exts, err = c.load(ino)
	return mode, size, exts, err
}

// load validates inode ino and returns its mode, flags, size and extents.
func (c *ext4Check) load(ino uint64) (mode uint16, flags uint32, size uint64, exts []extent, err error) {
	b, err := c.inode(ino)
	if err != nil {
		return 0, 0, 0, nil, err
	}
	le := binary.LittleEndian
	mode = le.Uint16(b[0:])
	size = uint64(le.Uint32(b[4:])) | uint64(le.Uint32(b[0x6c:]))<<32
	flags = le.Uint32(b[0x20:])
	if flags&inodeFlagExtent != 0 {
		nodes := 0
		if exts, err = c.walk(ino, b[0x28:0x28+60], -1, &nodes); err != nil {
			return 0, 0, 0, nil, err
		}
	}
	switch mode & 0xf000 {
	case 0x4000:
		if size > maxDirBytes {
			return 0, 0, 0, nil, c.fail(ino, "size", "directory of %d bytes (limit %d)", size, maxDirBytes)
		}
	case 0xa000:
		if size > maxLinkBytes {
			return 0, 0, 0, nil, c.fail(ino, "size", "symbolic link of %d bytes", size)
		}
	}
	return mode, flags, size, exts, nil
}

// walk validates an extent tree node (depth must be want, or any at the
// root) and returns its leaf extents.
func (c *ext4Check) walk(ino uint64, b []byte, want int, nodes *int) ([]extent, error) {
	if *nodes++; *nodes > maxExtentNodes {
		return nil, c.fail(ino, "extents", "more than %d extent tree nodes", maxExtentNodes)
	}
	le := binary.LittleEndian
	if len(b) < 24 || le.Uint16(b[0:]) != extentMagic {
		return nil, c.fail(ino, "extents", "bad extent header")
	}
	entries, maxEnt, depth := int(le.Uint16(b[2:])), int(le.Uint16(b[4:])), int(le.Uint16(b[6:]))
	if entries > maxEnt || 12+12*entries > len(b) || depth > 5 || want >= 0 && depth != want {
		return nil, c.fail(ino, "extents", "node with %d/%d entries at depth %d (want %d)", entries, maxEnt, depth, want)
	}
	var out []extent
	for i := range entries {
		e := b[12+12*i:]
		if depth == 0 {
			n, uninit := uint64(le.Uint16(e[4:])), false
			if n > 32768 {
				n, uninit = n-32768, true // uninitialized extent
			}
			disk := uint64(le.Uint16(e[6:]))<<32 | uint64(le.Uint32(e[8:]))
			if disk >= c.blocks || n > c.blocks-disk {
				return nil, c.fail(ino, "extents", "blocks %d+%d outside %d blocks", disk, n, c.blocks)
			}
			out = append(out, extent{uint64(le.Uint32(e[0:])), n, disk, uninit})
			continue
		}
		child := uint64(le.Uint16(e[8:]))<<32 | uint64(le.Uint32(e[4:]))
		if child >= c.blocks {
			return nil, c.fail(ino, "extents", "index block %d outside %d blocks", child, c.blocks)
		}
		cb := make([]byte, c.bs)
		if err := readAt(c.r, cb, c.start+int64(child)*c.bs, "ext4"); err != nil {
			return nil, err
		}
		sub, err := c.walk(ino, cb, depth-1, nodes)
		if err != nil {
			return nil, err
		}
		out = append(out, sub...)
	}
	return out, nil
}

// dir returns the entries of directory inode ino (validated): name ->
// inode, cached so that a lookup per entry of a listing (as a FUSE tree
// does) does not re-read the directory.
func (c *ext4Check) dir(ino uint64) (map[string]uint64, error) {
	c.mu.Lock()
	ents, ok := c.dirs[ino]
	c.mu.Unlock()
	if ok {
		return ents, nil
	}
	ents, err := c.readDir(ino)
	if err != nil || ents == nil {
		return ents, err
	}
	c.mu.Lock()
	if c.dirEnts+len(ents) > maxCachedEntries {
		clear(c.dirs)
		c.dirEnts = 0
	}
	c.dirs[ino] = ents
	c.dirEnts += len(ents)
	c.mu.Unlock()
	return ents, nil
}

func (c *ext4Check) readDir(ino uint64) (map[string]uint64, error) {
	mode, size, exts, err := c.check(ino)
	if err != nil || mode&0xf000 != 0x4000 {
		return nil, err
	}
	ents := map[string]uint64{}
	le := binary.LittleEndian
	var got uint64
	for _, e := range exts {
		if got >= size {
			break
		}
		n := min(int64(e.count)*c.bs, int64(size-got))
		b := make([]byte, n)
		if err := readAt(c.r, b, c.start+int64(e.disk)*c.bs, "ext4"); err != nil {
			return nil, err
		}
		got += uint64(n)
		for blk := int64(0); blk < n; blk += c.bs {
			block := b[blk:min(blk+c.bs, n)]
			for off := 0; off+8 <= len(block); {
				in, rec, nl := le.Uint32(block[off:]), int(le.Uint16(block[off+4:])), int(block[off+6])
				if rec < 8 || off+rec > len(block) {
					break
				}
				if in != 0 && off+8+nl <= len(block) {
					ents[string(block[off+8:off+8+nl])] = uint64(in)
				}
				off += rec
			}
		}
	}
	return ents, nil
}

// checkInode validates ino unless it already was.
func (c *ext4Check) checkInode(ino uint64) error {
	c.mu.Lock()
	ok := c.good[ino]
	c.mu.Unlock()
	if ok {
		return nil
	}
	if _, _, _, err := c.check(ino); err != nil {
		return err
	}
	c.mu.Lock()
	if len(c.good) > 1<<20 {
		clear(c.good)
	}
	c.good[ino] = true
	c.mu.Unlock()
	return nil
}

// checkPath validates the inodes go-diskfs reads to resolve name (an
// fs.FS path) and, when listing, those of the directory's entries.
func (c *ext4Check) checkPath(name string, listing bool) error {
	_, err := c.resolve(name, listing)
	return err
}

// resolve is checkPath that also returns name's inode (0 when a
// component is missing).
func (c *ext4Check) resolve(name string, listing bool) (uint64, error) {
	ino := uint64(ext4RootInode)
	if err := c.checkInode(ino); err != nil {
		return 0, err
	}
	if name != "." {
		for _, comp := range strings.Split(path.Clean(name), "/") {
			ents, err := c.dir(ino)
			if err != nil {
				return 0, err
			}
			next, ok := ents[comp]
			if !ok {
				return 0, nil // go-diskfs reports the missing name
			}
			if err := c.checkInode(next); err != nil {
				return 0, err
			}
			ino = next
		}
	}
	if !listing {
		return ino, nil
	}
	ents, err := c.dir(ino)
	if err != nil {
		return 0, err
	}
	for n, e := range ents {
		if n == "." || n == ".." {
			continue
		}
		if err := c.checkInode(e); err != nil {
			return 0, err
		}
	}
	return ino, nil
}
