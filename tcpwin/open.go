package tcpwin

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// Errors wrapped by *InputError, for errors.Is.
var (
	// ErrFormat: the input is not a capture in a known format, or a header
	// field is impossible (bad magic, oversized length).
	ErrFormat = errors.New("unrecognised input format")
	// ErrTruncated: the input ends inside a header or frame.
	ErrTruncated = errors.New("truncated input")
	// ErrLinkType: a link-layer header type this package cannot decode.
	ErrLinkType = errors.New("unsupported link type")
	// ErrBadFrame: one frame (or text line) has malformed headers. Unlike
	// the errors above it is not terminal: the source skips the frame, and
	// calling Next again continues with the next frame.
	ErrBadFrame = errors.New("malformed frame")
)

// FileSource is a Source over a named input, as returned by Open.
type FileSource interface {
	Source
	// Format is "pcap", "pcapng" or "text" (tcpdump output).
	Format() string
	// Close releases the input (it does not close stdin).
	Close() error
}

// Open opens a capture file, detecting its format (pcap in either byte
// order, pcapng, or tcpdump text). The name "-" reads standard input.
func Open(name string) (FileSource, error) {
	var f *os.File
	if name == "-" {
		f = os.Stdin
	} else {
		var err error
		f, err = os.Open(name)
		if err != nil {
			return nil, err
		}
	}
	src, err := newSource(f, name)
	if err != nil {
		if f != os.Stdin {
			f.Close()
		}
		return nil, err
	}
	if f == os.Stdin {
		return src, nil
	}
	return &fileSource{FileSource: src, f: f}, nil
}

type fileSource struct {
	FileSource
	f *os.File
}

func (s *fileSource) Close() error { return s.f.Close() }

// NewReader returns a Source over r, detecting the format like Open. name
// is used in error messages. The returned value also implements FileSource
// (its Close does not close r).
func NewReader(r io.Reader, name string) (Source, error) {
	return newSource(r, name)
}

// Detect formats from the first four bytes.
const pcapngBlockSHB = 0x0a0d0d0a

func newSource(r io.Reader, name string) (FileSource, error) {
	br := bufio.NewReaderSize(r, bufSizeFor(r))
	magic, err := br.Peek(4)
	if err != nil && len(magic) == 0 {
		if errors.Is(err, io.EOF) {
			return nil, &InputError{Name: name, Err: fmt.Errorf("%w: empty input", ErrFormat)}
		}
		return nil, &InputError{Name: name, Err: err}
	}
	if len(magic) < 4 && isMagicPrefix(magic) {
		return nil, &InputError{Name: name, Err: fmt.Errorf("%w: %d bytes", ErrTruncated, len(magic))}
	}
	if len(magic) == 4 {
		le, be := binary.LittleEndian.Uint32(magic), binary.BigEndian.Uint32(magic)
		switch {
		case le == pcapMagicMicro || le == pcapMagicNano || le == pcapMagicModified,
			be == pcapMagicMicro || be == pcapMagicNano || be == pcapMagicModified:
			return newPcapReader(br, name)
		case be == pcapngBlockSHB:
			return newPcapngReader(br, name)
		}
	}
	return newTextReader(br, name)
}

// isMagicPrefix reports whether b starts a pcap or pcapng magic number.
func isMagicPrefix(b []byte) bool {
	for _, m := range []uint32{pcapMagicMicro, pcapMagicNano, pcapMagicModified, pcapngBlockSHB} {
		var le, be [4]byte
		binary.LittleEndian.PutUint32(le[:], m)
		binary.BigEndian.PutUint32(be[:], m)
		if bytes.HasPrefix(le[:], b) || bytes.HasPrefix(be[:], b) {
			return true
		}
	}
	return false
}

// bufSizeFor sizes the read buffer: readBufSize, or less for in-memory
// readers (bytes.Reader, strings.Reader, bytes.Buffer) whose remaining
// length is fixed and smaller, which keeps parsing many small inputs
// cheap. Files keep the full buffer: they may grow while being read.
func bufSizeFor(r io.Reader) int {
	v, ok := r.(interface{ Len() int })
	if !ok || v.Len()+64 >= readBufSize {
		return readBufSize
	}
	return max(v.Len()+64, 4096)
}
