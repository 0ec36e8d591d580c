package vcb

import (
	"container/list"
	"context"
	"fmt"
	"io"
	"net/url"
	"sync"
)

// rangeReaderAt is an io.ReaderAt over a file served by HTTP (a datastore
// file), reading aligned blocks with range requests and keeping the most
// recent ones: file system readers make many small reads near each other.
type rangeReaderAt struct {
	ctx   context.Context
	c     *Client
	u     *url.URL
	size  int64
	block int64

	mu      sync.Mutex
	cache   map[int64]*list.Element
	lru     *list.List
	max     int
	fetched int64 // bytes read from the server
}

type cachedBlock struct {
	idx  int64
	data []byte
}

func newRangeReaderAt(ctx context.Context, c *Client, u *url.URL, size int64) *rangeReaderAt {
	return &rangeReaderAt{ctx: ctx, c: c, u: u, size: size, block: 256 << 10, cache: map[int64]*list.Element{}, lru: list.New(), max: 64}
}

func (r *rangeReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("negative offset %d", off)
	}
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		if pos >= r.size {
			return n, io.EOF
		}
		data, err := r.blockAt(pos / r.block)
		if err != nil {
			return n, err
		}
		n += copy(p[n:], data[pos%r.block:])
	}
	return n, nil
}

func (r *rangeReaderAt) blockAt(idx int64) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.cache[idx]; ok {
		r.lru.MoveToFront(e)
		return e.Value.(*cachedBlock).data, nil
	}
	start := idx * r.block
	data := make([]byte, min(r.block, r.size-start))
	if err := r.c.getRange(r.ctx, r.u, start, data); err != nil {
		return nil, err
	}
	r.fetched += int64(len(data))
	r.cache[idx] = r.lru.PushFront(&cachedBlock{idx, data})
	if r.lru.Len() > r.max {
		old := r.lru.Remove(r.lru.Back()).(*cachedBlock)
		delete(r.cache, old.idx)
	}
	return data, nil
}
