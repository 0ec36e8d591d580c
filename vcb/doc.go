// Package vcb is a typed client in the spirit of VMware Consolidated
// Backup (vcbVmName, vcbMounter, vcbRestore), built on govmomi v0.56.0.
//
// # Connecting
//
// Dial logs in to a vCenter or ESXi host. The URL, user and password come
// from Config, or from the GOVC_* environment variables govc uses
// (GOVC_URL, GOVC_USERNAME, GOVC_PASSWORD, GOVC_PASSWORD_FILE,
// GOVC_TLS_CA_CERTS, GOVC_TLS_THUMBPRINT, GOVC_INSECURE). The server
// certificate is verified against the system or given CAs, or pinned by
// thumbprint; verification is off only with Insecure. The session is kept
// alive while idle and logged out by Close.
//
// # Listing
//
// List and Find take VCB's selectors (ParseSelector): any:, name:NAME,
// ipaddr:IP, uuid:UUID (BIOS or instance), moref:vm-42 and
// powerstate:on|off|suspended, and return VMInfo: name, moref, UUIDs,
// IPs, power state, host, datastores and disks (slot, backing file,
// capacity).
//
// # Backup
//
// Backup makes a full-VM backup ("fullvm") into a new directory: the
// pre-freeze hook, a quiesced snapshot without memory (both options), the
// post-thaw hook, the snapshot's disks streamed through an NFC export
// lease (ExportSnapshot) with lease progress updates and a ProgressFunc,
// the .vmx and .nvram downloaded over the datastore HTTP interface, then
// config.json (the VM configuration at snapshot time), a VCB-style
// catalog of "key= value" lines, and manifest.json with the size and
// SHA-256 of every file (and of the content before zstd compression, when
// enabled). Everything is written and fsynced in a ".NAME.partial-*"
// directory that is renamed into place only when complete. The snapshot is
// removed (with retries) and the lease aborted on every failure, including
// cancellation, with a fresh context. BackupOptions.Keep rotates old
// backups of the same VM.
//
// # Locking and leftovers of killed backups
//
// A backup (full, file-level or chunked) holds an flock(2) on
// ".vcb-<moref>.lock" in the parent of its directory for its whole run;
// the kernel releases it however the process ends, SIGKILL included. A
// second backup of the VM into that parent fails at once with ErrLocked.
// Holding the lock, a backup first looks for snapshots whose description
// starts with "vcb backup" (vcb's snapshots name the lock of the backup
// that took them) and removes those whose backup is dead: taken on this
// host while their lock is free. Others (another host, an older version)
// are reported to BackupOptions.OnStaleSnapshot and removed only with
// RemoveStaleSnapshots; one whose lock is held is never touched. It also
// removes the ".NAME.partial-vcb-<moref>-*" directories killed backups of
// the VM left. A chunked backup holds the chunk store's shared lock and
// discards its pending chunks when it fails; PruneChunks takes the
// exclusive lock (ErrLocked while a backup runs) and removes the pending
// chunk files dead backups left.
//
// Every path enforces one invariant: the content read for each disk
// covers exactly the capacity in the VM's configuration, else the backup
// fails with ErrIncomplete wrapping a *DiskSizeError naming the disk.
//
// Disks are stored as the export lease serves them: on ESXi a
// streamOptimized VMDK, on the simulator the raw disk file.
//
// # File-level, chunked and incremental backups
//
// BackupFiles is vcbMounter -t file: the same snapshot and guarantees,
// but it reads the snapshot disks with HTTP range requests, opens their
// FAT and ext4 file systems (package browse) and copies chosen paths into
// files/<slot>-p<partition>/, listed with SHA-256 in files.sha256
// (sha256sum's format; VerifyFiles checks it).
//
// BackupChunked stores disk content in a content-addressed chunk store
// (package chunkstore: SHA-256 named chunks, each stored once across
// backups and VMs) and writes one recipe per disk with the disk's change
// ID. Given the previous backup as Parent, it asks QueryChangedDiskAreas
// for the extents changed since that change ID and reads only those, in
// multi-range HTTP requests, rebuilding the touched chunks from the
// store. Every recipe lists all chunks, so RestoreChunked, Materialize
// and VerifyChunked work on any backup of a chain.
//
// # Verify and restore
//
// Verify recomputes every checksum against the manifest. Restore verifies
// the backup, uploads the disks over the datastore interface into a
// directory named after the VM, creates the VM from the saved
// configuration with the disks attached, and reads every disk back to
// compare it with the manifest. It restores in place only with Overwrite
// (the VM must be powered off), or as a copy under another name, folder,
// resource pool or datastore, given by RestoreOptions or by an edited
// catalog (like vcbRestore -a). A failed restore removes what it created.
//
// # Building on a backup
//
// OpenFile returns a backed-up file's content (decompressed), for mounting
// a disk or restoring single files. Each disk's manifest entry records its
// slot, source path, device key, capacity and, when the VM has change
// block tracking enabled, the change id at snapshot time: the base for an
// incremental backup with QueryChangedDiskAreas (through Client.Vim).
//
// # Errors
//
// Every error is an *Error whose Kind is one of the Err* sentinels
// (ErrSnapshot, ErrLease, ErrTransfer, ErrWrite, ErrChecksum, ...), with
// the cause (a SOAP fault, syscall.ENOSPC, context.Canceled) reachable by
// errors.Is and errors.As.
package vcb
