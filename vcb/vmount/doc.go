// Package vmount mounts a virtual disk read-only on Linux, the way VCB's
// `vmmount -d DISK -sysdl DIR` did, in one of two modes:
//
//   - ModeKernel: a FUSE file system (go-fuse) exposes the disk (any
//     io.ReaderAt, e.g. a *vmdk.Disk) as one flat read-only file, a loop
//     device maps the chosen partition of that file, and the kernel mounts
//     the partition's file system read-only on DIR.
//   - ModeFUSE: a FUSE file system serves the partition's files itself,
//     read in Go by vcb/browse (FAT, ext4 with modes, owners, times,
//     symbolic links and hard links), so no kernel file-system driver and
//     no loop device are needed. Reads of one open file come in cached
//     1 MiB chunks; every call into go-diskfs, which is not safe for
//     concurrent use, is serialised.
//
// ModeAuto (the default) uses ModeKernel when the kernel can mount the
// type (it is in /proc/filesystems or modprobe loads it) and ModeFUSE when
// it cannot, e.g. FAT on a kernel without vfat.
//
// Every step is recorded in a state file before it is taken, so Unmount
// (`vmmount -u DIR`) undoes all of them even after the process that
// mounted was killed: it unmounts DIR (only mounts that are its own), detaches
// the loop devices backed by its flat file, unmounts that FUSE file system
// and stops the FUSE server: the PID recorded and any process whose
// command line names the state's FUSE directory, each signalled only while
// it still does.
//
// Mounting needs root (mount(2), loop devices, /dev/fuse).
package vmount
