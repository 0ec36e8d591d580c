// Package vmount mounts a virtual disk read-only on Linux, the way VCB's
// `vmmount -d DISK -sysdl DIR` did: a FUSE file system (go-fuse) exposes
// the disk (any io.ReaderAt, e.g. a *vmdk.Disk) as one flat read-only
// file, a loop device maps the chosen partition of that file, and the
// partition's file system is mounted read-only on DIR.
//
// Every step is recorded in a state file before it is taken, so Unmount
// (`vmmount -u DIR`) undoes all of them even after the process that
// mounted crashed: it unmounts DIR, detaches the loop device, unmounts the
// FUSE file system and stops the FUSE server by the PID recorded, after
// checking that PID still belongs to the server.
//
// Mounting needs root (mount(2), loop devices, /dev/fuse).
package vmount
