package vcb

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bulletproof-labs/wsvcb/vcb/browse"
	"github.com/vmware/govmomi/vim25/types"
)

// File-level backup layout.
const (
	// KindFileList is the manifest kind of FileListName.
	KindFileList = "filelist"
	// FileListName lists every copied file with its SHA-256, in the format
	// of sha256sum (`sha256sum -c files.sha256` checks the tree).
	FileListName = "files.sha256"
	// FilesDir holds the copied trees, one directory per file system:
	// files/<slot>-p<partition>/... (p0: a disk without partition table).
	FilesDir = "files"
)

// FileBackupResult is the result of BackupFiles.
type FileBackupResult struct {
	Manifest *Manifest
	Files    int   // regular files copied
	Bytes    int64 // bytes of those files
	Fetched  int64 // disk bytes read from the server
}

// BackupFiles is vcbMounter -t file: it snapshots vm exactly like Backup
// (hooks, quiesced snapshot, temporary directory, cleanup guarantees),
// reads each snapshot disk with HTTP range requests, opens its partitions'
// FAT and ext4 file systems (package browse) and copies every path of
// paths (absolute, slash-separated, e.g. "/etc") found in them into
// dir/files/<slot>-p<partition>/. Every copied file is listed with its
// SHA-256 in files.sha256, which the manifest covers like every other
// file; VerifyFiles checks both. A path found in no file system is an
// error (ErrNotFound).
func (c *Client) BackupFiles(ctx context.Context, vm VMInfo, dir string, paths []string, opts *BackupOptions) (*FileBackupResult, error) {
	if len(paths) == 0 {
		return nil, errf("backup", vm.MoRef, ErrConfig, "no paths to back up")
	}
	for _, p := range paths {
		if !strings.HasPrefix(p, "/") {
			return nil, errf("backup", vm.MoRef, ErrConfig, "path %q is not absolute", p)
		}
	}
	o := opts.withDefaults()
	o.Compression = ""
	b := &backup{c: c, o: o, dir: filepath.Clean(dir), m: &meter{op: "backup", fn: o.Progress}}
	fb := &fileBackup{b: b, paths: paths, found: map[string]bool{}, res: &FileBackupResult{}}
	b.disks = fb.disks
	b.m.report(true)
	man, err := b.run(ctx, vm)
	if err != nil {
		return nil, err
	}
	fb.res.Manifest = man
	if err := o.retire(ctx, filepath.Dir(b.dir), man.VM); err != nil {
		return fb.res, err
	}
	return fb.res, nil
}

type fileBackup struct {
	b     *backup
	paths []string
	found map[string]bool
	sums  []string // "hex  relpath" lines
	res   *FileBackupResult
}

func (fb *fileBackup) disks(ctx context.Context, snap types.ManagedObjectReference, disks []Disk) error {
	b := fb.b
	cb := &chunkedBackup{b: b}
	for _, d := range disks {
		b.m.setPhase("files", diskFileName(d))
		u, desc, err := cb.diskSource(ctx, d)
		if err != nil {
			return err
		}
		if desc != nil {
			return b.fail(ErrTransfer, fmt.Errorf("disk %s (%s): file-level backups read disks of one flat extent only", d.Slot, d.File))
		}
		ra := newRangeReaderAt(ctx, b.c, u, d.CapacityBytes)
		err = fb.disk(ctx, d, ra)
		fb.res.Fetched += ra.fetched
		if err != nil {
			return err
		}
	}
	var missing []string
	for _, p := range fb.paths {
		if !fb.found[p] {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return b.fail(ErrNotFound, fmt.Errorf("not found in any file system: %s", strings.Join(missing, ", ")))
	}
	sort.Strings(fb.sums)
	var list bytes.Buffer
	for _, l := range fb.sums {
		list.WriteString(l)
		list.WriteByte('\n')
	}
	f, err := b.writeFile(ctx, FileListName, KindFileList, &list, "")
	if err != nil {
		return err
	}
	b.files = append(b.files, f)
	return nil
}

func (fb *fileBackup) disk(ctx context.Context, d Disk, ra io.ReaderAt) error {
	b := fb.b
	disk, err := browse.Open(ra, d.CapacityBytes)
	if err != nil {
		if ctx.Err() != nil {
			return b.fail(ErrTransfer, ctx.Err())
		}
		return b.fail(ErrTransfer, fmt.Errorf("disk %s: %w", d.Slot, err))
	}
	indexes := []int{0}
	if len(disk.Partitions()) > 0 {
		indexes = nil
		for _, p := range disk.Partitions() {
			indexes = append(indexes, p.Index)
		}
	}
	slot := strings.ReplaceAll(d.Slot, ":", "-")
	for _, idx := range indexes {
		fsys, err := disk.FileSystem(idx)
		if err != nil {
			if ctx.Err() != nil {
				return b.fail(ErrTransfer, ctx.Err())
			}
			continue // not a file system browse reads (swap, LVM, ...)
		}
		rel := path.Join(FilesDir, fmt.Sprintf("%s-p%d", slot, idx))
		for _, p := range fb.paths {
			src := strings.TrimPrefix(path.Clean(p), "/")
			if src == "" {
				src = "."
			}
			if _, err := fs.Stat(fsys, src); err != nil {
				continue
			}
			fb.found[p] = true
			dest := filepath.Join(b.tmp, filepath.FromSlash(rel), filepath.FromSlash(src))
			if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
				_ = fsys.Close()
				return b.fail(ErrWrite, err)
			}
			n, bytes, err := browse.Extract(fsys, src, dest)
			if err != nil {
				_ = fsys.Close()
				if ctx.Err() != nil {
					return b.fail(ErrTransfer, ctx.Err())
				}
				var pe *fs.PathError
				if errors.As(err, &pe) && strings.HasPrefix(pe.Path, b.tmp) {
					return b.fail(ErrWrite, err)
				}
				return b.fail(ErrTransfer, fmt.Errorf("disk %s partition %d: %s: %w", d.Slot, idx, p, err))
			}
			fb.res.Files += n
			fb.res.Bytes += bytes
		}
		_ = fsys.Close()
		// Checksum what landed under rel (each file once, even when paths overlap).
		root := filepath.Join(b.tmp, filepath.FromSlash(rel))
		if _, err := os.Stat(root); err != nil {
			continue
		}
		seen := map[string]bool{}
		for _, l := range fb.sums {
			seen[l[66:]] = true
		}
		err = filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
			if err != nil || !de.Type().IsRegular() {
				return err
			}
			r, _ := filepath.Rel(b.tmp, p)
			r = filepath.ToSlash(r)
			if seen[r] {
				return nil
			}
			sum, err := fileSHA256(p)
			if err != nil {
				return err
			}
			fb.sums = append(fb.sums, sum+"  "+r)
			return nil
		})
		if err != nil {
			return b.fail(ErrWrite, err)
		}
	}
	return nil
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// VerifyFiles verifies a file-level backup: the manifest (Verify), then
// every file listed in files.sha256 against its checksum.
func VerifyFiles(dir string) (*Manifest, error) {
	m, err := Verify(dir)
	if err != nil {
		return m, err
	}
	f, err := os.Open(filepath.Join(dir, FileListName))
	if err != nil {
		return m, newErr("verify", dir, ErrIncomplete, err)
	}
	defer f.Close()
	entries, err := ParseFileList(f)
	if err != nil {
		return m, err
	}
	var bad []Mismatch
	for _, e := range entries {
		got, err := fileSHA256(filepath.Join(dir, filepath.FromSlash(e.Path)))
		switch {
		case err != nil:
			bad = append(bad, Mismatch{Name: e.Path, Reason: err.Error()})
		case got != e.SHA256:
			bad = append(bad, Mismatch{Name: e.Path, Reason: fmt.Sprintf("sha256 %s, list says %s", got, e.SHA256)})
		}
	}
	if len(bad) > 0 {
		return m, &VerifyError{Dir: dir, Mismatches: bad}
	}
	return m, nil
}

// FileListEntry is one line of files.sha256.
type FileListEntry struct {
	SHA256 string
	Path   string // slash-separated, relative to the backup directory
}

// ParseFileList parses a files.sha256 list (sha256sum's format: 64 hex
// digits, two spaces, a relative path under files/). It rejects absolute
// paths and "..", and never panics.
func ParseFileList(r io.Reader) ([]FileListEntry, error) {
	sc := bufio.NewScanner(io.LimitReader(r, 1<<30))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	var out []FileListEntry
	line := 0
	for sc.Scan() {
		line++
		s := sc.Text()
		if len(s) < 67 || s[64:66] != "  " {
			return nil, errf("verify", "", ErrManifest, "%s line %d: not `<sha256>  <path>`", FileListName, line)
		}
		sum, p := s[:64], s[66:]
		if _, err := hex.DecodeString(sum); err != nil || strings.ToLower(sum) != sum {
			return nil, errf("verify", "", ErrManifest, "%s line %d: bad checksum", FileListName, line)
		}
		if !fs.ValidPath(p) || !strings.HasPrefix(p, FilesDir+"/") {
			return nil, errf("verify", "", ErrManifest, "%s line %d: bad path %q", FileListName, line, p)
		}
		out = append(out, FileListEntry{SHA256: sum, Path: p})
	}
	if err := sc.Err(); err != nil {
		return nil, errf("verify", "", ErrManifest, "%s: %v", FileListName, err)
	}
	return out, nil
}
