package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/bulletproof-labs/wsvcb/vcb/browse"
	"github.com/bulletproof-labs/wsvcb/vcb/vmount"
)

// serveCmd is the hidden subcommand the background FUSE server runs.
const serveCmd = "__serve"

func cmdMount(ctx context.Context, stateDir, disk string, part int, mode, dir string, out io.Writer) (err error) {
	t, err := browse.ParseTarget(disk)
	if err != nil {
		return err
	}
	if part >= 0 {
		t.Partition = part
	}
	m := &vmount.Manager{StateDir: stateDir}
	// Find the partition and file system and choose the mode before
	// mounting anything; the state file records each step from here on.
	s, err := m.Prepare(dir, t.Disk, &vmount.Options{Partition: t.Partition, Mode: mode}) // @0 and -1: the first file system
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
	pid, err := startServer(s)
	if err != nil {
		return err
	}
	if err := m.Started(s, pid); err != nil {
		return err
	}
	via := "FUSE file tree (" + vmount.ModeFUSE + " mode)"
	if s.Mode == vmount.ModeKernel {
		via = s.LoopDev + " (" + vmount.ModeKernel + " mode)"
	}
	fmt.Fprintf(out, "mounted %s partition %d (%s) read-only on %s via %s, FUSE server pid %d\n",
		t.Disk, s.Partition, s.FSType, s.Dir, via, s.FusePID)
	return nil
}

// startServer re-executes vmmount in the background (new session, output
// to FUSEDIR.log) to serve the disk (ModeKernel) or its file tree
// (ModeFUSE) through FUSE, and waits until the server reports that the
// FUSE file system is mounted. Its command line names s.FuseDir, which is
// how vmmount -u recognises it.
func startServer(s *vmount.State) (int, error) {
	fuseDir := s.FuseDir
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
	cmd := exec.Command(exe, serveCmd, s.Mode, strconv.Itoa(s.Partition), s.Disk, s.Dir, fuseDir)
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

// cmdServe is the background FUSE server: MODE PART DISK DIR FUSEDIR,
// readiness on fd 3.
func cmdServe(ctx context.Context, args []string) error {
	if len(args) != 5 {
		return errors.New("usage: vmmount __serve MODE PART DISK DIR FUSEDIR")
	}
	part, err := strconv.Atoi(args[1])
	if err != nil {
		return err
	}
	ready := os.NewFile(3, "ready")
	srv, err := vmount.Serve(&vmount.State{Mode: args[0], Partition: part, Disk: args[2], Dir: args[3], FuseDir: args[4]})
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
	fmt.Fprintln(tw, "DIR\tDISK\tPART\tFS\tMODE\tLOOP\tPID\tMOUNTED")
	for _, s := range states {
		mode := s.Mode
		if mode == "" {
			mode = vmount.ModeKernel
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%d\t%v\n", s.Dir, s.Disk, s.Partition, s.FSType, mode, or(s.LoopDev, "-"), s.FusePID, s.Mounted && vmount.IsMountpoint(s.Dir))
	}
	return tw.Flush()
}
