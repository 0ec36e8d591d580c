package browse_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/bulletproof-labs/wsvcb/internal/diskimg"
	"github.com/bulletproof-labs/wsvcb/internal/testenv"
	"github.com/bulletproof-labs/wsvcb/vcb/browse"
)

// A fuzz input is a sparse disk: a 4-byte size in sectors (capped at
// maxSparse), then chunks of (4-byte sector offset, 2-byte length, data).
// Real images shrink to their non-zero sectors, so seeds made by mkfs
// stay small while the disk keeps its real geometry; later chunks
// overlay earlier ones.
const maxSparse = 256 << 20

type chunk struct {
	off  int64
	data []byte
}

type sparseDisk struct {
	size   int64
	chunks []chunk
}

func decodeSparse(b []byte) *sparseDisk {
	d := &sparseDisk{}
	if len(b) < 4 {
		return d
	}
	d.size = min(int64(binary.LittleEndian.Uint32(b))*512, maxSparse)
	for b = b[4:]; len(b) >= 6; {
		off := int64(binary.LittleEndian.Uint32(b)) * 512
		n := min(int(binary.LittleEndian.Uint16(b[4:])), len(b)-6)
		if off < d.size {
			d.chunks = append(d.chunks, chunk{off, b[6 : 6+n]})
		}
		b = b[6+n:]
	}
	return d
}

// encodeSparse keeps the non-zero sectors of img.
func encodeSparse(img []byte) []byte {
	out := binary.LittleEndian.AppendUint32(nil, uint32(len(img)/512))
	zero := make([]byte, 512)
	for s := 0; s < len(img); {
		if bytes.Equal(img[s:s+512], zero) {
			s += 512
			continue
		}
		e := s + 512
		for e < len(img) && e-s < 65024 && !bytes.Equal(img[e:e+512], zero) {
			e += 512
		}
		out = binary.LittleEndian.AppendUint32(out, uint32(s/512))
		out = binary.LittleEndian.AppendUint16(out, uint16(e-s))
		out = append(out, img[s:e]...)
		s = e
	}
	return out
}

func (d *sparseDisk) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= d.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), d.size-off))
	clear(p[:n])
	for _, c := range d.chunks {
		lo, hi := max(off, c.off), min(off+int64(n), c.off+int64(len(c.data)))
		if lo < hi {
			copy(p[lo-off:hi-off], c.data[lo-c.off:hi-c.off])
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (d *sparseDisk) overlay(off int64, b []byte) { d.chunks = append(d.chunks, chunk{off, b}) }

// fixChecksums recomputes the checksums a mutation breaks, so the fuzzer
// reaches the structures behind them: the GPT header and entry array
// CRCs, and the CRC32c of ext4 superblocks (whole disk and partitions).
func (d *sparseDisk) fixChecksums() {
	le := binary.LittleEndian
	starts := []int64{0}
	h := make([]byte, 512)
	if n, _ := d.ReadAt(h, 512); n == 512 && string(h[:8]) == "EFI PART" {
		first, count, esize := int64(le.Uint64(h[72:])), int64(le.Uint32(h[80:])), int64(le.Uint32(h[84:]))
		if esize == 128 && count > 0 && count <= 1024 && first < d.size/512 {
			ents := make([]byte, count*esize)
			d.ReadAt(ents, first*512)
			le.PutUint32(h[88:], crc32.ChecksumIEEE(ents))
			for i := int64(0); i < count && i < 8; i++ {
				starts = append(starts, int64(le.Uint64(ents[i*128+32:]))*512)
			}
		}
		clear(h[16:20])
		le.PutUint32(h[16:], crc32.ChecksumIEEE(h[:92]))
		d.overlay(512, h)
	}
	mbr := make([]byte, 512)
	d.ReadAt(mbr, 0)
	for i := range 4 {
		starts = append(starts, int64(le.Uint32(mbr[446+16*i+8:]))*512)
	}
	for _, s := range starts {
		sb := make([]byte, 1024)
		if n, _ := d.ReadAt(sb, s+1024); n == 1024 && le.Uint16(sb[0x38:]) == 0xef53 && le.Uint32(sb[0x64:])&0x400 != 0 {
			le.PutUint32(sb[0x3fc:], ^crc32.Checksum(sb[:0x3fc], castagnoli))
			d.overlay(s+1024, sb)
			d.fixInodes(s, sb)
		}
	}
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crc32c is the kernel's crc32c_le: no final inversion.
func crc32c(c uint32, b []byte) uint32 { return ^crc32.Update(^c, castagnoli, b) }

// inodeChecksum computes an ext4 inode's metadata_csum (the checksum
// fields count as zero).
func inodeChecksum(seed uint32, ino uint32, in []byte) uint32 {
	le := binary.LittleEndian
	c := crc32c(seed, le.AppendUint32(nil, ino))
	c = crc32c(c, in[0x64:0x68]) // generation
	c = crc32c(c, in[:0x7c])
	c = crc32c(c, []byte{0, 0})
	c = crc32c(c, in[0x7e:0x80])
	if len(in) > 128 {
		c = crc32c(c, in[0x80:0x82])
		if le.Uint16(in[0x80:]) >= 4 {
			c = crc32c(c, []byte{0, 0})
			c = crc32c(c, in[0x84:])
		} else {
			c = crc32c(c, in[0x82:])
		}
	}
	return c
}

// fixInodes recomputes the checksums of the first inodes of group 0 (the
// root directory, lost+found and the seed's files) of the ext4 file
// system at s with superblock sb.
func (d *sparseDisk) fixInodes(s int64, sb []byte) {
	le := binary.LittleEndian
	bs := int64(1024) << min(le.Uint32(sb[0x18:]), 6)
	gdt := bs
	if bs == 1024 {
		gdt = 2048
	}
	isz := int64(le.Uint16(sb[0x58:]))
	if isz < 128 || isz > 1024 {
		return
	}
	seed := crc32c(^uint32(0), sb[0x68:0x78])
	if le.Uint32(sb[0x60:])&0x2000 != 0 {
		seed = le.Uint32(sb[0x270:])
	}
	gd := make([]byte, 32)
	d.ReadAt(gd, s+gdt)
	table := s + int64(le.Uint32(gd[8:]))*bs
	const n = 24
	tb := make([]byte, n*isz)
	if k, _ := d.ReadAt(tb, table); k != len(tb) {
		return
	}
	for i := range int64(n) {
		in := tb[i*isz : (i+1)*isz]
		c := inodeChecksum(seed, uint32(i+1), in)
		le.PutUint16(in[0x7c:], uint16(c))
		if isz > 128 && le.Uint16(in[0x80:]) >= 4 {
			le.PutUint16(in[0x82:], uint16(c>>16))
		}
	}
	d.overlay(table, tb)
}

var (
	seedMu    sync.Mutex
	seedCache [][]byte
)

// hostileSeeds builds real images with mkfs.vfat (FAT12, FAT16, FAT32),
// mkfs.ext4 (with and without metadata_csum) and partitioned disks (MBR,
// GPT) made by internal/diskimg, as sparse inputs; once per test binary.
func hostileSeeds(t testing.TB) [][]byte {
	seedMu.Lock()
	defer seedMu.Unlock()
	if seedCache == nil {
		seedCache = buildSeeds(t)
	}
	return seedCache
}

func buildSeeds(t testing.TB) [][]byte {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	os.MkdirAll(filepath.Join(src, "etc", "deep", "er"), 0o755)
	os.WriteFile(filepath.Join(src, "etc", "hostname"), []byte("backup-vm\n"), 0o644)
	os.WriteFile(filepath.Join(src, "etc", "deep", "er", "big.bin"), bytes.Repeat([]byte("0123456789abcdef"), 400), 0o644)
	// a sparse file (mkfs.ext4 -d keeps its holes): extents with gaps.
	if sp, err := os.Create(filepath.Join(src, "etc", "sparse.bin")); err == nil {
		sp.WriteAt([]byte("middle"), 5000)
		sp.WriteAt([]byte("end"), 9000)
		sp.Truncate(20000)
		sp.Close()
	}
	vfat, mcopy := testenv.RequireTool(t, "mkfs.vfat"), testenv.RequireTool(t, "mcopy")
	ext4 := testenv.RequireTool(t, "mkfs.ext4")
	var seeds [][]byte
	add := func(p string) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 2048 && binary.LittleEndian.Uint16(b[1024+0x38:]) == 0xef53 {
			// go-diskfs insists on checksum type 1 (crc32c) even without
			// metadata_csum: set it, so inodes and directories without
			// checksums are fuzzed too.
			b[1024+0x175] = 1
		}
		seeds = append(seeds, encodeSparse(b))
	}
	for i, args := range [][]string{
		{"-C", "IMG", "1024"},                         // FAT12
		{"-F", "16", "-s", "1", "-C", "IMG", "4096"},  // FAT16
		{"-F", "32", "-s", "1", "-C", "IMG", "34000"}, // FAT32
	} {
		img := filepath.Join(dir, "fat"+string(rune('0'+i))+".img")
		args[slices.Index(args, "IMG")] = img
		diskimg.Run(t, vfat, args...)
		diskimg.Run(t, mcopy, "-s", "-i", img, filepath.Join(src, "etc"), "::/")
		add(img)
	}
	for i, opts := range []string{"^has_journal", "^metadata_csum,^has_journal"} {
		img := filepath.Join(dir, "ext"+string(rune('0'+i))+".img")
		diskimg.Run(t, ext4, "-q", "-F", "-O", opts, "-d", src, img, "512K")
		add(img)
	}
	files := map[string]string{"etc/hostname": "backup-vm\n", "a/b.txt": "b"}
	for _, table := range []string{"mbr", "gpt"} {
		sub := filepath.Join(dir, table)
		os.Mkdir(sub, 0o755)
		add(diskimg.Raw(t, sub, diskimg.Layout{Table: table, Parts: []diskimg.Part{
			{FS: "vfat", MiB: 1, Label: "BOOT", Files: files},
			{FS: "ext4", MiB: 1, Label: "root", Files: files},
		}}))
	}
	return seeds
}

// checkTyped fails unless err wraps one of the package's sentinels.
func checkTyped(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil && !errors.Is(err, browse.ErrBadImage) && !errors.Is(err, browse.ErrNoFileSystem) && !errors.Is(err, browse.ErrNoPartition) {
		t.Fatalf("%s: untyped error %T: %v", what, err, err)
	}
}

// allocBound is what one input may make the package allocate: 64 MiB plus
// the input's size.
func allocBound(n int) uint64 { return 64<<20 + uint64(n) }

func browseSparse(t *testing.T, d *sparseDisk) {
	disk, err := browse.Open(d, d.size)
	checkTyped(t, "Open", err)
	if err != nil {
		return
	}
	idx := []int{-1, 0}
	for _, p := range disk.Partitions() {
		if p.Start < 0 || p.Size < 0 || p.Start+p.Size > d.size {
			t.Fatalf("partition %+v outside the disk of %d", p, d.size)
		}
		idx = append(idx, p.Index)
	}
	for _, i := range idx[:min(len(idx), 6)] {
		fsys, err := disk.FileSystem(i)
		checkTyped(t, "FileSystem", err)
		if err != nil {
			continue
		}
		n := 0
		fs.WalkDir(fsys, ".", func(p string, de fs.DirEntry, err error) error {
			if n++; err != nil || n > 40 {
				return fs.SkipAll
			}
			if de.Type().IsRegular() {
				f, err := fsys.Open(p)
				if err != nil {
					return nil
				}
				io.CopyN(io.Discard, f, 1<<20)
				if ra, ok := f.(io.ReaderAt); ok {
					// ext4 files read from their extents: at the end, in
					// the middle and far past it.
					buf := make([]byte, 4096)
					for _, off := range []int64{0, 1 << 20, 1<<40 + 7} {
						if _, err := ra.ReadAt(buf, off); err != io.EOF {
							checkTyped(t, "ReadAt", err)
						}
					}
				}
				f.Close()
			}
			return nil
		})
	}
}

// FuzzHostileDisk: sparse disks from real images, mutated (checksums
// recomputed), must give typed errors, never panic or hang, and never make
// the package allocate more than allocBound(len(input)).
func FuzzHostileDisk(f *testing.F) {
	for _, s := range hostileSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d := decodeSparse(b)
		d.fixChecksums()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		browseSparse(t, d)
		runtime.ReadMemStats(&after)
		if got := after.TotalAlloc - before.TotalAlloc; got > allocBound(len(b)) {
			t.Fatalf("input of %d bytes made the package allocate %d bytes", len(b), got)
		}
	})
}

// TestInodeChecksum: the fuzz harness's inode checksum matches mkfs.ext4's
// (so fixInodes repairs rather than damages).
func TestInodeChecksum(t *testing.T) {
	d := decodeSparse(hostileSeeds(t)[3])
	le := binary.LittleEndian
	sb := make([]byte, 1024)
	d.ReadAt(sb, 1024)
	bs, isz := int64(1024)<<le.Uint32(sb[0x18:]), int64(le.Uint16(sb[0x58:]))
	gdt := max(bs, 2048)
	gd := make([]byte, 32)
	d.ReadAt(gd, gdt)
	in := make([]byte, isz)
	d.ReadAt(in, int64(le.Uint32(gd[8:]))*bs+isz) // inode 2
	c := inodeChecksum(crc32c(^uint32(0), sb[0x68:0x78]), 2, in)
	if uint16(c) != le.Uint16(in[0x7c:]) || uint16(c>>16) != le.Uint16(in[0x82:]) {
		t.Fatalf("checksum %08x, on disk %04x%04x", c, le.Uint16(in[0x82:]), le.Uint16(in[0x7c:]))
	}
}

// TestSeedsBrowse: the real seed images open and list their files.
func TestSeedsBrowse(t *testing.T) {
	for i, s := range hostileSeeds(t) {
		d := decodeSparse(s)
		disk, err := browse.Open(d, d.size)
		if err != nil {
			t.Fatalf("seed %d: %v", i, err)
		}
		fsys, err := disk.FileSystem(-1)
		if err != nil {
			t.Fatalf("seed %d: %v", i, err)
		}
		if i == 4 {
			continue // ext4 without metadata_csum: go-diskfs opens it but cannot read its directories
		}
		if b, err := fsys.ReadFile("etc/hostname"); err != nil || string(b) != "backup-vm\n" {
			t.Fatalf("seed %d (%s): %q, %v", i, fsys.Type, b, err)
		}
	}
}

// TestHostileStructures: hand-made hostile fields in real images (sizes
// go-diskfs v1.9.4 would allocate from, a FAT chain it would follow
// forever) give a *FormatError naming the field, and allocate little.
func TestHostileStructures(t *testing.T) {
	seeds := hostileSeeds(t)
	le := binary.LittleEndian
	type mut struct {
		name, structure, field string
		seed                   int
		off                    int64 // byte offset in the disk
		val                    []byte
	}
	u16 := func(v uint16) []byte { return le.AppendUint16(nil, v) }
	u32 := func(v uint32) []byte { return le.AppendUint32(nil, v) }
	const gptSeed, mbrSeed = 6, 5
	muts := []mut{
		{"gpt entry size 0", "gpt", "partitionEntrySize", gptSeed, 512 + 84, u32(0)},
		{"gpt 4G entries", "gpt", "numberOfPartitionEntries", gptSeed, 512 + 80, u32(0xffffffff)},
		{"gpt array beyond disk", "gpt", "partitionEntryLBA", gptSeed, 512 + 72, u32(1 << 30)},
		{"mbr partition beyond disk", "mbr", "partition 2", mbrSeed, 446 + 16 + 12, u32(1 << 30)},
		{"fat16 32 MiB FAT in 4 MiB", "fat", "sectorsPerFAT", 1, 22, u16(0xffff)},
		{"fat zero sectors per cluster", "fat", "sectorsPerCluster", 0, 13, []byte{0}},
		{"fat32 FAT of 2^31 sectors", "fat", "sectorsPerFAT", 2, 36, u32(0x7fffffff)},
		{"fat32 total beyond partition", "fat", "totalSectors", 2, 32, u32(0xfffffff0)},
		{"ext4 tiny groups", "ext4", "s_inodes_count", 3, 1024 + 0x20, u32(8)},
		{"ext4 huge blocks", "ext4", "s_log_block_size", 3, 1024 + 0x18, u32(40)},
		{"ext4 blocks beyond partition", "ext4", "s_blocks_count", 3, 1024 + 0x04, u32(0xffffff00)},
		{"ext4 inodes per group", "ext4", "s_inodes_per_group", 3, 1024 + 0x28, u32(0xffffffff)},
	}
	for _, m := range muts {
		t.Run(m.name, func(t *testing.T) {
			d := decodeSparse(seeds[m.seed])
			d.overlay(m.off, m.val)
			d.fixChecksums()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := openFirst(d)
			runtime.ReadMemStats(&after)
			var fe *browse.FormatError
			if !errors.Is(err, browse.ErrCorrupt) || !errors.Is(err, browse.ErrBadImage) || !errors.As(err, &fe) || fe.Structure != m.structure || fe.Field != m.field {
				t.Fatalf("err = %v, want corrupt %s %s", err, m.structure, m.field)
			}
			if got := after.TotalAlloc - before.TotalAlloc; got > 16<<20 {
				t.Errorf("allocated %d bytes", got)
			}
		})
	}
	// A FAT cluster chain that loops: go-diskfs would append forever.
	t.Run("fat loop", func(t *testing.T) {
		d := decodeSparse(seeds[0])
		b := make([]byte, 512)
		d.ReadAt(b, 0)
		fat := int64(le.Uint16(b[14:])) * 512
		// FAT12 entries 5 and 6 point at each other: entry 5 (odd) is the
		// high nibble of byte 7 and byte 8, entry 6 byte 9 and the low
		// nibble of byte 10.
		d.ReadAt(b, fat)
		b[7], b[8] = b[7]&0x0f|0x60, 0x00
		b[9], b[10] = 0x05, b[10]&0xf0
		d.overlay(fat, b)
		err := openFirst(d)
		var fe *browse.FormatError
		if !errors.As(err, &fe) || fe.Field != "clusterChain" {
			t.Fatalf("err = %v", err)
		}
	})
}

func openFirst(d *sparseDisk) error {
	disk, err := browse.Open(d, d.size)
	if err != nil {
		return err
	}
	_, err = disk.FileSystem(-1)
	return err
}

// TestHostileExt4Inodes: inodes go-diskfs would trust when listing (a
// root directory declaring a terabyte, an extent past the file system, an
// extent index block that points at itself, which go-diskfs follows until
// the stack overflows) are refused with a FormatError before it reads
// them. Inode checksums are recomputed, as a hostile image would.
func TestHostileExt4Inodes(t *testing.T) {
	seed := hostileSeeds(t)[3]
	le := binary.LittleEndian
	base := decodeSparse(seed)
	sb := make([]byte, 1024)
	base.ReadAt(sb, 1024)
	bs := int64(1024) << le.Uint32(sb[0x18:])
	blocks := int64(le.Uint32(sb[4:]))
	gdt := bs
	if bs == 1024 {
		gdt = 2048
	}
	gd := make([]byte, 32)
	base.ReadAt(gd, gdt)
	root := int64(le.Uint32(gd[8:]))*bs + int64(le.Uint16(sb[0x58:])) // inode 2
	inode := make([]byte, 160)
	base.ReadAt(inode, root)
	if le.Uint16(inode[0x28:]) != 0xf30a {
		t.Fatalf("root inode has no extent tree: % x", inode[0x28:0x40])
	}
	self := (blocks - 2) * bs // a block for the looping index node
	for _, c := range []struct {
		name, field string
		mut         func(d *sparseDisk)
	}{
		{"terabyte directory", "inode 2 size", func(d *sparseDisk) {
			b := append([]byte(nil), inode...)
			le.PutUint32(b[0x6c:], 256)
			d.overlay(root, b)
		}},
		{"extent past the end", "inode 2 extents", func(d *sparseDisk) {
			b := append([]byte(nil), inode...)
			le.PutUint16(b[0x28+12+4:], 32000)
			d.overlay(root, b)
		}},
		{"self-referencing index", "inode 2 extents", func(d *sparseDisk) {
			node := make([]byte, bs)
			le.PutUint16(node[0:], 0xf30a)
			le.PutUint16(node[2:], 1)
			le.PutUint16(node[4:], uint16((bs-12)/12))
			le.PutUint16(node[6:], 1)
			le.PutUint32(node[12+4:], uint32(self/bs))
			d.overlay(self, node)
			b := append([]byte(nil), inode...)
			copy(b[0x28:0x28+24], node[:24])
			le.PutUint16(b[0x28+4:], 4)
			d.overlay(root, b)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := decodeSparse(seed)
			c.mut(d)
			d.fixChecksums() // inode checksums too: go-diskfs would read these inodes
			disk, err := browse.Open(d, d.size)
			if err != nil {
				t.Fatal(err)
			}
			fsys, err := disk.FileSystem(-1)
			if err != nil {
				t.Fatal(err)
			}
			for _, op := range []func() error{
				func() error { _, err := fsys.ReadDir("."); return err },
				func() error { _, err := fsys.ReadFile("etc/hostname"); return err },
				func() error { _, err := fsys.Stat("etc"); return err },
			} {
				err := op()
				var fe *browse.FormatError
				if !errors.Is(err, browse.ErrCorrupt) || !errors.As(err, &fe) || fe.Field != c.field {
					t.Fatalf("err = %v, want corrupt ext4 %s", err, c.field)
				}
			}
		})
	}
}

// BenchmarkListExt4: list a directory of 2000 files and Stat each entry,
// as a FUSE tree does (ext4 made by `mkfs.ext4 -d`); measures the cost of
// validating inodes before go-diskfs reads them.
func BenchmarkListExt4(b *testing.B) {
	mkfs := testenv.RequireTool(b, "mkfs.ext4")
	dir := b.TempDir()
	src := filepath.Join(dir, "src", "many")
	os.MkdirAll(src, 0o755)
	for i := range 2000 {
		os.WriteFile(filepath.Join(src, "file-with-a-longer-name-"+itoa(i)), []byte("x"), 0o644)
	}
	img := filepath.Join(dir, "ext4.img")
	diskimg.Run(b, mkfs, "-q", "-F", "-d", filepath.Join(dir, "src"), img, "16M")
	data, err := os.ReadFile(img)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		disk, err := browse.Open(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			b.Fatal(err)
		}
		fsys, err := disk.FileSystem(0)
		if err != nil {
			b.Fatal(err)
		}
		ents, err := fsys.ReadDir("many")
		if err != nil || len(ents) != 2000 {
			b.Fatalf("%d entries, %v", len(ents), err)
		}
		for _, e := range ents {
			if _, err := fsys.Stat("many/" + e.Name()); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func itoa(i int) string { return fmt.Sprint(i) }
