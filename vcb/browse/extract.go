package browse

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
)

// Extract copies the file or directory tree src of fsys to dest on the
// local file system and returns the number of regular files and bytes
// copied. A directory src is copied as dest (created if missing); special
// files and symbolic links are skipped. Names come from fs.WalkDir, which
// never yields "..", so nothing is written outside dest.
func Extract(fsys fs.FS, src, dest string) (files int, bytes int64, err error) {
	src = clean(src)
	st, err := fs.Stat(fsys, src)
	if err != nil {
		return 0, 0, err
	}
	if !st.IsDir() {
		if fi, err := os.Stat(dest); err == nil && fi.IsDir() {
			dest = filepath.Join(dest, path.Base(src))
		}
		n, err := copyFile(fsys, src, dest, st.Mode())
		if err != nil {
			return 0, 0, err
		}
		return 1, n, nil
	}
	err = fs.WalkDir(fsys, src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := "."
		if p != src {
			rel = p[len(src):]
			if src != "." {
				rel = rel[1:]
			}
			if src == "." {
				rel = p
			}
		}
		target := filepath.Join(dest, filepath.FromSlash(rel))
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			n, err := copyFile(fsys, p, target, info.Mode())
			files++
			bytes += n
			return err
		}
		return nil // symlinks, devices: skipped
	})
	return files, bytes, err
}

func copyFile(fsys fs.FS, src, dest string, mode fs.FileMode) (int64, error) {
	in, err := fsys.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	perm := mode.Perm() & 0o755
	if perm == 0 {
		perm = 0o644
	}
	out, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm|0o200)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("browse: extract %s: %w", src, err)
	}
	return n, nil
}
