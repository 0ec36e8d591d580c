package chunkstore

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func randBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestStoreDedupAndCorruption(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := randBytes(1, 10000)
	sum, added, err := s.Put(data)
	if err != nil || !added {
		t.Fatalf("first put: %v added=%v", err, added)
	}
	if _, added, _ := s.Put(data); added {
		t.Fatal("identical chunk stored twice")
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(sum, nil)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("get: %v", err)
	}
	if _, err := s.Get(SumOf([]byte("x")), nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing chunk: %v", err)
	}
	// flip a byte on disk
	data[5] ^= 1
	if err := os.WriteFile(s.path(sum), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(sum, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("corrupt chunk: %v", err)
	}
	if left := tmpFiles(t, s.dir); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

func TestChunkerRecipeRoundTrip(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const cs = 64 << 10
	disk := randBytes(2, 5*cs+123)
	copy(disk[2*cs:3*cs], disk[0:cs]) // a duplicate chunk
	c := NewChunker(s, cs)
	// odd write sizes
	for p := disk; len(p) > 0; {
		k := min(len(p), 7777)
		if _, err := c.Write(p[:k]); err != nil {
			t.Fatal(err)
		}
		p = p[k:]
	}
	r, err := c.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Chunks) != 6 || c.New != 5 || c.Reused != 1 || r.Size != int64(len(disk)) {
		t.Fatalf("chunks %d new %d reused %d size %d", len(r.Chunks), c.New, c.Reused, r.Size)
	}
	r.ChangeID = "52 aa bb/7"
	txt, err := r.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	r2, err := ParseRecipe(bytes.NewReader(txt))
	if err != nil {
		t.Fatal(err)
	}
	if r2.ChangeID != r.ChangeID || r2.Size != r.Size || len(r2.Chunks) != len(r.Chunks) {
		t.Fatalf("parsed %+v", r2)
	}
	var out bytes.Buffer
	sum, err := r2.WriteDisk(s, &out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), disk) || sum != sha256.Sum256(disk) {
		t.Fatal("rebuilt disk differs")
	}
}

func TestParseRecipeErrors(t *testing.T) {
	sum := SumOf(nil).String()
	for _, in := range []string{
		"",
		"vcb-recipe 2\n",
		"vcb-recipe 1\nsize 10\nchunk-size 4096\nend\n",                           // missing chunk
		"vcb-recipe 1\nsize 10\nchunk-size 4096\n" + sum + "\n" + sum + "\nend\n", // too many
		"vcb-recipe 1\nsize 10\nchunk-size 100\n" + sum + "\nend\n",               // chunk size too small
		"vcb-recipe 1\nsize -1\nchunk-size 4096\nend\n",
		"vcb-recipe 1\nsize 010\nchunk-size 4096\n" + sum + "\nend\n",
		"vcb-recipe 1\nsize 10\nchunk-size 4096\n" + sum + "\n",            // no end
		"vcb-recipe 1\nsize 10\nchunk-size 4096\n" + sum + "\nend\nx\n",    // trailing
		"vcb-recipe 1\nsize 10\nchunk-size 4096\nzz" + sum[2:] + "\nend\n", // bad hex
		"vcb-recipe 1\nsize 999999999999999999\nchunk-size 4096\nend\n",    // too big
	} {
		if _, err := ParseRecipe(bytes.NewReader([]byte(in))); !errors.Is(err, ErrFormat) {
			t.Errorf("%q: err %v, want ErrFormat", in, err)
		}
	}
}

func TestPrune(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a, _, _ := s.Put(randBytes(3, 5000))
	b, _, _ := s.Put(randBytes(4, 5000))
	c, _, _ := s.Put(randBytes(5, 5000))
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * PruneGrace)
	for _, x := range []Sum{a, b} {
		if err := os.Chtimes(s.path(x), old, old); err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.Prune([]*Recipe{{Size: 5000, ChunkSize: 8192, Chunks: []Sum{a}}})
	if err != nil {
		t.Fatal(err)
	}
	// a is live, c is too young, b goes.
	if st.Removed != 1 || st.Kept != 2 || s.Has(b) || !s.Has(a) || !s.Has(c) {
		t.Fatalf("prune %+v", st)
	}
}

// tmpFiles lists the regular files under the store's tmp directory.
func tmpFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(filepath.Join(dir, "tmp"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Open removes temporary chunk files older than a day that a crashed
// writer left, in tmp/ and in its shard directories, and keeps fresh ones
// (another process may be writing them).
func TestOpenRemovesStaleTemp(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * staleTemp)
	files := map[string]bool{ // path -> must survive
		"tmp/0123456789abcdef.111":    false,
		"tmp/ab/abcdef0123456789.222": false,
		"tmp/ab/abcdef0123456789.333": true,
	}
	for name, fresh := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
		if !fresh {
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	for name, fresh := range files {
		_, err := os.Stat(filepath.Join(dir, name))
		if fresh != (err == nil) {
			t.Errorf("%s: fresh=%v, stat err %v", name, fresh, err)
		}
	}
}

func TestMissing(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var sums []Sum
	for i := range 40 {
		sum, _, err := s.Put(randBytes(uint64(i), 1000))
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, sum)
	}
	// Pending chunks count as there, before and after Sync.
	if _, missing, err := s.Missing(sums); missing || err != nil {
		t.Fatalf("pending: missing=%v err=%v", missing, err)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if _, missing, err := s.Missing(sums); missing || err != nil {
		t.Fatalf("stored: missing=%v err=%v", missing, err)
	}
	if _, missing, err := s.Missing(nil); missing || err != nil {
		t.Fatalf("none: missing=%v err=%v", missing, err)
	}
	// A removed chunk, and one whose shard directory does not exist.
	if err := os.Remove(s.path(sums[17])); err != nil {
		t.Fatal(err)
	}
	if got, missing, err := s.Missing(sums); !missing || err != nil || got != sums[17] {
		t.Fatalf("removed: %v missing=%v err=%v", got, missing, err)
	}
	var absent Sum
	for i := 0; ; i++ {
		absent = SumOf([]byte{byte(i), byte(i >> 8)})
		if _, err := os.Stat(filepath.Dir(s.path(absent))); err != nil {
			break
		}
	}
	if got, missing, err := s.Missing(append(sums[:3:3], absent)); !missing || err != nil || got != absent {
		t.Fatalf("no shard: %v missing=%v err=%v", got, missing, err)
	}
	// Missing agrees with Has on every chunk.
	for _, sum := range append(sums, absent) {
		_, missing, _ := s.Missing([]Sum{sum})
		if missing == s.Has(sum) {
			t.Errorf("%s: Missing %v, Has %v", sum, missing, s.Has(sum))
		}
	}
}
