package vmount

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// MountFS attaches the partition (s.Offset, s.Size) of the FUSE-served disk
// file to a loop device and mounts its s.FSType file system read-only on
// s.Dir, saving the state after each step. On failure it undoes what it
// did (the FUSE server is left to the caller).
func (m *Manager) MountFS(s *State) (err error) {
	defer func() {
		if err != nil {
			m.undoMount(s)
		}
	}()
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return err
	}
	dev, err := AttachLoop(filepath.Join(s.FuseDir, DiskFileName), s.Offset, s.Size)
	if err != nil {
		return err
	}
	s.LoopDev = dev
	if err := m.Save(s); err != nil {
		return err
	}
	fstype, data := KernelFSType(s.FSType), ""
	switch fstype {
	case "ext4":
		data = "noload" // never replay a snapshot's journal
	case "vfat":
		data = "utf8"
	}
	flags := uintptr(unix.MS_RDONLY | unix.MS_NODEV | unix.MS_NOSUID | unix.MS_NOEXEC)
	if err := unix.Mount(dev, s.Dir, fstype, flags, data); err != nil {
		if errors.Is(err, unix.ENODEV) && !KernelHasFS(fstype) {
			return fmt.Errorf("vmount: the kernel has no %s file system (not in /proc/filesystems); browse the disk without mounting (vmmount ls/cat/get): %w", fstype, err)
		}
		return fmt.Errorf("vmount: mount %s (%s) on %s: %w", dev, fstype, s.Dir, err)
	}
	s.Mounted = true
	return m.Save(s)
}

func (m *Manager) undoMount(s *State) {
	if s.LoopDev != "" && mountSource(s.Dir) == s.LoopDev {
		unmount(s.Dir)
		s.Mounted = false
	}
	if s.LoopDev != "" {
		if loopBacking(s.LoopDev) == filepath.Join(s.FuseDir, DiskFileName) {
			DetachLoop(s.LoopDev)
		}
		s.LoopDev = ""
	}
	m.Save(s)
}

// Unmount undoes everything recorded for the mount on dir: the file
// system mount (the loop device's in ModeKernel, the FUSE tree's in
// ModeFUSE; a foreign mount stacked on dir is left alone), the loop
// device, the flat-file FUSE mount and the FUSE server process (the PID
// recorded and any process whose command line names the state's FUSE
// directory, each signalled only while it still does), then removes the
// state. It works after a crash of the mounting process, at any step.
func (m *Manager) Unmount(dir string) error {
	s, err := m.Load(dir)
	if err != nil {
		return err
	}
	// The FUSE directory selects processes to signal and loop devices to
	// detach: accept only what NewState makes.
	if want := filepath.Join(m.dir(), key(s.Dir)+".fuse"); s.FuseDir != want {
		return fmt.Errorf("vmount: state file %s: FUSE directory %q, want %q", m.statePath(s.Dir), s.FuseDir, want)
	}
	var errs []error
	loops := loopsBackedBy(filepath.Join(s.FuseDir, DiskFileName))
	for range 8 { // ours may be stacked (a step redone after a crash)
		src := mountSource(s.Dir)
		if src == "\x00" || !ownsMount(s, src) && !slices.Contains(loops, src) {
			break
		}
		if err := unmount(s.Dir); err != nil {
			errs = append(errs, err)
			break
		}
	}
	for _, dev := range loops { // s.LoopDev, or one attached just before a crash
		if err := DetachLoop(dev); err != nil {
			errs = append(errs, fmt.Errorf("vmount: detach %s: %w", dev, err))
		}
	}
	if IsMountpoint(s.FuseDir) {
		if err := unmount(s.FuseDir); err != nil {
			errs = append(errs, err)
		}
	}
	for _, pid := range serverPIDs(s) {
		if err := stopServer(pid, s.FuseDir); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	os.Remove(s.FuseDir)
	os.Remove(s.FuseDir + ".log") // the CLI's server log
	return os.Remove(m.statePath(s.Dir))
}

// ownsMount reports whether the mount with source src on s.Dir is ours.
func ownsMount(s *State, src string) bool {
	if s.Mode == ModeFUSE {
		return src == TreeFSName
	}
	return s.LoopDev != "" && src == s.LoopDev
}

// serverPIDs lists the FUSE server processes of s: the PID recorded and
// every other process whose command line has s.FuseDir as an argument
// (a server started just before a crash, before its PID was saved).
func serverPIDs(s *State) []int {
	var pids []int
	if s.FusePID > 0 {
		pids = append(pids, s.FusePID)
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == s.FusePID || pid == os.Getpid() {
			continue
		}
		if namesDir(pid, s.FuseDir) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// namesDir reports whether process pid has dir as a command-line argument.
func namesDir(pid int, dir string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	for _, a := range strings.Split(string(b), "\x00") {
		if a == dir {
			return true
		}
	}
	return false
}

// unmount unmounts dir, lazily if it is busy or its FUSE server is gone.
func unmount(dir string) error {
	err := unix.Unmount(dir, 0)
	if err == nil || errors.Is(err, unix.EINVAL) {
		return nil
	}
	if err2 := unix.Unmount(dir, unix.MNT_DETACH); err2 != nil {
		return fmt.Errorf("vmount: unmount %s: %w", dir, err)
	}
	return nil
}

// stopServer waits for the FUSE server to exit after its unmount, then
// signals it, but only while /proc/PID/cmdline still has fuseDir as an
// argument (the PID may have been reused).
func stopServer(pid int, fuseDir string) error {
	owns := func() bool { return namesDir(pid, fuseDir) }
	for _, sig := range []syscall.Signal{0, syscall.SIGTERM, syscall.SIGKILL} {
		if sig != 0 && owns() {
			syscall.Kill(pid, sig)
		}
		for range 40 {
			if !owns() {
				return nil
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return fmt.Errorf("vmount: FUSE server %d does not exit", pid)
}

// IsMountpoint reports whether dir is a mount point (per /proc/self/mountinfo).
func IsMountpoint(dir string) bool { return mountSource(dir) != "\x00" }

// mountSource returns the source of the last mount on dir, or "\x00".
func mountSource(dir string) string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "\x00"
	}
	defer f.Close()
	return parseMountSource(f, dir)
}

// parseMountSource finds the source of the last mount on dir in a
// mountinfo table (proc(5)), or returns "\x00".
func parseMountSource(r io.Reader, dir string) string {
	src := "\x00"
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), " ") // the kernel escapes spaces, tabs, newlines and backslashes
		if len(fields) < 10 || unescape(fields[4]) != dir {
			continue
		}
		for i := 6; i+2 < len(fields); i++ { // optional fields, "-", type, source
			if fields[i] == "-" {
				src = unescape(fields[i+2])
				break
			}
		}
	}
	return src
}

// unescape decodes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// KernelHasFS reports whether /proc/filesystems lists fstype.
func KernelHasFS(fstype string) bool {
	b, err := os.ReadFile("/proc/filesystems")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[len(f)-1] == fstype {
			return true
		}
	}
	return false
}
