package vmdk

import (
	"context"
	"fmt"
	"io"
)

// Verify reads every allocated range of the disk (and its parents),
// decompressing every grain, and returns the first error with the offset
// where it happened. progress, if not nil, is called with the bytes
// verified so far. It returns the number of allocated bytes.
func (d *Disk) Verify(ctx context.Context, progress func(done int64)) (int64, error) {
	buf := make([]byte, 1<<20)
	var done int64
	err := d.Allocated(func(off, n int64) error {
		for end := off + n; off < end; {
			if err := ctx.Err(); err != nil {
				return err
			}
			m := min(int64(len(buf)), end-off)
			if _, err := d.ReadAt(buf[:m], off); err != nil && err != io.EOF {
				return fmt.Errorf("vmdk: verify at offset %d: %w", off, err)
			}
			off += m
			done += m
			if progress != nil {
				progress(done)
			}
		}
		return nil
	})
	return done, err
}
