// Command vmmount browses and mounts backed-up virtual disks, in the
// spirit of VCB's vmmount.
//
// Without root, in pure Go (FAT and ext4, MBR and GPT):
//
//	vmmount info  DISK.vmdk                  format, size, partitions
//	vmmount parts DISK.vmdk                  partition table
//	vmmount ls   [-l] DISK.vmdk[@N]:/etc     list a directory
//	vmmount cat  DISK.vmdk[@N]:/etc/hostname write a file to stdout
//	vmmount get  DISK.vmdk[@N]:/etc DEST     copy a file or tree out
//	vmmount check DISK.vmdk                  read every allocated grain
//	vmmount convert [-t TYPE] SRC DST        write streamOptimized (default),
//	                                         monolithicSparse or raw
//
// "@N" (or -p N) selects partition N; by default the first partition with
// a supported file system is used.
//
// With root, like VCB:
//
//	vmmount -d DISK.vmdk [-p N] [-fs auto|kernel|fuse] -sysdl DIR
//	                                         mount read-only on DIR
//	vmmount -u DIR                           unmount and clean up
//	vmmount -l                               list mounts
//
// -d starts a background FUSE server. In kernel mode it exposes the disk
// as a flat file, maps the partition with a loop device and mounts it
// read-only with the kernel's driver; in fuse mode it serves the
// partition's files itself (read in Go, no loop device, no kernel
// driver). The default, auto, uses kernel mode when the kernel has the
// file system (/proc/filesystems, or modprobe loads it) and fuse mode
// otherwise (e.g. FAT on a kernel without vfat). -u undoes all of it from
// the state file in /run/vmmount, also after a crash.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/bulletproof-labs/wsvcb/vcb/browse"
	"github.com/bulletproof-labs/wsvcb/vcb/vmount"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "vmmount:", err)
		os.Exit(1)
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  vmmount info|parts DISK
  vmmount ls [-l] DISK[@N][:/PATH]
  vmmount cat DISK[@N]:/PATH
  vmmount get DISK[@N]:/PATH DEST
  vmmount check DISK
  vmmount convert [-t streamOptimized|monolithicSparse|raw] SRC DST
  vmmount -d DISK [-p N] [-fs auto|kernel|fuse] -sysdl DIR
                                        (root: mount read-only)
  vmmount -u DIR                        (root: unmount, clean up)
  vmmount -l                            (list mounts)
`)
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "info", "parts":
			return cmdParts(args[1:], out, args[0] == "info")
		case "ls":
			return cmdLs(args[1:], out)
		case "cat":
			return cmdCat(args[1:], out)
		case "get":
			return cmdGet(args[1:], out)
		case "convert":
			return cmdConvert(ctx, args[1:], out)
		case "check":
			return cmdCheck(ctx, args[1:], out)
		case serveCmd:
			ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
			defer stop()
			return cmdServe(ctx, args[1:])
		}
	}
	fl := flag.NewFlagSet("vmmount", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	disk := fl.String("d", "", "disk to mount")
	dir := fl.String("sysdl", "", "directory to mount on")
	part := fl.Int("p", -1, "partition number (default: first with a file system)")
	fsMode := fl.String("fs", vmount.ModeAuto, "mount mode: auto, kernel (loop device + kernel driver) or fuse (file tree served in Go)")
	umount := fl.String("u", "", "unmount DIR")
	list := fl.Bool("l", false, "list mounts")
	state := fl.String("state", os.Getenv("VMMOUNT_STATE_DIR"), "state directory (default /run/vmmount)")
	fl.Bool("cycleId", false, "accepted for VCB compatibility")
	if err := fl.Parse(args); err != nil {
		usage(os.Stderr)
		return err
	}
	switch strings.ToLower(*fsMode) {
	case "", vmount.ModeAuto, vmount.ModeKernel, vmount.ModeFUSE:
	default:
		// Before anything is opened or mounted.
		return fmt.Errorf("%w: -fs %q (want %s, %s or %s)", vmount.ErrMode, *fsMode, vmount.ModeAuto, vmount.ModeKernel, vmount.ModeFUSE)
	}
	switch {
	case *umount != "":
		return cmdUnmount(*state, *umount, out)
	case *list:
		return cmdList(*state, out)
	case *disk != "" && *dir != "":
		return cmdMount(ctx, *state, *disk, *part, *fsMode, *dir, out)
	}
	usage(os.Stderr)
	return errors.New("nothing to do")
}

// openTarget opens the disk and file system a target names.
func openTarget(arg string, part int) (*browse.Image, *browse.FS, browse.Target, error) {
	t, err := browse.ParseTarget(arg)
	if err != nil {
		return nil, nil, t, err
	}
	if part >= 0 {
		t.Partition = part
	}
	img, err := browse.OpenImage(t.Disk)
	if err != nil {
		return nil, nil, t, err
	}
	d, err := browse.Open(img, img.Size)
	if err != nil {
		img.Close()
		return nil, nil, t, err
	}
	fsys, err := d.FileSystem(t.Partition)
	if err != nil {
		img.Close()
		return nil, nil, t, err
	}
	return img, fsys, t, nil
}

func cmdParts(args []string, out io.Writer, info bool) error {
	if len(args) != 1 {
		return errors.New("usage: vmmount parts DISK")
	}
	img, err := browse.OpenImage(args[0])
	if err != nil {
		return err
	}
	defer img.Close()
	d, err := browse.Open(img, img.Size)
	if err != nil {
		return err
	}
	if info {
		fmt.Fprintf(out, "format:  %s\nsize:    %d bytes\ntable:   %s\n", img.Format, img.Size, or(d.Table(), "none"))
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tSTART\tSIZE\tTYPE\tFS\tLABEL\tNAME")
	if len(d.Partitions()) == 0 {
		fs, err := d.FileSystem(0)
		fsType, label := "-", ""
		if err == nil {
			fsType, label = fs.Type, fs.Label
		}
		fmt.Fprintf(tw, "0\t0\t%d\t(whole disk)\t%s\t%s\t\n", d.Size(), fsType, label)
	}
	for _, p := range d.Partitions() {
		fsType, label := "-", ""
		if fs, err := d.FileSystem(p.Index); err == nil {
			fsType, label = fs.Type, fs.Label
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%s\t%s\t%s\t%s\n", p.Index, p.Start, p.Size, p.Type, fsType, label, p.Name)
	}
	return tw.Flush()
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func cmdLs(args []string, out io.Writer) error {
	fl := flag.NewFlagSet("ls", flag.ContinueOnError)
	long := fl.Bool("l", false, "long listing")
	part := fl.Int("p", -1, "partition")
	if err := fl.Parse(args); err != nil || fl.NArg() != 1 {
		return errors.New("usage: vmmount ls [-l] [-p N] DISK[@N][:/PATH]")
	}
	img, fsys, t, err := openTarget(fl.Arg(0), *part)
	if err != nil {
		return err
	}
	defer img.Close()
	st, err := fsys.Stat(t.Path)
	if err != nil {
		return err
	}
	var ents []fs.FileInfo
	if st.IsDir() {
		des, err := fsys.ReadDir(t.Path)
		if err != nil {
			return err
		}
		for _, de := range des {
			fi, err := de.Info()
			if err != nil {
				return err
			}
			ents = append(ents, fi)
		}
	} else {
		ents = []fs.FileInfo{st}
	}
	tw := tabwriter.NewWriter(out, 0, 4, 1, ' ', 0)
	for _, fi := range ents {
		name := fi.Name()
		if fi.IsDir() {
			name += "/"
		}
		if *long {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", fi.Mode(), fi.Size(), fi.ModTime().UTC().Format("2006-01-02 15:04"), name)
		} else {
			fmt.Fprintln(tw, name)
		}
	}
	return tw.Flush()
}

func cmdCat(args []string, out io.Writer) error {
	fl := flag.NewFlagSet("cat", flag.ContinueOnError)
	part := fl.Int("p", -1, "partition")
	if err := fl.Parse(args); err != nil || fl.NArg() != 1 {
		return errors.New("usage: vmmount cat [-p N] DISK[@N]:/PATH")
	}
	img, fsys, t, err := openTarget(fl.Arg(0), *part)
	if err != nil {
		return err
	}
	defer img.Close()
	f, err := fsys.Open(t.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(out, f)
	return err
}

func cmdGet(args []string, out io.Writer) error {
	fl := flag.NewFlagSet("get", flag.ContinueOnError)
	part := fl.Int("p", -1, "partition")
	if err := fl.Parse(args); err != nil || fl.NArg() != 2 {
		return errors.New("usage: vmmount get [-p N] DISK[@N]:/PATH DEST")
	}
	img, fsys, t, err := openTarget(fl.Arg(0), *part)
	if err != nil {
		return err
	}
	defer img.Close()
	n, bytes, err := browse.Extract(fsys, t.Path, fl.Arg(1))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "copied %d files, %d bytes to %s\n", n, bytes, filepath.Clean(fl.Arg(1)))
	return nil
}
