package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/bulletproof-labs/wsvcb/vcb/browse"
	"github.com/bulletproof-labs/wsvcb/vcb/vmount"
)

// serveCmd is the hidden subcommand the background FUSE server runs.
const serveCmd = "__serve"

func cmdMount(ctx context.Context, stateDir, disk string, part int, dir string, out io.Writer) (err error) {
	t, err := browse.ParseTarget(disk)
	if err != nil {
		return err
	}
	if part >= 0 {
		t.Partition = part
	}
	absDisk, err := filepath.Abs(t.Disk)
	if err != nil {
		return err
	}
	// Find the partition and file system before mounting anything.
	img, err := browse.OpenImage(absDisk)
	if err != nil {
		return err
	}
	d, err := browse.Open(img, img.Size)
	if err != nil {
		img.Close()
		return err
	}
	fsys, err := d.FileSystem(t.Partition)
	img.Close()
	if err != nil {
		return err
	}
	m := &vmount.Manager{StateDir: stateDir}
	s, err := m.NewState(dir, absDisk)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			if uerr := m.Unmount(s.Dir); uerr != nil {
				err = errors.Join(err, fmt.Errorf("cleanup: %w", uerr))
			}
		}
	}()
	s.Partition, s.Offset, s.Size, s.FSType = fsys.Partition, 0, img.Size, fsys.Type
	for _, p := range d.Partitions() {
		if p.Index == fsys.Partition {
			s.Offset, s.Size = p.Start, p.Size
		}
	}
	if err := m.Save(s); err != nil {
		return err
	}
	pid, err := startServer(absDisk, s.FuseDir)
	if pid > 0 {
		s.FusePID = pid
		if serr := m.Save(s); err == nil {
			err = serr
		}
	}
	if err != nil {
		return err
	}
	if err := m.MountFS(s); err != nil {
		return err
	}
	fmt.Fprintf(out, "mounted %s partition %d (%s) read-only on %s via %s, FUSE server pid %d\n",
		t.Disk, s.Partition, s.FSType, s.Dir, s.LoopDev, s.FusePID)
	return nil
}

// startServer re-executes vmmount in the background (new session, output
// to FUSEDIR.log) to serve the disk through FUSE, and waits until the
// server reports that the FUSE file system is mounted.
func startServer(disk, fuseDir string) (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	logf, err := os.OpenFile(fuseDir+".log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer pr.Close()
	cmd := exec.Command(exe, serveCmd, disk, fuseDir)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{pw}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		pw.Close()
		return 0, err
	}
	pw.Close()
	pid := cmd.Process.Pid
	go cmd.Wait() // reap if it dies while we wait
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(pr).ReadString('\n')
		ready <- strings.TrimSpace(line)
	}()
	select {
	case line := <-ready:
		if line != "ready" {
			b, _ := os.ReadFile(fuseDir + ".log")
			return pid, fmt.Errorf("FUSE server failed: %s", strings.TrimSpace(string(b)))
		}
	case <-time.After(30 * time.Second):
		return pid, errors.New("FUSE server did not start within 30s")
	}
	cmd.Process.Release()
	return pid, nil
}

// cmdServe is the background FUSE server: DISK FUSEDIR, readiness on fd 3.
func cmdServe(ctx context.Context, args []string) error {
	if len(args) != 2 {
		return errors.New("usage: vmmount __serve DISK FUSEDIR")
	}
	ready := os.NewFile(3, "ready")
	img, err := browse.OpenImage(args[0])
	if err != nil {
		return err
	}
	defer img.Close()
	srv, err := vmount.ServeDisk(img, img.Size, args[1])
	if err != nil {
		return err
	}
	if ready != nil {
		fmt.Fprintln(ready, "ready")
		ready.Close()
	}
	go func() {
		<-ctx.Done()
		srv.Unmount()
	}()
	srv.Wait()
	return nil
}

func cmdUnmount(stateDir, dir string, out io.Writer) error {
	m := &vmount.Manager{StateDir: stateDir}
	if err := m.Unmount(dir); err != nil {
		return err
	}
	fmt.Fprintf(out, "unmounted %s\n", dir)
	return nil
}

func cmdList(stateDir string, out io.Writer) error {
	m := &vmount.Manager{StateDir: stateDir}
	states, err := m.List()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DIR\tDISK\tPART\tFS\tLOOP\tPID\tMOUNTED")
	for _, s := range states {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%d\t%v\n", s.Dir, s.Disk, s.Partition, s.FSType, s.LoopDev, s.FusePID, s.Mounted && vmount.IsMountpoint(s.Dir))
	}
	return tw.Flush()
}
