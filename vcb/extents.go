package vcb

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path"

	"github.com/bulletproof-labs/wsvcb/vcb/vmdk"
	"github.com/vmware/govmomi/object"
)

// FormatFlat is File.Format of a disk stored as its raw content, read
// from the flat extents a VMDK text descriptor names; restore writes it
// back as a descriptor plus a "-flat.vmdk" extent, the layout it came from.
const FormatFlat = "flat"

// maxDescriptor bounds a VMDK text descriptor served by an export lease
// (they are a few hundred bytes; VMware limits them to a few KiB).
const maxDescriptor = 64 << 10

// DiskSizeError reports a backed-up disk whose content does not cover
// the capacity in the VM's configuration. It is the cause of an *Error of
// kind ErrIncomplete.
type DiskSizeError struct {
	Disk     string // slot and datastore path, e.g. "scsi0:0 [ds] vm/vm.vmdk"
	Capacity int64  // VirtualDisk.CapacityInBytes
	Got      int64  // bytes of content read
	Detail   string // which extent fell short, when known
}

func (e *DiskSizeError) Error() string {
	s := fmt.Sprintf("disk %s: %d bytes of content for a capacity of %d bytes", e.Disk, e.Got, e.Capacity)
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

// leaseDescriptor peeks at what an export lease serves for a disk and,
// when it is a VMDK text descriptor (vcsim and hosts that serve the
// backing file as it is), returns it parsed. A sparse or streamOptimized
// stream (magic KDMV) or raw data gives nil.
func leaseDescriptor(br *bufio.Reader) *vmdk.Descriptor {
	head, err := br.Peek(maxDescriptor)
	if err == nil || len(head) < 4 {
		return nil // larger than any descriptor, or empty
	}
	if binary.LittleEndian.Uint32(head) == vmdk.Magic {
		return nil
	}
	d, perr := vmdk.ParseDescriptor(head)
	if perr != nil || len(d.Extents) == 0 {
		return nil
	}
	return d
}

// extentReader reads the content of the disk whose descriptor (at the
// datastore path d.File) is desc, extent by extent, through the datastore
// file API (/folder, as govc datastore.download does). Each extent must
// hold all the sectors the descriptor gives it.
type extentReader struct {
	ctx  context.Context
	c    *Client
	ds   *object.Datastore
	dir  string // directory of the descriptor in ds
	disk string
	ext  []vmdk.ExtentDesc
	cur  io.ReadCloser
	left int64 // bytes still due from cur
	name string
	n    int64
}

func (b *backup) newExtentReader(ctx context.Context, d Disk, desc *vmdk.Descriptor) (*extentReader, error) {
	var p object.DatastorePath
	if !p.FromString(d.File) {
		return nil, b.fail(ErrTransfer, fmt.Errorf("disk %s: cannot parse path %q", d.Slot, d.File))
	}
	if desc.ParentFileNameHint != "" {
		return nil, b.fail(ErrTransfer, fmt.Errorf("disk %s (%s): delta disk with parent %q: not supported yet", d.Slot, d.File, desc.ParentFileNameHint))
	}
	for _, e := range desc.Extents {
		switch e.Type {
		case vmdk.ExtentFlat, vmdk.ExtentVMFS, vmdk.ExtentZero:
		default:
			return nil, b.fail(ErrTransfer, fmt.Errorf("disk %s (%s): extent type %s not supported yet", d.Slot, d.File, e.Type))
		}
		if e.Sectors > 1<<50 || e.Offset > 1<<50 {
			return nil, b.fail(ErrTransfer, fmt.Errorf("disk %s (%s): extent %q too large", d.Slot, d.File, e.FileName))
		}
	}
	ds, err := b.c.datastore(ctx, p.Datastore)
	if err != nil {
		return nil, b.fail(ErrNotFound, fmt.Errorf("disk %s: datastore %s: %w", d.Slot, p.Datastore, err))
	}
	return &extentReader{ctx: ctx, c: b.c, ds: ds, dir: path.Dir(p.Path), disk: d.Slot + " " + d.File, ext: desc.Extents}, nil
}

func (r *extentReader) Read(p []byte) (int, error) {
	for {
		if r.cur != nil && r.left > 0 {
			if int64(len(p)) > r.left {
				p = p[:r.left]
			}
			n, err := r.cur.Read(p)
			r.left -= int64(n)
			r.n += int64(n)
			if err == io.EOF && r.left > 0 {
				return n, &DiskSizeError{Disk: r.disk, Got: r.n, Detail: fmt.Sprintf("extent %s ends %d bytes early", r.name, r.left)}
			}
			if err != nil && err != io.EOF {
				return n, err
			}
			if n > 0 {
				return n, nil
			}
			continue
		}
		if r.cur != nil {
			_ = r.cur.Close()
			r.cur = nil
		}
		if len(r.ext) == 0 {
			return 0, io.EOF
		}
		e := r.ext[0]
		r.ext = r.ext[1:]
		r.left = int64(e.Sectors) * 512
		r.name = e.FileName
		if e.Type == vmdk.ExtentZero || e.FileName == "" {
			r.cur = io.NopCloser(zeroReader{})
			continue
		}
		rel := path.Join(r.dir, e.FileName)
		body, _, err := r.c.get(r.ctx, datastoreURL(r.ds, rel))
		if err != nil {
			return 0, fmt.Errorf("extent %s: %w", r.ds.Path(rel), err)
		}
		r.cur = body
		if e.Offset > 0 {
			if _, err := io.CopyN(io.Discard, body, int64(e.Offset)*512); err != nil {
				if errors.Is(err, io.EOF) {
					return 0, &DiskSizeError{Disk: r.disk, Got: r.n, Detail: fmt.Sprintf("extent %s shorter than its offset", e.FileName)}
				}
				return 0, fmt.Errorf("extent %s: %w", r.ds.Path(rel), err)
			}
		}
	}
}

// Close closes the extent being read.
func (r *extentReader) Close() error {
	if r.cur != nil {
		err := r.cur.Close()
		r.cur = nil
		return err
	}
	return nil
}
