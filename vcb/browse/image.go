package browse

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/bulletproof-labs/wsvcb/vcb/vmdk"
)

// Image is an opened disk image file: a VMDK (any layout package vmdk
// reads) or a raw disk.
type Image struct {
	io.ReaderAt
	Size   int64
	Format string // "vmdk/<createType>" or "raw"
	closer io.Closer
}

// Close closes the image's files.
func (im *Image) Close() error { return im.closer.Close() }

// OpenImage opens path as a VMDK when it is one (sparse magic or text
// descriptor), else as a raw disk image.
func OpenImage(path string) (*Image, error) {
	d, err := vmdk.Open(path)
	if err == nil {
		return &Image{ReaderAt: d, Size: d.Size(), Format: "vmdk/" + d.CreateType(), closer: d}, nil
	}
	var fe *vmdk.FormatError
	if !errors.As(err, &fe) || !(fe.Field == "descriptor" || fe.Field == "header.magic" && fe.Kind == vmdk.ErrCorrupt) || strings.HasSuffix(strings.ToLower(path), ".vmdk") {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Image{ReaderAt: f, Size: st.Size(), Format: "raw", closer: f}, nil
}

// Target is a parsed "DISK[@PART][:/PATH]" argument.
type Target struct {
	Disk      string
	Partition int // -1: first file system found
	Path      string
}

// ParseTarget splits "disk.vmdk@2:/etc/hostname" into disk, partition 2
// and path; without "@N" the partition is -1 (auto), without ":/PATH" the
// path is "/".
func ParseTarget(s string) (Target, error) {
	t := Target{Disk: s, Partition: -1, Path: "/"}
	if i := strings.Index(s, ":/"); i >= 0 {
		t.Disk, t.Path = s[:i], s[i+1:]
	} else if strings.HasSuffix(s, ":") {
		t.Disk = s[:len(s)-1]
	}
	if i := strings.LastIndexByte(t.Disk, '@'); i >= 0 {
		n, err := strconv.Atoi(t.Disk[i+1:])
		if err != nil || n < 0 {
			return t, fmt.Errorf("browse: bad partition number in %q (want DISK@N)", s)
		}
		t.Disk, t.Partition = t.Disk[:i], n
	}
	if t.Disk == "" {
		return t, fmt.Errorf("browse: no disk in %q", s)
	}
	return t, nil
}
