// Package vcb is a typed client in the spirit of VMware Consolidated Backup,
// built on govmomi: list VMs, back them up through a quiesced snapshot,
// restore them, with a catalog of what was backed up.
package vcb
