package chunkstore

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Limits of the recipe format.
const (
	MinChunkSize     = 4 << 10
	MaxChunkSize     = 64 << 20
	DefaultChunkSize = 256 << 10
	// MaxDiskSize is the largest disk a recipe may describe (64 TiB, the
	// vSphere limit for a virtual disk).
	MaxDiskSize = 64 << 40
	// MaxChangeIDLen bounds the change ID string.
	MaxChangeIDLen = 256
)

// RecipeMagic is the first line of a recipe file.
const RecipeMagic = "vcb-recipe 1"

// Recipe describes one disk as its chunks in order: chunk i covers bytes
// [i*ChunkSize, min((i+1)*ChunkSize, Size)).
//
// Its text form is
//
//	vcb-recipe 1
//	size <bytes>
//	chunk-size <bytes>
//	change-id <id>        (optional, the disk's CBT change ID)
//	<sha256 hex>          (one line per chunk)
//	end
type Recipe struct {
	Size      int64
	ChunkSize int64
	ChangeID  string
	Chunks    []Sum
}

// NumChunks returns how many chunks a disk of size bytes has.
func NumChunks(size, chunkSize int64) int64 {
	if chunkSize <= 0 {
		return 0
	}
	return (size + chunkSize - 1) / chunkSize
}

// ChunkLen returns the length of chunk i.
func (r *Recipe) ChunkLen(i int) int64 {
	start := int64(i) * r.ChunkSize
	return min(r.ChunkSize, r.Size-start)
}

// Validate checks the header fields and the chunk count.
func (r *Recipe) Validate() error {
	if r.ChunkSize < MinChunkSize || r.ChunkSize > MaxChunkSize {
		return fmt.Errorf("%w: chunk size %d outside [%d, %d]", ErrFormat, r.ChunkSize, MinChunkSize, MaxChunkSize)
	}
	if r.Size < 0 || r.Size > MaxDiskSize {
		return fmt.Errorf("%w: disk size %d outside [0, %d]", ErrFormat, r.Size, int64(MaxDiskSize))
	}
	if len(r.ChangeID) > MaxChangeIDLen || strings.ContainsAny(r.ChangeID, "\r\n") {
		return fmt.Errorf("%w: bad change id", ErrFormat)
	}
	if want := NumChunks(r.Size, r.ChunkSize); int64(len(r.Chunks)) != want {
		return fmt.Errorf("%w: %d chunks for %d bytes in chunks of %d, want %d", ErrFormat, len(r.Chunks), r.Size, r.ChunkSize, want)
	}
	return nil
}

// MarshalText encodes the recipe.
func (r *Recipe) MarshalText() ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Grow(64 + 65*len(r.Chunks))
	fmt.Fprintf(&b, "%s\nsize %d\nchunk-size %d\n", RecipeMagic, r.Size, r.ChunkSize)
	if r.ChangeID != "" {
		fmt.Fprintf(&b, "change-id %s\n", r.ChangeID)
	}
	for _, s := range r.Chunks {
		b.WriteString(s.String())
		b.WriteByte('\n')
	}
	b.WriteString("end\n")
	return b.Bytes(), nil
}

// FormatError is a malformed recipe; it unwraps to ErrFormat.
type FormatError struct {
	Line int
	Msg  string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("chunkstore: %s: line %d: %s", ErrFormat, e.Line, e.Msg)
}

// Unwrap returns ErrFormat.
func (e *FormatError) Unwrap() error { return ErrFormat }

// ParseRecipe reads a recipe. It never panics and never allocates more
// than the input's size justifies: chunk lines are counted against the
// size declared in the header as they arrive.
func ParseRecipe(rd io.Reader) (*Recipe, error) {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 0, 512), 4096)
	line := 0
	next := func() (string, bool) {
		if !sc.Scan() {
			return "", false
		}
		line++
		return sc.Text(), true
	}
	bad := func(format string, args ...any) error {
		return &FormatError{Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	s, ok := next()
	if !ok || s != RecipeMagic {
		if err := sc.Err(); err != nil {
			return nil, bad("%v", err)
		}
		return nil, bad("not a recipe (want %q)", RecipeMagic)
	}
	r := &Recipe{}
	num := func(key string) (int64, error) {
		s, ok := next()
		if !ok {
			return 0, bad("missing %s", key)
		}
		v, found := strings.CutPrefix(s, key+" ")
		if !found {
			return 0, bad("want %q, got %q", key, s)
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || strconv.FormatInt(n, 10) != v {
			return 0, bad("bad %s %q", key, v)
		}
		return n, nil
	}
	var err error
	if r.Size, err = num("size"); err != nil {
		return nil, err
	}
	if r.ChunkSize, err = num("chunk-size"); err != nil {
		return nil, err
	}
	if r.ChunkSize < MinChunkSize || r.ChunkSize > MaxChunkSize || r.Size > MaxDiskSize {
		return nil, bad("chunk size %d or disk size %d out of range", r.ChunkSize, r.Size)
	}
	want := NumChunks(r.Size, r.ChunkSize)
	for {
		s, ok := next()
		if !ok {
			if err := sc.Err(); err != nil {
				return nil, bad("%v", err)
			}
			return nil, bad("missing end line")
		}
		if s == "end" {
			break
		}
		if v, found := strings.CutPrefix(s, "change-id "); found {
			if len(r.Chunks) > 0 || r.ChangeID != "" || v == "" || len(v) > MaxChangeIDLen {
				return nil, bad("misplaced or bad change-id line")
			}
			r.ChangeID = v
			continue
		}
		sum, err := ParseSum(s)
		if err != nil {
			return nil, bad("%v", err)
		}
		if int64(len(r.Chunks)) >= want {
			return nil, bad("more than %d chunks", want)
		}
		r.Chunks = append(r.Chunks, sum)
	}
	if next, ok := next(); ok {
		return nil, bad("data after end: %q", next)
	}
	if err := r.Validate(); err != nil {
		return nil, &FormatError{Line: line, Msg: err.Error()}
	}
	return r, nil
}

// WriteDisk writes the disk the recipe describes to w, reading and
// verifying every chunk, and returns the SHA-256 of the whole disk.
func (r *Recipe) WriteDisk(s *Store, w io.Writer) (Sum, error) {
	var total Sum
	if err := r.Validate(); err != nil {
		return total, err
	}
	h := sha256.New()
	mw := io.MultiWriter(w, h)
	buf := make([]byte, r.ChunkSize)
	for i, sum := range r.Chunks {
		data, err := s.Get(sum, buf)
		if err != nil {
			return total, fmt.Errorf("chunk %d: %w", i, err)
		}
		if int64(len(data)) != r.ChunkLen(i) {
			return total, fmt.Errorf("chunkstore: chunk %d (%s): %w: %d bytes, want %d", i, sum, ErrCorrupt, len(data), r.ChunkLen(i))
		}
		if _, err := mw.Write(data); err != nil {
			return total, err
		}
	}
	copy(total[:], h.Sum(nil))
	return total, nil
}

// Chunker cuts a stream into chunks of a fixed size, stores each and
// records its sum: an io.Writer producing a Recipe.
type Chunker struct {
	Store *Store
	r     Recipe
	buf   []byte
	// New and Reused count chunks stored and chunks already present.
	New, Reused int
}

// NewChunker starts a recipe of chunkSize-byte chunks.
func NewChunker(s *Store, chunkSize int64) *Chunker {
	return &Chunker{Store: s, r: Recipe{ChunkSize: chunkSize}, buf: make([]byte, 0, chunkSize)}
}

// Write cuts p into chunks.
func (c *Chunker) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := min(len(p), cap(c.buf)-len(c.buf))
		c.buf = append(c.buf, p[:k]...)
		p, n = p[k:], n+k
		if len(c.buf) == cap(c.buf) {
			if err := c.flush(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func (c *Chunker) flush() error {
	if len(c.buf) == 0 {
		return nil
	}
	sum, added, err := c.Store.Put(c.buf)
	if err != nil {
		return err
	}
	if added {
		c.New++
	} else {
		c.Reused++
	}
	c.r.Chunks = append(c.r.Chunks, sum)
	c.r.Size += int64(len(c.buf))
	c.buf = c.buf[:0]
	return nil
}

// Close stores the last, short chunk and returns the recipe.
func (c *Chunker) Close() (*Recipe, error) {
	if err := c.flush(); err != nil {
		return nil, err
	}
	r := c.r
	return &r, r.Validate()
}
