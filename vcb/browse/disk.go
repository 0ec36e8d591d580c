package browse

import (
	"errors"
	"fmt"
	"io"
	"io/fs"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/disk"
	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/diskfs/go-diskfs/filesystem/ext4"
	"github.com/diskfs/go-diskfs/filesystem/fat12"
	"github.com/diskfs/go-diskfs/filesystem/fat16"
	"github.com/diskfs/go-diskfs/filesystem/fat32"
	"github.com/diskfs/go-diskfs/partition/gpt"
	"github.com/diskfs/go-diskfs/partition/mbr"
)

// Errors wrapped by the package's errors.
var (
	// ErrNoFileSystem means no FAT, ext4 or NTFS file system was recognized.
	ErrNoFileSystem = errors.New("browse: no supported file system")
	// ErrNoPartition means the requested partition does not exist.
	ErrNoPartition = errors.New("browse: no such partition")
	// ErrBadImage means the disk's structures made the reader fail.
	ErrBadImage = errors.New("browse: unreadable disk structures")
)

// Partition is one entry of the disk's partition table.
type Partition struct {
	Index int    // 1-based, as in /dev/sda1
	Start int64  // bytes from the start of the disk
	Size  int64  // bytes
	Type  string // MBR type (e.g. "0x83") or GPT type GUID
	Name  string // GPT partition name
	UUID  string // GPT partition GUID or MBR disk-signature-based id
}

// Disk is a partitioned (or unpartitioned) disk image.
type Disk struct {
	d     *disk.Disk
	r     io.ReaderAt
	size  int64
	table string
	parts []Partition
}

// Open reads the partition table (if any) of the disk image r of size
// bytes. A disk without a table is not an error: Partitions is empty and
// FileSystem(0) reads the whole disk.
func Open(r io.ReaderAt, size int64) (d *Disk, err error) {
	defer recoverTo(&err)
	if err := checkTable(r, size); err != nil {
		return nil, err
	}
	dd, err := diskfs.OpenBackend(newStorage(r, size, "disk"))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadImage, err)
	}
	d = &Disk{d: dd, r: r, size: size}
	switch t := dd.Table.(type) {
	case *gpt.Table:
		d.table = "gpt"
		for _, p := range t.Partitions {
			if p.Start == 0 && p.End == 0 {
				continue
			}
			d.parts = append(d.parts, Partition{Index: p.Index, Start: p.GetStart(), Size: p.GetSize(),
				Type: string(p.Type), Name: p.Name, UUID: p.GUID})
		}
	case *mbr.Table:
		d.table = "mbr"
		for _, p := range t.Partitions {
			if p.Type == mbr.Empty || p.Size == 0 {
				continue
			}
			d.parts = append(d.parts, Partition{Index: p.Index, Start: p.GetStart(), Size: p.GetSize(),
				Type: fmt.Sprintf("0x%02x", byte(p.Type)), UUID: p.UUID()})
		}
	}
	for _, p := range d.parts {
		if p.Start < 0 || p.Size < 0 || p.Start+p.Size > size {
			return nil, fmt.Errorf("%w: partition %d (%d+%d bytes) extends past the disk end (%d)", ErrBadImage, p.Index, p.Start, p.Size, size)
		}
	}
	return d, nil
}

// Size is the disk size in bytes.
func (d *Disk) Size() int64 { return d.size }

// Table is "mbr", "gpt" or "" (no partition table).
func (d *Disk) Table() string { return d.table }

// Partitions lists the non-empty partitions in table order.
func (d *Disk) Partitions() []Partition { return d.parts }

// FS is a read-only file system inside the disk. Paths are fs.FS paths
// ("etc/hostname", "." for the root); FS also accepts a leading "/".
type FS struct {
	fsys      filesystem.FileSystem
	ext       *ext4Check // nil unless ext4
	nt        *ntfsFS    // set for NTFS (fsys is nil then)
	Partition int        // partition index, 0 for the whole disk
	Type      string     // "ext4", "fat32", "fat16", "fat12", "ntfs"
	Label     string
}

// FileSystem opens the file system of partition index (1-based); index 0
// means the whole disk; index -1 picks the first partition holding a
// supported file system (or the whole disk when there is no table).
func (d *Disk) FileSystem(index int) (f *FS, err error) {
	defer recoverTo(&err)
	if index < 0 {
		if len(d.parts) == 0 {
			return d.FileSystem(0)
		}
		var first error
		for _, p := range d.parts {
			f, err := d.FileSystem(p.Index)
			if err == nil {
				return f, nil
			}
			if first == nil && !errors.Is(err, ErrNoFileSystem) {
				first = err
			}
		}
		if first != nil {
			return nil, first
		}
		return nil, ErrNoFileSystem
	}
	start, size := int64(0), d.size
	if index > 0 {
		found := false
		for _, p := range d.parts {
			if p.Index == index {
				found, start, size = true, p.Start, p.Size
			}
		}
		if !found {
			return nil, fmt.Errorf("%w: %d (the disk has %d)", ErrNoPartition, index, len(d.parts))
		}
	}
	// The file system's header is validated first; then only the matching
	// go-diskfs reader sees it (GetFilesystem would try every reader on
	// every partition, and the FAT32 reader allocates whatever a FAT16
	// boot sector's bytes say).
	kind, err := fsKind(d.r, start, size)
	if err != nil {
		if errors.Is(err, ErrNoFileSystem) {
			return nil, fmt.Errorf("%w in partition %d", ErrNoFileSystem, index)
		}
		return nil, fmt.Errorf("partition %d: %w", index, err)
	}
	var (
		fsys filesystem.FileSystem
		ext  *ext4Check
	)
	if kind == "ntfs" {
		nt, err := openNTFS(d.r, start, size)
		if err != nil {
			return nil, fmt.Errorf("partition %d: %w", index, err)
		}
		return &FS{nt: nt, Partition: index, Type: "ntfs", Label: nt.label}, nil
	}
	b := d.d.Backend
	switch kind {
	case "fat32":
		fsys, err = fat32.Read(b, size, start, sector)
	case "fat16":
		fsys, err = fat16.Read(b, size, start, sector)
	case "fat12":
		fsys, err = fat12.Read(b, size, start, sector)
	default:
		if ext, err = newExt4Check(d.r, start, size); err != nil {
			return nil, fmt.Errorf("partition %d: %w", index, err)
		}
		fsys, err = ext4.Read(b, size, start, sector)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s in partition %d: %v", ErrBadImage, kind, index, err)
	}
	return &FS{fsys: fsys, ext: ext, Partition: index, Type: typeName(fsys.Type()), Label: trimLabel(fsys.Label())}, nil
}

func typeName(t filesystem.Type) string {
	switch t {
	case filesystem.TypeExt4:
		return "ext4"
	case filesystem.TypeFat32:
		return "fat32"
	case filesystem.TypeFat16:
		return "fat16"
	case filesystem.TypeFat12:
		return "fat12"
	case filesystem.TypeISO9660:
		return "iso9660"
	case filesystem.TypeSquashfs:
		return "squashfs"
	}
	return fmt.Sprintf("type%d", int(t))
}

func trimLabel(s string) string {
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == 0) {
		s = s[:len(s)-1]
	}
	return s
}

// recoverTo turns a panic inside go-diskfs (which does not expect hostile
// images) into an ErrBadImage error.
func recoverTo(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: reader panicked: %v", ErrBadImage, r)
	}
}

var _ fs.ReadDirFS = (*FS)(nil)
