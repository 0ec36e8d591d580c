package vcb

import (
	"errors"
	"io"
)

// pipeChunk is the unit of the read-ahead pipeline.
const (
	pipeChunk = 1 << 20
	pipeDepth = 4
)

type chunk struct {
	buf []byte
	n   int
	err error
}

// copyPipelined copies src to dst with a read-ahead goroutine, so that
// network reads (and TLS decryption) overlap with hashing, compression
// and writing. Write errors come back as *writeError; on one, abort is
// called (closing the source) and the reader is waited for. Memory is
// bounded by pipeDepth+1 chunks whatever the size of the stream.
func copyPipelined(dst io.Writer, src io.Reader, abort func()) (int64, error) {
	free := make(chan []byte, pipeDepth+1)
	for range pipeDepth + 1 {
		free <- make([]byte, pipeChunk)
	}
	full := make(chan chunk, pipeDepth)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(full)
		for {
			var buf []byte
			select {
			case buf = <-free:
			case <-stop:
				return
			}
			n, err := io.ReadFull(src, buf)
			if errors.Is(err, io.ErrUnexpectedEOF) {
				err = io.EOF
			}
			select {
			case full <- chunk{buf, n, err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	var written int64
	fail := func(err error) (int64, error) {
		close(stop)
		if abort != nil {
			abort()
		}
		<-done
		return written, err
	}
	for c := range full {
		if c.n > 0 {
			nw, werr := dst.Write(c.buf[:c.n])
			written += int64(nw)
			if werr != nil {
				var we *writeError
				if !errors.As(werr, &we) {
					werr = &writeError{werr}
				}
				return fail(werr)
			}
			if nw != c.n {
				return fail(&writeError{io.ErrShortWrite})
			}
		}
		if c.err == io.EOF {
			<-done
			return written, nil
		}
		if c.err != nil {
			<-done
			return written, c.err
		}
		free <- c.buf
	}
	<-done
	return written, nil
}
