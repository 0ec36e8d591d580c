package vcb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/bulletproof-labs/wsvcb/vcb/chunkstore"
)

// VerifyChunked verifies a chunked backup: the checksums of its files
// (Verify), then every chunk its recipes refer to, which must exist in
// store and match its SHA-256. Mismatches come back in a *VerifyError.
func VerifyChunked(dir string, store *chunkstore.Store) (*Manifest, error) {
	m, err := Verify(dir)
	if err != nil {
		return m, err
	}
	var bad []Mismatch
	seen := map[chunkstore.Sum]bool{}
	buf := make([]byte, chunkstore.DefaultChunkSize)
	for _, f := range m.Files {
		if f.Kind != KindRecipe {
			continue
		}
		r, err := readRecipe(dir, f)
		if err != nil {
			bad = append(bad, Mismatch{Name: f.Name, Reason: err.Error()})
			continue
		}
		for i, s := range r.Chunks {
			if seen[s] {
				continue
			}
			seen[s] = true
			if err := store.Check(s, buf); err != nil {
				bad = append(bad, Mismatch{Name: f.Name, Reason: fmt.Sprintf("chunk %d: %v", i, err)})
			}
		}
	}
	if len(bad) > 0 {
		return m, &VerifyError{Dir: dir, Mismatches: bad}
	}
	return m, nil
}

// Materialize rebuilds the full backup directory dst (which must not
// exist) from the chunked backup in dir: each recipe becomes the disk
// file it describes, checked chunk by chunk, and the other files are
// copied; the new manifest lists the disks with their sizes and SHA-256.
// dst is then an ordinary backup for Restore, Verify or vmmount.
func Materialize(dir string, store *chunkstore.Store, dst string) (*Manifest, error) {
	m, err := Verify(dir)
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(dst); err == nil {
		return nil, errf("materialize", dst, ErrExists, "destination %s already exists", dst)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".partial-")
	if err != nil {
		return nil, newErr("materialize", dst, ErrWrite, err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = os.RemoveAll(tmp)
		}
	}()
	out := *m
	out.Files = nil
	for _, f := range m.Files {
		var nf File
		if f.Kind == KindRecipe {
			nf, err = materializeDisk(dir, tmp, f, store)
		} else {
			nf, err = copyBackupFile(dir, tmp, f)
		}
		if err != nil {
			return nil, err
		}
		out.Files = append(out.Files, nf)
	}
	js, err := json.MarshalIndent(&out, "", "  ")
	if err != nil {
		return nil, newErr("materialize", dst, ErrManifest, err)
	}
	if err := writeSynced(filepath.Join(tmp, ManifestFile), bytes.NewReader(append(js, '\n'))); err != nil {
		return nil, newErr("materialize", dst, ErrWrite, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return nil, newErr("materialize", dst, ErrWrite, err)
	}
	ok = true
	return &out, nil
}

func materializeDisk(dir, tmp string, f File, store *chunkstore.Store) (File, error) {
	r, err := readRecipe(dir, f)
	if err != nil {
		return File{}, newErr("materialize", f.Name, ErrManifest, err)
	}
	name := strings.TrimSuffix(f.Name, ".recipe")
	fh, err := os.Create(filepath.Join(tmp, name))
	if err != nil {
		return File{}, newErr("materialize", name, ErrWrite, err)
	}
	defer fh.Close()
	sum, err := r.WriteDisk(store, fh)
	if err == nil {
		err = fh.Sync()
	}
	if err != nil {
		kind := ErrWrite
		if errors.Is(err, chunkstore.ErrNotFound) || errors.Is(err, chunkstore.ErrCorrupt) {
			kind = ErrChecksum
		}
		return File{}, newErr("materialize", name, kind, err)
	}
	h := hex.EncodeToString(sum[:])
	return File{Name: name, Kind: KindDisk, Size: r.Size, SHA256: h, RawSize: r.Size, RawSHA256: h,
		Source: f.Source, Slot: f.Slot, DeviceKey: f.DeviceKey, Capacity: f.Capacity}, nil
}

func copyBackupFile(dir, tmp string, f File) (File, error) {
	rc, err := os.Open(filepath.Join(dir, f.Name))
	if err != nil {
		return f, newErr("materialize", f.Name, ErrIncomplete, err)
	}
	defer rc.Close()
	h := sha256.New()
	if err := writeSynced(filepath.Join(tmp, f.Name), io.TeeReader(rc, h)); err != nil {
		return f, newErr("materialize", f.Name, ErrWrite, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
		return f, errf("materialize", f.Name, ErrChecksum, "%s changed while copying: sha256 %s, manifest says %s", f.Name, got, f.SHA256)
	}
	return f, nil
}

func writeSynced(p string, r io.Reader) error {
	fh, err := os.Create(p)
	if err != nil {
		return err
	}
	_, err = io.Copy(fh, r)
	if err == nil {
		err = fh.Sync()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	return err
}

// RestoreChunked restores a chunked backup (any backup of a chain: each
// is complete): it materializes the full disks from the chunk store into
// a temporary directory next to dir, restores that with Restore (same
// options, uploads and read-back checks), and removes it.
func (c *Client) RestoreChunked(ctx context.Context, dir string, store *chunkstore.Store, opts *RestoreOptions) (*RestoreResult, error) {
	scratch, err := os.MkdirTemp(filepath.Dir(filepath.Clean(dir)), ".restore-")
	if err != nil {
		return nil, newErr("restore", dir, ErrWrite, err)
	}
	defer os.RemoveAll(scratch)
	full := filepath.Join(scratch, filepath.Base(filepath.Clean(dir)))
	if _, err := Materialize(dir, store, full); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, newErr("restore", dir, ErrRestore, err)
	}
	return c.Restore(ctx, full, opts)
}
