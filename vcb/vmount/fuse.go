package vmount

import (
	"context"
	"io"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// DiskFileName is the name of the flat disk file in the FUSE file system.
const DiskFileName = "disk"

type root struct {
	fs.Inode
	disk *diskNode
}

func (r *root) OnAdd(ctx context.Context) {
	ch := r.NewPersistentInode(ctx, r.disk, fs.StableAttr{Mode: syscall.S_IFREG, Ino: 2})
	r.AddChild(DiskFileName, ch, false)
}

func (r *root) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = syscall.S_IFDIR | 0o555
	return 0
}

type diskNode struct {
	fs.Inode
	r    io.ReaderAt
	size int64
}

func (n *diskNode) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = syscall.S_IFREG | 0o444
	out.Size = uint64(n.size)
	out.Blocks = (uint64(n.size) + 511) / 512
	out.Blksize = 4096
	return 0
}

func (n *diskNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if flags&(syscall.O_WRONLY|syscall.O_RDWR|syscall.O_TRUNC|syscall.O_APPEND) != 0 {
		return nil, 0, syscall.EROFS
	}
	return nil, fuse.FOPEN_KEEP_CACHE, 0
}

func (n *diskNode) Read(ctx context.Context, fh fs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if off >= n.size {
		return fuse.ReadResultData(nil), 0
	}
	m, err := n.r.ReadAt(dest[:min(int64(len(dest)), n.size-off)], off)
	if err != nil && err != io.EOF {
		return nil, syscall.EIO
	}
	return fuse.ReadResultData(dest[:m]), 0
}

var (
	_ fs.NodeOnAdder   = (*root)(nil)
	_ fs.NodeGetattrer = (*diskNode)(nil)
	_ fs.NodeOpener    = (*diskNode)(nil)
	_ fs.NodeReader    = (*diskNode)(nil)
)

// ServeDisk mounts a read-only FUSE file system on dir whose only file,
// DiskFileName, holds the size bytes of r. The caller runs server.Wait()
// (it returns once dir is unmounted) or server.Unmount().
func ServeDisk(r io.ReaderAt, size int64, dir string) (*fuse.Server, error) {
	opts := &fs.Options{MountOptions: fuse.MountOptions{
		FsName:       "vmmount",
		Name:         "vmdk",
		DirectMount:  true, // as root: mount(2) without fusermount
		Options:      []string{"ro"},
		MaxReadAhead: 1 << 20,
	}}
	return fs.Mount(dir, &root{disk: &diskNode{r: r, size: size}}, opts)
}
