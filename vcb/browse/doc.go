// Package browse lists partitions and reads files of the FAT and ext4 file
// systems inside a disk image, without root and without mounting: the disk
// is any io.ReaderAt (a *vmdk.Disk of a backed-up VMDK, a raw file), read
// through go-diskfs.
//
// Paths use the syntax of examples/vmmount: "DISK.vmdk:/etc/hostname" for
// the first file system found, "DISK.vmdk@2:/etc" for partition 2.
//
// go-diskfs trusts what it reads. Before it sees a disk, browse checks the
// structures it would allocate from or loop over: the GPT header (entry
// size and count bounded, entry array and usable LBAs inside the disk),
// MBR partitions inside the disk, the FAT boot sector (sector and cluster
// sizes, FAT size consistent with the cluster count and the partition)
// and every FAT cluster chain (no loops), and the ext4 superblock (block
// size, blocks and inodes per group, group count, inode count and group
// descriptor table consistent with the partition size). A disk that fails
// gives a *FormatError wrapping ErrCorrupt (which wraps ErrBadImage);
// panics inside go-diskfs become ErrBadImage errors. Only FAT12/16/32 and
// ext4 are opened.
//
// Regular ext4 files mapped by extents are read by browse itself from
// their validated extent list (the fs.File that FS.Open returns is also an
// io.ReaderAt and io.Seeker): holes and uninitialized (fallocated)
// extents read as zeros, as the kernel reads them, reads stop at i_size,
// and a block outside the file system is a *FormatError. Inline-data files
// and files using the old indirect block map are read by go-diskfs.
//
// Still trusted: ext4 inodes and extent trees, read lazily by go-diskfs
// when a directory is listed (a directory inode declaring a huge size with
// a huge extent makes it allocate up to that extent's size, at most
// 2 GiB, before the read fails).
package browse
