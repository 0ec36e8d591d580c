package vmount

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/bulletproof-labs/wsvcb/vcb/browse"
)

// Options choose what Prepare and Mount mount. The zero value (or nil)
// means the defaults: the first partition with a file system, ModeAuto.
type Options struct {
	// Partition is the 1-based partition index; 0 (or negative) picks
	// the first partition that holds a supported file system, or the
	// whole disk when it has no partition table.
	Partition int
	// Mode is ModeAuto (or ""), ModeKernel or ModeFUSE.
	Mode string
}

func (o *Options) orDefault() Options {
	opt := Options{Mode: ModeAuto}
	if o != nil {
		opt = *o
	}
	if opt.Partition <= 0 {
		opt.Partition = -1 // browse: first file system found
	}
	return opt
}

// Prepare finds the file system to mount in the disk image (a VMDK or a
// raw image), chooses the mode and records the mount of it on dir in a new
// state file, before anything is mounted.
func (m *Manager) Prepare(dir, disk string, o *Options) (*State, error) {
	opt := o.orDefault()
	abs, err := filepath.Abs(disk)
	if err != nil {
		return nil, err
	}
	img, err := browse.OpenImage(abs)
	if err != nil {
		return nil, err
	}
	defer img.Close()
	d, err := browse.Open(img, img.Size)
	if err != nil {
		return nil, err
	}
	fsys, err := d.FileSystem(opt.Partition)
	if err != nil {
		return nil, err
	}
	mode, err := ResolveMode(opt.Mode, fsys.Type)
	if err != nil {
		return nil, err
	}
	s, err := m.NewState(dir, abs)
	if err != nil {
		return nil, err
	}
	s.Partition, s.Offset, s.Size, s.FSType, s.Mode = fsys.Partition, 0, img.Size, fsys.Type, mode
	for _, p := range d.Partitions() {
		if p.Index == fsys.Partition {
			s.Offset, s.Size = p.Start, p.Size
		}
	}
	return s, m.Save(s)
}

// Server is a running FUSE server of a mount: the flat disk file on
// s.FuseDir (ModeKernel) or the file tree on s.Dir (ModeFUSE).
type Server struct {
	*fuse.Server
	img *browse.Image
}

// Wait returns once the FUSE file system is unmounted, then closes the
// disk image.
func (s *Server) Wait() {
	s.Server.Wait()
	s.img.Close()
}

// Serve opens s.Disk and starts the FUSE server that s.Mode needs. It
// reads only s.Disk, s.Partition, s.Mode, s.Dir and s.FuseDir, so a
// background server process can rebuild them from its arguments.
func Serve(s *State) (*Server, error) {
	img, err := browse.OpenImage(s.Disk)
	if err != nil {
		return nil, err
	}
	srv, err := serve(s, img)
	if err != nil {
		img.Close()
		return nil, err
	}
	return &Server{Server: srv, img: img}, nil
}

func serve(s *State, img *browse.Image) (*fuse.Server, error) {
	switch s.Mode {
	case ModeFUSE:
		d, err := browse.Open(img, img.Size)
		if err != nil {
			return nil, err
		}
		fsys, err := d.FileSystem(s.Partition)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(s.Dir, 0o755); err != nil {
			return nil, err
		}
		return ServeTree(fsys, s.Dir)
	case ModeKernel, "":
		return ServeDisk(img, img.Size, s.FuseDir)
	}
	return nil, fmt.Errorf("%w: %q", ErrMode, s.Mode)
}

// Started records that the FUSE server of s runs (pid 0: in this
// process) and, in ModeKernel, maps and mounts the partition; in ModeFUSE
// the server's own mount is the file system.
func (m *Manager) Started(s *State, pid int) error {
	s.FusePID = pid
	if err := m.Save(s); err != nil {
		return err
	}
	if s.Mode == ModeFUSE {
		s.Mounted = IsMountpoint(s.Dir) && mountSource(s.Dir) == TreeFSName
		if !s.Mounted {
			return fmt.Errorf("vmount: the FUSE server did not mount %s", s.Dir)
		}
		return m.Save(s)
	}
	return m.MountFS(s)
}

// Mounted is a mount served by this process (Manager.Mount).
type Mounted struct {
	*State
	m   *Manager
	srv *Server
}

// Mount mounts the file system of disk read-only on dir, in this process:
// Prepare, Serve, Started. Close (or Manager.Unmount from any process)
// undoes it; if this process dies, Manager.Unmount cleans up.
func (m *Manager) Mount(dir, disk string, o *Options) (mt *Mounted, err error) {
	s, err := m.Prepare(dir, disk, o)
	if err != nil {
		return nil, err
	}
	srv, err := Serve(s)
	if err != nil {
		return nil, errors.Join(err, m.Unmount(s.Dir))
	}
	if err := m.Started(s, 0); err != nil {
		err = errors.Join(err, m.Unmount(s.Dir))
		srv.Wait()
		return nil, err
	}
	return &Mounted{State: s, m: m, srv: srv}, nil
}

// Close unmounts and cleans up, then waits for the FUSE server to stop.
func (mt *Mounted) Close() error {
	err := mt.m.Unmount(mt.Dir)
	mt.srv.Wait()
	return err
}
