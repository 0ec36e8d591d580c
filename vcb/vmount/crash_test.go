package vmount

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The test binary doubles as the mounting process that the crash tests
// kill: with VMOUNT_TEST_CHILD set it mounts or serves, says "ready" on
// stdout and keeps serving.
func TestMain(m *testing.M) {
	if os.Getenv("VMOUNT_TEST_CHILD") != "" {
		if err := childMain(); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	if images.dir != "" {
		os.RemoveAll(images.dir)
	}
	os.Exit(code)
}

func childMain() error {
	m := &Manager{StateDir: os.Getenv("VMOUNT_TEST_STATE")}
	dir := os.Getenv("VMOUNT_TEST_DIR")
	switch os.Getenv("VMOUNT_TEST_CHILD") {
	case "mount": // the whole mount in this process, then wait to be killed
		if _, err := m.Mount(dir, os.Getenv("VMOUNT_TEST_DISK"), &Options{Mode: os.Getenv("VMOUNT_TEST_MODE")}); err != nil {
			return err
		}
		fmt.Println("ready")
		select {}
	case "serve": // a FUSE server like examples/vmmount's __serve
		s, err := m.Load(dir)
		if err != nil {
			return err
		}
		srv, err := Serve(s)
		if err != nil {
			return err
		}
		fmt.Println("ready")
		srv.Wait()
		return nil
	}
	return errors.New("unknown child mode")
}

// startChild runs the test binary as a child; its arguments name the
// state's FUSE directory, as the CLI's server does.
func startChild(t *testing.T, what, stateDir, dir, disk, mode, fuseDir string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], fuseDir)
	cmd.Env = append(os.Environ(), "VMOUNT_TEST_CHILD="+what, "VMOUNT_TEST_STATE="+stateDir,
		"VMOUNT_TEST_DIR="+dir, "VMOUNT_TEST_DISK="+disk, "VMOUNT_TEST_MODE="+mode,
		"GORACE=atexit_sleep_ms=0") // -race waits 1 s at exit by default
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	c := &child{pid: cmd.Process.Pid, proc: cmd.Process, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		if !c.exited() {
			c.proc.Kill() // only this test's own child
			<-c.done
		}
	})
	line, _ := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		t.Fatalf("child %s: %q", what, line)
	}
	return c
}

type child struct {
	pid  int
	proc *os.Process
	done chan struct{} // closed once reaped
}

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (c *child) kill(t *testing.T) {
	t.Helper()
	must(t, c.proc.Signal(syscall.SIGKILL))
	<-c.done
}

// TestCrashThenUnmount kills (SIGKILL) the process that mounted or serves
// a mount, or leaves steps unrecorded as a crash between a step and its
// state save would, then checks that Unmount from another process leaves
// no mount, loop device, server or state behind.
func TestCrashThenUnmount(t *testing.T) {
	requireMount(t)
	fat, ext := fatDisk(t), ext4Disk(t, 0)
	kernelExt4 := KernelCanMount("ext4")
	for _, c := range []struct {
		name, disk, mode string
		kernel           bool
		run              func(t *testing.T, m *Manager, dir, disk, mode string)
	}{
		{"mounter killed/fuse/fat", fat, ModeFUSE, false, crashMounter},
		{"mounter killed/kernel/ext4", ext, ModeKernel, true, crashMounter},
		{"server killed/fuse/ext4", ext, ModeFUSE, false, crashServer},
		{"server killed/kernel/ext4", ext, ModeKernel, true, crashServer},
		{"server pid unrecorded/fuse", fat, ModeFUSE, false, unrecordedServer},
		{"loop and mount unrecorded/kernel", ext, ModeKernel, true, unrecordedLoop},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // independent state and mount directories
			if c.kernel && !kernelExt4 {
				t.Skip("kernel without ext4")
			}
			m := &Manager{StateDir: t.TempDir()}
			dir := filepath.Join(t.TempDir(), "mnt")
			t.Cleanup(func() { m.Unmount(dir) })
			c.run(t, m, dir, c.disk, c.mode)
			if err := m.Unmount(dir); err != nil {
				t.Fatal(err)
			}
			checkClean(t, m.StateDir, dir)
			if err := m.Unmount(dir); !errors.Is(err, ErrNotMounted) {
				t.Errorf("second Unmount: %v", err)
			}
		})
	}
}

// crashMounter: a process mounts everything itself and is killed.
func crashMounter(t *testing.T, m *Manager, dir, disk, mode string) {
	cmd := startChild(t, "mount", m.StateDir, dir, disk, mode, "-")
	if ents, err := os.ReadDir(dir); err != nil || len(ents) == 0 {
		t.Fatalf("mounted dir: %v, %v", ents, err)
	}
	cmd.kill(t)
	// The server is gone: the mount is broken (ENOTCONN) or, in ModeKernel,
	// still cached by the kernel; Unmount copes with both.
}

// crashServer: a separate server process (PID recorded, as the CLI does)
// is killed.
func crashServer(t *testing.T, m *Manager, dir, disk, mode string) {
	s, err := m.Prepare(dir, disk, &Options{Mode: mode})
	must(t, err)
	cmd := startChild(t, "serve", m.StateDir, dir, disk, mode, s.FuseDir)
	must(t, m.Started(s, cmd.pid))
	if ents, err := os.ReadDir(dir); err != nil || len(ents) == 0 {
		t.Fatalf("mounted dir: %v, %v", ents, err)
	}
	cmd.kill(t)
	if _, err := os.ReadDir(dir); mode == ModeFUSE && !errors.Is(err, syscall.ENOTCONN) {
		t.Errorf("after the kill: %v, want ENOTCONN", err)
	}
}

// unrecordedServer: the mounter crashed after starting the server and
// before saving its PID; the server still runs and must be found.
func unrecordedServer(t *testing.T, m *Manager, dir, disk, mode string) {
	s, err := m.Prepare(dir, disk, &Options{Mode: mode})
	must(t, err)
	cmd := startChild(t, "serve", m.StateDir, dir, disk, mode, s.FuseDir)
	if !IsMountpoint(dir) {
		t.Fatal("server did not mount")
	}
	t.Cleanup(func() {
		select {
		case <-cmd.done:
		case <-time.After(time.Minute): // a failure guard, not a timing assertion
			t.Error("the server survived Unmount")
		}
	})
}

// unrecordedLoop: the mounter crashed after attaching the loop device and
// mounting it, before saving either.
func unrecordedLoop(t *testing.T, m *Manager, dir, disk, mode string) {
	s, err := m.Prepare(dir, disk, &Options{Mode: mode})
	must(t, err)
	cmd := startChild(t, "serve", m.StateDir, dir, disk, mode, s.FuseDir)
	must(t, m.Started(s, cmd.pid))
	// A second loop device and mount of the same file, never recorded.
	dev, err := AttachLoop(filepath.Join(s.FuseDir, DiskFileName), s.Offset, s.Size)
	must(t, err)
	t.Cleanup(func() { DetachLoop(dev) })
	must(t, unix.Mount(dev, dir, "ext4", unix.MS_RDONLY, "noload"))
	if got := loopsBackedBy(filepath.Join(s.FuseDir, DiskFileName)); len(got) != 2 {
		t.Fatalf("loop devices %v", got)
	}
}
