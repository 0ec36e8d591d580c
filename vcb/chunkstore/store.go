package chunkstore

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// Errors returned (wrapped) by the store and the recipe parser.
var (
	ErrNotFound = errors.New("chunk not found")
	ErrCorrupt  = errors.New("chunk corrupt")
	ErrFormat   = errors.New("malformed recipe")
)

// Sum is the SHA-256 of a chunk's content.
type Sum [sha256.Size]byte

// String returns the sum in lower-case hex.
func (s Sum) String() string { return hex.EncodeToString(s[:]) }

// ParseSum parses 64 hex digits.
func ParseSum(s string) (Sum, error) {
	var v Sum
	if len(s) != 2*len(v) {
		return v, fmt.Errorf("%w: chunk sum %q is not 64 hex digits", ErrFormat, s)
	}
	if _, err := hex.Decode(v[:], []byte(s)); err != nil {
		return v, fmt.Errorf("%w: chunk sum %q: %v", ErrFormat, s, err)
	}
	return v, nil
}

// SumOf hashes data.
func SumOf(data []byte) Sum { return sha256.Sum256(data) }

// Store is a directory of chunks. It is safe for concurrent use by
// several goroutines and several processes (writes are atomic renames).
type Store struct {
	dir string

	mu    sync.Mutex
	dirty map[string]bool // chunk directories with renames not yet fsynced
}

// Open opens (creating when needed) the store in dir.
func Open(dir string) (*Store, error) {
	for _, d := range []string{dir, filepath.Join(dir, "chunks"), filepath.Join(dir, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("chunkstore: %w", err)
		}
	}
	return &Store{dir: dir, dirty: map[string]bool{}}, nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) path(sum Sum) string {
	h := sum.String()
	return filepath.Join(s.dir, "chunks", h[:2], h)
}

// Has reports whether the chunk is stored (without checking its content).
func (s *Store) Has(sum Sum) bool {
	_, err := os.Stat(s.path(sum))
	return err == nil
}

// Put stores data under its SHA-256 unless a chunk of that sum exists. It
// returns the sum and whether the chunk was new.
func (s *Store) Put(data []byte) (Sum, bool, error) {
	sum := SumOf(data)
	added, err := s.put(sum, data)
	return sum, added, err
}

func (s *Store) put(sum Sum, data []byte) (bool, error) {
	final := s.path(sum)
	if _, err := os.Stat(final); err == nil {
		return false, nil
	}
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("chunkstore: %w", err)
	}
	f, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), sum.String()[:16]+".*")
	if err != nil {
		return false, fmt.Errorf("chunkstore: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return false, fmt.Errorf("chunkstore: storing %s: %w", sum, err)
	}
	s.mu.Lock()
	s.dirty[dir] = true
	s.mu.Unlock()
	return true, nil
}

// Sync makes the renames of chunks stored so far durable (fsync of their
// directories). Call it before writing a recipe that refers to them.
func (s *Store) Sync() error {
	s.mu.Lock()
	dirs := s.dirty
	s.dirty = map[string]bool{}
	s.mu.Unlock()
	var errs []error
	for d := range dirs {
		if err := syncDir(d); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("chunkstore: sync: %w", errors.Join(errs...))
	}
	return nil
}

func syncDir(d string) error {
	f, err := os.Open(d)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Get reads the chunk into buf (grown when too small) and checks its
// SHA-256. It returns ErrNotFound or ErrCorrupt (wrapped).
func (s *Store) Get(sum Sum, buf []byte) ([]byte, error) {
	f, err := os.Open(s.path(sum))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("chunkstore: %s: %w", sum, ErrNotFound)
		}
		return nil, fmt.Errorf("chunkstore: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("chunkstore: %w", err)
	}
	if st.Size() > MaxChunkSize {
		return nil, fmt.Errorf("chunkstore: %s: %w: %d bytes", sum, ErrCorrupt, st.Size())
	}
	n := int(st.Size())
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(f, buf); err != nil {
		return nil, fmt.Errorf("chunkstore: %s: %w: %v", sum, ErrCorrupt, err)
	}
	if SumOf(buf) != sum {
		return nil, fmt.Errorf("chunkstore: %s: %w: content does not match its name", sum, ErrCorrupt)
	}
	return buf, nil
}

// Check verifies that the chunk exists and matches its sum.
func (s *Store) Check(sum Sum, buf []byte) error {
	_, err := s.Get(sum, buf)
	return err
}
