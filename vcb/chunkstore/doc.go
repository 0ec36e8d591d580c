// Package chunkstore is a content-addressed store of fixed-size disk
// chunks and the recipe files that describe a disk as a list of chunks.
//
// A chunk is stored once under its SHA-256 (chunks/ab/abcdef...), however
// many backups, disks or VMs contain it; writes are atomic (temporary file,
// fsync, rename) so a crash never leaves a chunk whose content does not
// match its name. A Recipe lists the chunk sums of one disk in order, so
// every backup of a chain is self-contained: deleting one backup's recipe
// never breaks another, and restoring any backup rebuilds the exact full
// disk from the store.
//
// The package is independent of vSphere; package vcb uses it for
// incremental (changed block tracking) backups.
package chunkstore
