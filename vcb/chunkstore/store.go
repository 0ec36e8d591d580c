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
	"time"

	"golang.org/x/sys/unix"
)

// Errors returned (wrapped) by the store and the recipe parser.
var (
	ErrNotFound = errors.New("chunk not found")
	ErrCorrupt  = errors.New("chunk corrupt")
	ErrFormat   = errors.New("malformed recipe")
)

// staleTemp is the age after which Open removes temporary chunk files
// left by a crashed writer.
const staleTemp = 24 * time.Hour

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

	mu sync.Mutex
	// pending maps chunks written but not yet durable to their
	// temporary files; Sync makes them durable and renames them in.
	pending map[Sum]string
	// tmpDirs caches the temporary shard directories known to exist.
	tmpDirs sync.Map
}

// Open opens (creating when needed) the store in dir.
func Open(dir string) (*Store, error) {
	for _, d := range []string{dir, filepath.Join(dir, "chunks"), filepath.Join(dir, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("chunkstore: %w", err)
		}
	}
	// Temporary files of processes that died before Sync, in tmp/ and
	// its shard directories.
	removeStale(filepath.Join(dir, "tmp"), true)
	return &Store{dir: dir, pending: map[Sum]string{}}, nil
}

// removeStale removes the temporary files in dir older than staleTemp,
// and, with shards, those of its subdirectories.
func removeStale(dir string, shards bool) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if e.IsDir() {
			if shards {
				removeStale(p, false)
			}
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > staleTemp {
			_ = os.Remove(p)
		}
	}
}

// tmpDir returns the directory new chunks are written to before Sync:
// one per leading byte of the sum, because creating files in one
// directory serialises on its lock (on ext4 several parallel writers into
// one directory were 2-3 times slower than into separate ones).
func (s *Store) tmpDir(sum Sum) (string, error) {
	d := filepath.Join(s.dir, "tmp", sum.String()[:2])
	if _, ok := s.tmpDirs.Load(d); ok {
		return d, nil
	}
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", err
	}
	s.tmpDirs.Store(d, true)
	return d, nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) path(sum Sum) string {
	h := sum.String()
	return filepath.Join(s.dir, "chunks", h[:2], h)
}

// Has reports whether the chunk is stored or pending (without checking
// its content).
func (s *Store) Has(sum Sum) bool {
	s.mu.Lock()
	_, ok := s.pending[sum]
	s.mu.Unlock()
	if ok {
		return true
	}
	_, err := os.Stat(s.path(sum))
	return err == nil
}

// Put stores data under its SHA-256 unless a chunk of that sum exists. It
// returns the sum and whether the chunk was new. The chunk is readable at
// once but becomes durable, and visible to other processes, only with
// Sync: a chunk file under its final name is always complete, even after
// a crash.
func (s *Store) Put(data []byte) (Sum, bool, error) {
	sum := SumOf(data)
	added, err := s.put(sum, data)
	return sum, added, err
}

func (s *Store) put(sum Sum, data []byte) (bool, error) {
	if s.Has(sum) {
		return false, nil
	}
	dir, err := s.tmpDir(sum)
	if err != nil {
		return false, fmt.Errorf("chunkstore: %w", err)
	}
	f, err := os.CreateTemp(dir, sum.String()[:16]+".*")
	if err != nil {
		return false, fmt.Errorf("chunkstore: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return false, fmt.Errorf("chunkstore: storing %s: %w", sum, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.pending[sum]; dup {
		_ = os.Remove(tmp)
		return false, nil
	}
	s.pending[sum] = tmp
	return true, nil
}

// Sync makes the chunks stored so far durable and renames them into
// place: one syncfs(2) for all their data, the renames, and another
// syncfs for the directory entries (far cheaper than an fsync per chunk).
// Call it before writing a recipe that refers to them.
func (s *Store) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) == 0 {
		return nil
	}
	if err := syncFS(s.dir); err != nil {
		return fmt.Errorf("chunkstore: sync: %w", err)
	}
	for sum, tmp := range s.pending {
		final := s.path(sum)
		if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
			return fmt.Errorf("chunkstore: %w", err)
		}
		if err := os.Rename(tmp, final); err != nil {
			return fmt.Errorf("chunkstore: %w", err)
		}
		delete(s.pending, sum)
	}
	if err := syncFS(s.dir); err != nil {
		return fmt.Errorf("chunkstore: sync: %w", err)
	}
	return nil
}

func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}

// Get reads the chunk into buf (grown when too small) and checks its
// SHA-256. It returns ErrNotFound or ErrCorrupt (wrapped).
func (s *Store) Get(sum Sum, buf []byte) ([]byte, error) {
	p := s.path(sum)
	s.mu.Lock()
	if tmp, ok := s.pending[sum]; ok {
		p = tmp
	}
	s.mu.Unlock()
	f, err := os.Open(p)
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

// Missing returns the first of sums that is neither stored nor pending
// (ok false when all are there), without checking contents. It looks
// each chunk up relative to its shard directory, opened once, instead of
// resolving the whole path per chunk: an incremental backup checks every
// chunk of its parent.
func (s *Store) Missing(sums []Sum) (missing Sum, ok bool, err error) {
	dirs := map[byte]int{}
	defer func() {
		for _, fd := range dirs {
			if fd >= 0 {
				_ = unix.Close(fd)
			}
		}
	}()
	for _, sum := range sums {
		s.mu.Lock()
		_, pending := s.pending[sum]
		s.mu.Unlock()
		if pending {
			continue
		}
		fd, seen := dirs[sum[0]]
		if !seen {
			h := sum.String()
			fd, err = unix.Open(filepath.Join(s.dir, "chunks", h[:2]), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			switch {
			case errors.Is(err, unix.ENOENT):
				fd = -1
			case err != nil:
				return sum, true, fmt.Errorf("chunkstore: %w", err)
			}
			dirs[sum[0]] = fd
		}
		if fd < 0 {
			return sum, true, nil
		}
		var st unix.Stat_t
		err := unix.Fstatat(fd, sum.String(), &st, unix.AT_SYMLINK_NOFOLLOW)
		switch {
		case errors.Is(err, unix.ENOENT):
			return sum, true, nil
		case err != nil:
			return sum, true, fmt.Errorf("chunkstore: %s: %w", sum, err)
		}
	}
	return Sum{}, false, nil
}
