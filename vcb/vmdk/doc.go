// Package vmdk reads and writes VMware virtual disk (VMDK) images in pure
// Go.
//
// Open returns a *Disk, an io.ReaderAt over the virtual disk, for the
// layouts hosted products, ESX and NFC exports produce:
//
//   - flat: a text descriptor with FLAT/VMFS/ZERO extents in separate files
//     (monolithicFlat, twoGbMaxExtentFlat, vmfs), several extents allowed;
//   - hosted sparse extents (magic "KDMV"): monolithicSparse,
//     twoGbMaxExtentSparse and streamOptimized (deflate-compressed grains
//     with markers and the grain directory in a footer, as NFC exports and
//     `qemu-img convert -O vmdk -o subformat=streamOptimized` write).
//
// Delta (snapshot) disks open their parent chain (parentFileNameHint,
// CID-checked); LayerAllocated lists what a delta changed, Allocated what
// the whole chain holds.
//
// Headers, footers, grain directories, grain tables and grain markers are
// checked against each other and against the file size; a malformed image
// yields a *FormatError wrapping ErrCorrupt or ErrUnsupported, never a
// panic, and no structure is allocated from an unchecked header field.
//
// A streamOptimized image whose footer is missing or unusable (an export
// cut short, a writer that never finished) still opens: the grain index is
// rebuilt by scanning the stream's grain and metadata markers, in memory
// bounded by the markers present in the file. Disk.Recovered reports what
// was found; grains in the missing part read as errors wrapping
// ErrTruncated (never as silent zeros), see Recovery.
//
// WriteStreamOptimized and WriteSparse write images that `qemu-img check`
// accepts and `qemu-img compare` finds equal to their source, skipping
// all-zero grains so thin disks stay thin.
package vmdk
