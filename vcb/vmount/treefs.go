package vmount

import (
	"context"
	"errors"
	"hash/fnv"
	"io"
	iofs "io/fs"
	"path"
	"sync"
	"syscall"
	"time"

	"github.com/diskfs/go-diskfs/filesystem/ext4"
	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/bulletproof-labs/wsvcb/vcb/browse"
)

// TreeFSName is the source ("FsName") of a FUSE file-tree mount in
// /proc/self/mountinfo; Unmount only unmounts a FUSE-mode directory whose
// mount carries it.
const TreeFSName = "vmmount-fs"

// cacheTimeout is how long the kernel may cache names and attributes: the
// file system is a read-only image that never changes under the mount.
const cacheTimeout = time.Hour

// tree is one served file system. go-diskfs is not safe for concurrent
// use, so every call into it holds mu.
type tree struct {
	mu   sync.Mutex
	fsys *browse.FS
	ext4 bool
}

// treeNode is a file, directory or symbolic link of the tree.
type treeNode struct {
	fs.Inode
	t    *tree
	path string // fs.FS path, "." for the root
	attr fuse.Attr
	link string // symbolic link target
}

// nodeAttr describes fi (of the file at p) as FUSE attributes.
func (t *tree) nodeAttr(p string, fi iofs.FileInfo) (fuse.Attr, string) {
	var a fuse.Attr
	m := fi.Mode()
	if fi.IsDir() { // FAT's file infos say so only here
		m |= iofs.ModeDir
	}
	perm := uint32(m.Perm())
	a.Mode = fileType(m)
	switch a.Mode {
	case syscall.S_IFDIR:
		if perm == 0 || !t.ext4 {
			perm = 0o755
		}
	case syscall.S_IFLNK:
		perm = 0o777
	case syscall.S_IFREG:
		if perm == 0 || !t.ext4 {
			perm = 0o644
		}
	}
	a.Mode |= perm
	if m&iofs.ModeSetuid != 0 {
		a.Mode |= syscall.S_ISUID
	}
	if m&iofs.ModeSetgid != 0 {
		a.Mode |= syscall.S_ISGID
	}
	if m&iofs.ModeSticky != 0 {
		a.Mode |= syscall.S_ISVTX
	}
	if !m.IsDir() {
		a.Size = uint64(max(fi.Size(), 0))
	}
	a.Blocks = (a.Size + 511) / 512
	a.Blksize = 4096
	a.Nlink = 1
	mt := fi.ModTime()
	at, ct := mt, mt
	link := ""
	if st, ok := fi.Sys().(*ext4.StatT); ok && st != nil {
		a.Uid, a.Gid, a.Ino = st.UID, st.GID, uint64(st.Ino)
		if st.Nlink > 0 {
			a.Nlink = uint32(st.Nlink)
		}
		if !st.AccessTime.IsZero() {
			at = st.AccessTime
		}
		if !st.ChangeTime.IsZero() {
			ct = st.ChangeTime
		}
		link = st.LinkTarget
	}
	if a.Ino == 0 {
		a.Ino = pathIno(p)
	}
	if a.Mode&syscall.S_IFMT == syscall.S_IFLNK {
		a.Size = uint64(len(link))
	}
	if !mt.IsZero() {
		a.SetTimes(&at, &mt, &ct)
	}
	return a, link
}

// fileType is the S_IFMT bits of m.
func fileType(m iofs.FileMode) uint32 {
	switch {
	case m.IsDir():
		return syscall.S_IFDIR
	case m&iofs.ModeSymlink != 0:
		return syscall.S_IFLNK
	case m&iofs.ModeNamedPipe != 0:
		return syscall.S_IFIFO
	case m&iofs.ModeSocket != 0:
		return syscall.S_IFSOCK
	case m&iofs.ModeCharDevice != 0:
		return syscall.S_IFCHR
	case m&iofs.ModeDevice != 0:
		return syscall.S_IFBLK
	}
	return syscall.S_IFREG
}

// pathIno is a stable inode number for file systems without them (FAT):
// a hash of the path, in the upper half so it never meets ext4 numbers.
func pathIno(p string) uint64 {
	h := fnv.New64a()
	io.WriteString(h, p)
	return h.Sum64() | 1<<63
}

func (n *treeNode) child(name string) string {
	if n.path == "." {
		return name
	}
	return path.Join(n.path, name)
}

func (n *treeNode) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Attr = n.attr
	out.SetTimeout(cacheTimeout)
	return 0
}

func (n *treeNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if n.attr.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		return nil, syscall.ENOTDIR
	}
	p := n.child(name)
	n.t.mu.Lock()
	fi, err := n.t.fsys.Stat(p)
	n.t.mu.Unlock()
	if err != nil {
		return nil, errno(err)
	}
	attr, link := n.t.nodeAttr(p, fi)
	c := &treeNode{t: n.t, path: p, attr: attr, link: link}
	out.Attr = attr
	out.SetEntryTimeout(cacheTimeout)
	out.SetAttrTimeout(cacheTimeout)
	return n.NewInode(ctx, c, fs.StableAttr{Mode: attr.Mode & syscall.S_IFMT, Ino: attr.Ino}), 0
}

func (n *treeNode) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	n.t.mu.Lock()
	ents, err := n.t.fsys.ReadDir(n.path)
	n.t.mu.Unlock()
	if err != nil {
		return nil, errno(err)
	}
	list := make([]fuse.DirEntry, 0, len(ents))
	for _, e := range ents {
		p := n.child(e.Name())
		t := e.Type()
		if e.IsDir() { // FAT's entries say so only here
			t |= iofs.ModeDir
		}
		de := fuse.DirEntry{Name: e.Name(), Ino: pathIno(p), Mode: fileType(t)}
		if n.t.ext4 {
			n.t.mu.Lock()
			fi, err := e.Info()
			n.t.mu.Unlock()
			if st, ok := sysStat(fi); err == nil && ok {
				de.Ino = uint64(st.Ino)
			}
		}
		list = append(list, de)
	}
	return fs.NewListDirStream(list), 0
}

func sysStat(fi iofs.FileInfo) (*ext4.StatT, bool) {
	if fi == nil {
		return nil, false
	}
	st, ok := fi.Sys().(*ext4.StatT)
	return st, ok && st != nil && st.Ino != 0
}

func (n *treeNode) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	if n.attr.Mode&syscall.S_IFMT != syscall.S_IFLNK {
		return nil, syscall.EINVAL
	}
	return []byte(n.link), 0
}

func (n *treeNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if flags&(syscall.O_WRONLY|syscall.O_RDWR|syscall.O_TRUNC|syscall.O_APPEND|syscall.O_CREAT) != 0 {
		return nil, 0, syscall.EROFS
	}
	switch n.attr.Mode & syscall.S_IFMT {
	case syscall.S_IFREG:
	case syscall.S_IFDIR:
		return nil, 0, syscall.EISDIR
	default: // devices of the image (the mount is nodev)
		return nil, 0, syscall.EACCES
	}
	p := n.path
	open := func() (io.ReadCloser, error) { return n.t.fsys.Open(p) }
	// Open once now, so that a broken file fails open(2), not read(2).
	n.t.mu.Lock()
	f, err := open()
	n.t.mu.Unlock()
	if err != nil {
		return nil, 0, errno(err)
	}
	r := newSeqReaderAt(open, int64(n.attr.Size), &n.t.mu)
	r.readers = []*posReader{{r: f}}
	return &treeFile{r: r}, fuse.FOPEN_KEEP_CACHE, 0
}

// treeFile is an open file: reads at any offset from sequential readers.
type treeFile struct{ r *seqReaderAt }

func (f *treeFile) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n, err := f.r.ReadAt(dest, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, syscall.EIO
	}
	return fuse.ReadResultData(dest[:n]), 0
}

func (f *treeFile) Release(ctx context.Context) syscall.Errno {
	f.r.Close()
	return 0
}

// errno maps a browse error to the errno the kernel returns.
func errno(err error) syscall.Errno {
	var en syscall.Errno
	switch {
	case errors.As(err, &en):
		return en
	case errors.Is(err, iofs.ErrNotExist):
		return syscall.ENOENT
	case errors.Is(err, iofs.ErrPermission):
		return syscall.EACCES
	case errors.Is(err, browse.ErrBadImage):
		return syscall.EIO
	}
	// go-diskfs reports a missing path as a plain error.
	return syscall.ENOENT
}

var (
	_ fs.NodeGetattrer  = (*treeNode)(nil)
	_ fs.NodeLookuper   = (*treeNode)(nil)
	_ fs.NodeReaddirer  = (*treeNode)(nil)
	_ fs.NodeReadlinker = (*treeNode)(nil)
	_ fs.NodeOpener     = (*treeNode)(nil)
	_ fs.FileReader     = (*treeFile)(nil)
	_ fs.FileReleaser   = (*treeFile)(nil)
)

// ServeTree mounts a read-only FUSE file system on dir that serves the
// files of fsys itself (no loop device, no kernel file-system driver):
// names, sizes, modes, owners and times as the image records them (FAT has
// no owners or modes: 0755 directories and 0644 files owned by root), and
// ext4 symbolic links. The mount is ro, nodev, nosuid, noexec and open to
// all users, with the kernel checking permissions, like a kernel mount. The
// caller runs server.Wait() (it returns once dir is unmounted) or
// server.Unmount().
func ServeTree(fsys *browse.FS, dir string) (*fuse.Server, error) {
	if fsys == nil {
		return nil, errors.New("vmount: ServeTree: nil file system")
	}
	t := &tree{fsys: fsys, ext4: fsys.Type == "ext4"}
	rootInfo, err := fsys.Stat(".")
	if err != nil {
		return nil, err
	}
	attr, _ := t.nodeAttr(".", rootInfo)
	attr.Mode = syscall.S_IFDIR | attr.Mode&0o7777
	attr.Ino = 1
	root := &treeNode{t: t, path: ".", attr: attr}
	timeout := cacheTimeout
	opts := &fs.Options{
		EntryTimeout:    &timeout,
		AttrTimeout:     &timeout,
		NegativeTimeout: &timeout,
		MountOptions: fuse.MountOptions{
			FsName:       TreeFSName,
			Name:         fsys.Type,
			DirectMount:  true,
			AllowOther:   true,
			Options:      []string{"ro", "nodev", "nosuid", "noexec", "default_permissions"},
			MaxReadAhead: 1 << 20,
		},
	}
	return fs.Mount(dir, root, opts)
}
