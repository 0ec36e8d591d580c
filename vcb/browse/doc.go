// Package browse lists partitions and reads files of the FAT and ext4 file
// systems inside a disk image, without root and without mounting: the disk
// is any io.ReaderAt (a *vmdk.Disk of a backed-up VMDK, a raw file), read
// through go-diskfs.
//
// Paths use the syntax of examples/vmmount: "DISK.vmdk:/etc/hostname" for
// the first file system found, "DISK.vmdk@2:/etc" for partition 2.
package browse
