package vmdk

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
)

// copyChunk is the unit of work of CopyAllocated.
const copyChunk = 1 << 20

// CopyAllocated writes every allocated range of the disk (see Allocated)
// to w at the same offsets, reading with workers goroutines in parallel
// (0: GOMAXPROCS), so decompression of streamOptimized grains uses all
// cores. Unallocated ranges are not written: w should start zeroed (a
// new file truncated to Size keeps them as holes). It returns the bytes
// written.
func (d *Disk) CopyAllocated(ctx context.Context, w io.WriterAt, workers int) (int64, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type job struct{ off, n int64 }
	jobs := make(chan job, workers)
	var (
		mu      sync.Mutex
		total   int64
		firstEr error
		wg      sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if firstEr == nil {
			firstEr = err
		}
		mu.Unlock()
		cancel()
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, copyChunk)
			for j := range jobs {
				if ctx.Err() != nil {
					continue
				}
				b := buf[:j.n]
				if _, err := d.ReadAt(b, j.off); err != nil && err != io.EOF {
					fail(fmt.Errorf("vmdk: read at %d: %w", j.off, err))
					continue
				}
				if _, err := w.WriteAt(b, j.off); err != nil {
					fail(err)
					continue
				}
				mu.Lock()
				total += j.n
				mu.Unlock()
			}
		}()
	}
	err := d.Allocated(func(off, n int64) error {
		for end := off + n; off < end; off += copyChunk {
			select {
			case jobs <- job{off, min(copyChunk, end-off)}:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	close(jobs)
	wg.Wait()
	if firstEr != nil {
		return total, firstEr
	}
	return total, err
}
