package vmount

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// AttachLoop maps size bytes at offset of file to a free loop device,
// read-only, and returns its path (/dev/loopN).
func AttachLoop(file string, offset, size int64) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR, 0)
	if err != nil {
		return "", err
	}
	defer ctl.Close()
	for range 10 { // another process may grab the free device first
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return "", fmt.Errorf("vmount: LOOP_CTL_GET_FREE: %w", err)
		}
		dev := fmt.Sprintf("/dev/loop%d", n)
		lf, err := os.OpenFile(dev, os.O_RDONLY, 0)
		if err != nil {
			return "", err
		}
		cfg := &unix.LoopConfig{Fd: uint32(f.Fd())}
		cfg.Info.Offset = uint64(offset)
		cfg.Info.Sizelimit = uint64(size)
		cfg.Info.Flags = unix.LO_FLAGS_READ_ONLY // no AUTOCLEAR: it would detach when we close our fd
		copy(cfg.Info.File_name[:], file)
		err = unix.IoctlLoopConfigure(int(lf.Fd()), cfg)
		lf.Close()
		if errors.Is(err, unix.EBUSY) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("vmount: LOOP_CONFIGURE %s: %w", dev, err)
		}
		return dev, nil
	}
	return "", errors.New("vmount: no free loop device")
}

// DetachLoop detaches a loop device; a device that is already free is not
// an error.
func DetachLoop(dev string) error {
	f, err := os.OpenFile(dev, os.O_RDONLY, 0)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	defer f.Close()
	err = unix.IoctlSetInt(int(f.Fd()), unix.LOOP_CLR_FD, 0)
	if errors.Is(err, unix.ENXIO) {
		return nil
	}
	return err
}

// loopBacking returns the backing file name of a loop device ("" if free).
func loopBacking(dev string) string {
	b, err := os.ReadFile("/sys/block/" + baseName(dev) + "/loop/backing_file")
	if err != nil {
		return ""
	}
	return string(trimNL(b))
}

// loopsBackedBy lists the loop devices whose backing file is file.
func loopsBackedBy(file string) []string {
	ms, _ := filepath.Glob("/sys/block/loop*/loop/backing_file")
	var devs []string
	for _, m := range ms {
		b, err := os.ReadFile(m)
		if err == nil && string(trimNL(b)) == file {
			devs = append(devs, "/dev/"+filepath.Base(filepath.Dir(filepath.Dir(m))))
		}
	}
	return devs
}

func baseName(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == 0) {
		b = b[:len(b)-1]
	}
	return b
}
