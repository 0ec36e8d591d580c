package vcb

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// Mismatch is one file of a backup that does not match its manifest.
type Mismatch struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// VerifyError lists the files of a backup that failed verification; it
// unwraps to ErrChecksum.
type VerifyError struct {
	Dir        string
	Mismatches []Mismatch
}

func (e *VerifyError) Error() string {
	var parts []string
	for _, m := range e.Mismatches {
		parts = append(parts, m.Name+": "+m.Reason)
	}
	return fmt.Sprintf("vcb: verify %s: %s: %s", e.Dir, ErrChecksum, strings.Join(parts, "; "))
}

// Unwrap makes errors.Is(err, ErrChecksum) true.
func (e *VerifyError) Unwrap() error { return ErrChecksum }

// Verify recomputes the size and SHA-256 of every file of the backup in
// dir against its manifest; compressed files are also decompressed and
// their content checked. It returns the manifest, and a *VerifyError
// listing every mismatch.
func Verify(dir string) (*Manifest, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	var bad []Mismatch
	for _, f := range m.Files {
		if reason := verifyFile(filepath.Join(dir, f.Name), f); reason != "" {
			bad = append(bad, Mismatch{Name: f.Name, Reason: reason})
		}
	}
	if len(bad) > 0 {
		return m, &VerifyError{Dir: dir, Mismatches: bad}
	}
	return m, nil
}

func verifyFile(p string, f File) string {
	fh, err := os.Open(p)
	if err != nil {
		return err.Error()
	}
	defer fh.Close()
	stored := sha256.New()
	var raw = sha256.New()
	var n, rawN int64
	if f.Compression == CompressionZstd {
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			dec, err := zstd.NewReader(pr, zstd.WithDecoderConcurrency(1))
			if err != nil {
				_ = pr.CloseWithError(err)
				done <- err
				return
			}
			defer dec.Close()
			rawN, err = io.Copy(raw, dec)
			_ = pr.CloseWithError(err)
			done <- err
		}()
		n, err = io.Copy(io.MultiWriter(stored, pw), fh)
		_ = pw.CloseWithError(err)
		derr := <-done
		if err != nil {
			return err.Error()
		}
		if derr != nil {
			return "decompressing: " + derr.Error()
		}
	} else {
		n, err = io.Copy(io.MultiWriter(stored, raw), fh)
		if err != nil {
			return err.Error()
		}
		rawN = n
	}
	if n != f.Size {
		return fmt.Sprintf("size %d, manifest says %d", n, f.Size)
	}
	if got := hex.EncodeToString(stored.Sum(nil)); got != f.SHA256 {
		return fmt.Sprintf("sha256 %s, manifest says %s", got, f.SHA256)
	}
	if rawN != f.RawSize {
		return fmt.Sprintf("content size %d, manifest says %d", rawN, f.RawSize)
	}
	if got := hex.EncodeToString(raw.Sum(nil)); got != f.RawSHA256 {
		return fmt.Sprintf("content sha256 %s, manifest says %s", got, f.RawSHA256)
	}
	if f.Kind == KindDisk && f.Format == FormatFlat && rawN != f.Capacity {
		return fmt.Sprintf("disk content %d bytes, capacity %d bytes", rawN, f.Capacity)
	}
	return ""
}

// OpenFile opens a file of the backup in dir and returns a reader of its
// content, decompressed when it was stored compressed: the way to read a
// backed-up disk for file-level restore or mounting.
func OpenFile(dir string, f File) (io.ReadCloser, error) {
	if f.Name != filepath.Base(f.Name) || f.Name == "" || f.Name == "." || f.Name == ".." {
		return nil, errf("open", "", ErrManifest, "invalid file name %q", f.Name)
	}
	return openContent(dir, f)
}

func openContent(dir string, f File) (io.ReadCloser, error) {
	fh, err := os.Open(filepath.Join(dir, f.Name))
	if err != nil {
		return nil, err
	}
	if f.Compression != CompressionZstd {
		return fh, nil
	}
	dec, err := zstd.NewReader(fh)
	if err != nil {
		_ = fh.Close()
		return nil, err
	}
	return &zstdReadCloser{dec: dec, f: fh}, nil
}

type zstdReadCloser struct {
	dec *zstd.Decoder
	f   *os.File
}

func (z *zstdReadCloser) Read(p []byte) (int, error) { return z.dec.Read(p) }
func (z *zstdReadCloser) Close() error {
	z.dec.Close()
	return z.f.Close()
}
