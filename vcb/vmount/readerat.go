package vmount

import (
	"errors"
	"fmt"
	"io"
	"sync"
)

// maxReaders bounds the sequential readers one open file keeps: the
// kernel's readahead issues a few reads in parallel, out of order.
const maxReaders = 4

// seqReaderAt turns sequential readers of one file (opened by open, from
// the start) into an io.ReaderAt. It keeps up to maxReaders readers at
// different positions and serves a read at off from the one furthest
// before off, skipping forward; only a read behind every reader opens a
// new one. A reader that can seek (io.Seeker) or read at offsets
// (io.ReaderAt) is used directly. Every call into the readers runs with
// fsLock held, because the file system below is not safe for concurrent
// use; calls on one seqReaderAt are serialised by its own mutex.
type seqReaderAt struct {
	open   func() (io.ReadCloser, error)
	size   int64
	fsLock sync.Locker

	mu      sync.Mutex
	readers []*posReader
	tick    uint64
	closed  bool
}

type posReader struct {
	r    io.ReadCloser
	pos  int64
	used uint64
}

var errClosed = errors.New("vmount: file closed")

func newSeqReaderAt(open func() (io.ReadCloser, error), size int64, fsLock sync.Locker) *seqReaderAt {
	return &seqReaderAt{open: open, size: size, fsLock: fsLock}
}

// ReadAt reads len(p) bytes at off; at the end of the file it returns the
// bytes there are and io.EOF.
func (s *seqReaderAt) ReadAt(p []byte, off int64) (n int, err error) {
	if off < 0 {
		return 0, fmt.Errorf("vmount: negative offset %d", off)
	}
	if off >= s.size {
		return 0, io.EOF
	}
	want := p[:min(int64(len(p)), s.size-off)]
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, errClosed
	}
	s.fsLock.Lock()
	defer s.fsLock.Unlock()
	pr, err := s.reader(off)
	if err != nil {
		return 0, err
	}
	if ra, ok := pr.r.(io.ReaderAt); ok {
		n, err = ra.ReadAt(want, off)
	} else {
		n, err = io.ReadFull(pr.r, want)
		pr.pos = off + int64(n)
	}
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		s.drop(pr)
		return n, err
	}
	if n < len(want) { // the file is shorter than its size says
		s.drop(pr)
		return n, io.ErrUnexpectedEOF
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// reader returns a reader positioned at off.
func (s *seqReaderAt) reader(off int64) (*posReader, error) {
	s.tick++
	var best *posReader
	for _, r := range s.readers {
		if _, ok := r.r.(io.ReaderAt); ok {
			best = r
			break
		}
		if _, ok := r.r.(io.Seeker); ok {
			best = r
			break
		}
		if r.pos <= off && (best == nil || r.pos > best.pos) {
			best = r
		}
	}
	if best == nil {
		r, err := s.open()
		if err != nil {
			return nil, err
		}
		best = &posReader{r: r}
		if len(s.readers) >= maxReaders {
			lru := s.readers[0]
			for _, r := range s.readers {
				if r.used < lru.used {
					lru = r
				}
			}
			s.drop(lru)
		}
		s.readers = append(s.readers, best)
	}
	best.used = s.tick
	switch r := best.r.(type) {
	case io.ReaderAt:
		return best, nil
	case io.Seeker:
		if _, err := r.Seek(off, io.SeekStart); err != nil {
			s.drop(best)
			return nil, err
		}
		best.pos = off
		return best, nil
	}
	if skip := off - best.pos; skip > 0 {
		m, err := io.CopyN(io.Discard, best.r, skip)
		best.pos += m
		if err != nil {
			s.drop(best)
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return best, nil
}

func (s *seqReaderAt) drop(pr *posReader) {
	for i, r := range s.readers {
		if r == pr {
			s.readers = append(s.readers[:i], s.readers[i+1:]...)
			break
		}
	}
	pr.r.Close()
}

// Close closes every reader; later reads fail.
func (s *seqReaderAt) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fsLock.Lock()
	defer s.fsLock.Unlock()
	var errs []error
	for _, r := range s.readers {
		errs = append(errs, r.r.Close())
	}
	s.readers, s.closed = nil, true
	return errors.Join(errs...)
}
