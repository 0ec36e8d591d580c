package vmount

import (
	"errors"
	"fmt"
	"io"
	"sync"
)

const (
	// chunkSize is the unit seqReaderAt reads and caches: go-diskfs walks
	// a file's cluster or extent list on every Read call, so few large
	// calls are much cheaper than many small ones.
	chunkSize = 1 << 20
	// maxChunks bounds the chunks one open file caches: the kernel's
	// readahead (1 MiB) issues its reads in parallel, out of order.
	maxChunks = 4
	// maxReaders bounds the sequential readers one open file keeps.
	maxReaders = 2
)

// seqReaderAt turns sequential readers of one file (opened by open, from
// the start) into an io.ReaderAt. It reads whole chunks of chunkSize bytes
// and keeps the last maxChunks of them, so reads that arrive out of order
// within the readahead window are served from memory; a chunk that is not
// cached comes from the reader furthest before it (the chunks passed over
// are cached too), and only a chunk behind every reader opens a new one. A
// reader that can seek (io.Seeker) or read at offsets (io.ReaderAt) reads
// the chunk directly. Every call into the readers runs with fsLock held,
// because the file system below is not safe for concurrent use; calls on
// one seqReaderAt are serialised by its own mutex.
type seqReaderAt struct {
	open   func() (io.ReadCloser, error)
	size   int64
	fsLock sync.Locker

	mu      sync.Mutex
	readers []*posReader
	chunks  []*chunk // most recently used last
	closed  bool
}

type posReader struct {
	r   io.ReadCloser
	pos int64 // a multiple of chunkSize
}

type chunk struct {
	idx  int64
	data []byte
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
	want := int(min(int64(len(p)), s.size-off))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, errClosed
	}
	for n < want {
		pos := off + int64(n)
		c, err := s.chunk(pos / chunkSize)
		if err != nil {
			return n, err
		}
		n += copy(p[n:want], c.data[pos-c.idx*chunkSize:])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// chunk returns chunk idx, from the cache or read.
func (s *seqReaderAt) chunk(idx int64) (*chunk, error) {
	for i, c := range s.chunks {
		if c.idx == idx {
			s.chunks = append(append(s.chunks[:i:i], s.chunks[i+1:]...), c)
			return c, nil
		}
	}
	s.fsLock.Lock()
	defer s.fsLock.Unlock()
	start := idx * chunkSize
	var best *posReader
	for _, r := range s.readers {
		if r.pos <= start && (best == nil || r.pos > best.pos) {
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
			s.drop(s.readers[0])
		}
		s.readers = append(s.readers, best)
	}
	switch r := best.r.(type) {
	case io.ReaderAt:
		return s.fill(idx, func(b []byte) (int, error) { return r.ReadAt(b, start) })
	case io.Seeker:
		if _, err := r.Seek(start, io.SeekStart); err != nil {
			s.drop(best)
			return nil, err
		}
		best.pos = start
	}
	for {
		c, err := s.fill(best.pos/chunkSize, func(b []byte) (int, error) { return readFull(best.r, b) })
		if err != nil {
			s.drop(best)
			return nil, err
		}
		best.pos += chunkSize
		if c.idx == idx {
			return c, nil
		}
	}
}

// fill caches chunk idx, read by read, evicting the least recently used.
func (s *seqReaderAt) fill(idx int64, read func([]byte) (int, error)) (*chunk, error) {
	size := min(chunkSize, s.size-idx*chunkSize)
	var c *chunk
	if len(s.chunks) >= maxChunks {
		c = s.chunks[0]
		s.chunks = s.chunks[1:]
		if int64(cap(c.data)) < size {
			c.data = nil
		}
	}
	if c == nil {
		c = &chunk{}
	}
	if c.data == nil {
		c.data = make([]byte, size)
	}
	c.idx, c.data = idx, c.data[:size]
	n, err := read(c.data)
	if int64(n) < size {
		if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = io.ErrUnexpectedEOF // the file is shorter than its size says
		}
		return nil, err
	}
	for i, o := range s.chunks { // a reader may pass over a cached chunk
		if o.idx == idx {
			s.chunks = append(s.chunks[:i:i], s.chunks[i+1:]...)
			break
		}
	}
	s.chunks = append(s.chunks, c)
	return c, nil
}

// readFull is io.ReadFull for readers that may return 0, nil for ever
// (go-diskfs does past the last extent of a sparse ext4 file): after
// maxEmptyReads such reads in a row it fails with io.ErrNoProgress.
func readFull(r io.Reader, b []byte) (n int, err error) {
	const maxEmptyReads = 16
	empty := 0
	for n < len(b) && err == nil {
		var m int
		m, err = r.Read(b[n:])
		n += m
		if m > 0 {
			empty = 0
		} else if empty++; err == nil && empty >= maxEmptyReads {
			err = io.ErrNoProgress
		}
	}
	if n == len(b) {
		err = nil
	}
	return n, err
}

func (s *seqReaderAt) drop(pr *posReader) {
	for i, r := range s.readers {
		if r == pr {
			s.readers = append(s.readers[:i:i], s.readers[i+1:]...)
			break
		}
	}
	pr.r.Close()
}

// Close closes every reader and frees the cache; later reads fail.
func (s *seqReaderAt) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fsLock.Lock()
	defer s.fsLock.Unlock()
	var errs []error
	for _, r := range s.readers {
		errs = append(errs, r.r.Close())
	}
	s.readers, s.chunks, s.closed = nil, nil, true
	return errors.Join(errs...)
}
