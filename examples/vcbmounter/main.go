// Command vcbmounter backs up a virtual machine like VMware Consolidated
// Backup's vcbMounter -t fullvm: a snapshot, the disks exported through an
// NFC lease, the .vmx/.nvram, a catalog and a checksummed manifest.
//
//	vcbmounter -h vc.example.com -u backup -a moref:vm-42 -r /backups/web01 -t fullvm
//	vcbmounter -a name:web01 -r '/backups/web01-%t' -z -keep 7     # rotation
//	vcbmounter -d /backups/web01                                     # release (delete) a fullvm export
//	vcbmounter -verify /backups/web01
//	vcbmounter -sim -a name:vcbdemo -r /tmp/vcbdemo                   # embedded simulator
//	vcbmounter -a name:web01 -r /backups/web01-files -t file -f /etc,/home # file-level
//	vcbmounter -a name:web01 -r /backups/web01-1 -t chunked -store /backups/chunks
//	vcbmounter -a name:web01 -r /backups/web01-2 -t chunked -store /backups/chunks -parent /backups/web01-1  # CBT incremental
//	vcbmounter -verify /backups/web01-2 -store /backups/chunks
//	vcbmounter -prune /backups -store /backups/chunks                  # drop chunks no backup uses
//	vcbmounter -a name:web01 -r '/backups/web01-%t' -keep-daily 7 -keep-weekly 4 -keep-monthly 12
//	vcbmounter -A any: -x name:scratch -j 2 -r /backups               # many VMs, one summary (exit 1 if any failed)
//	vcbmounter -vmlist vms.txt -r /backups -t chunked -store /backups/chunks
//	vcbmounter -forget /backups -keep-daily 7 -keep-weekly 4 -dry-run  # retention by policy, as restic forget
//
// The password comes from $GOVC_PASSWORD, -passfile or a prompt.
//
// One backup of a VM runs at a time: a backup holds an flock on
// ".vcb-<moref>.lock" in the parent directory of -r (released by the kernel
// however the process ends). A second backup of the VM into that directory
// fails at once with exit status 75 (EX_TEMPFAIL: try again later).
//
// A backup that was killed leaves its "vcb-..." snapshot behind. Every
// backup looks for such snapshots first and removes those whose backup is
// known dead (taken on this host, lock free), reporting each on stderr;
// -remove-stale-snapshots also removes those taken on another host or by
// an older version (run it when no other host backs up the VM).
//
// -prune also removes the pending chunk files of chunked backups that died
// (a failed one removes its own); it holds the store's exclusive lock and
// exits 75 while a chunked backup writes to the store.
//
// Exit status: 0 success, 1 failure, 2 usage error, 75 the VM (or, for
// -prune, the chunk store) is locked by a running backup.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/bulletproof-labs/wsvcb/examples/internal/vcbcli"
	"github.com/bulletproof-labs/wsvcb/vcb"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const tool = "vcbmounter"

// exitLocked is the exit status of a backup refused because another
// backup of the VM holds its lock (sysexits' EX_TEMPFAIL).
const exitLocked = 75

func run(ctx context.Context, args []string, stdin *os.File, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(tool, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var conn vcbcli.Conn
	conn.Register(fs)
	selStr := fs.String("a", "", "VM to back up: moref:vm-42, name:, uuid:, ipaddr: (must match exactly one VM)")
	dir := fs.String("r", "", "backup directory to create (must not exist); %t is replaced by a UTC timestamp")
	typ := fs.String("t", "fullvm", "backup type: fullvm, file (copy -f paths out of the guest file systems) or chunked (content-addressed in -store, incremental with -parent)")
	filePaths := fs.String("f", "", "-t file: comma-separated absolute guest paths to copy, e.g. /etc,/home")
	storeDir := fs.String("store", "", "-t chunked and -verify: chunk store directory (shared by all VMs)")
	parentDir := fs.String("parent", "", "-t chunked: previous chunked backup of the VM; only the changed extents are read (CBT)")
	mode := fs.String("m", "nbd", "transport mode: nbd or nbdssl (the NFC lease over HTTPS); san and hotadd are not supported")
	release := fs.String("d", "", "release a fullvm backup directory: delete it (only if it is a vcb backup)")
	verify := fs.String("verify", "", "verify the checksums of a backup directory and exit")
	prune := fs.String("prune", "", "remove the chunks of -store that no chunked backup under this directory uses and the pending files of dead backups, and exit")
	noQuiesce := fs.Bool("Q", false, "do not quiesce the guest file systems")
	memory := fs.Bool("M", false, "include memory in the snapshot")
	zstd := fs.Bool("z", false, "compress disks with zstd")
	keep := fs.Int("keep", 0, "keep only the newest N backups of this VM next to -r (rotation)")
	pre := fs.String("pre", "", "pre-freeze script to run on this host before the snapshot")
	post := fs.String("post", "", "post-thaw script to run on this host after the snapshot")
	quiet := fs.Bool("q", false, "no progress bar")
	removeStale := fs.Bool("remove-stale-snapshots", false, "also remove vcb snapshots left by backups on other hosts or older versions (those of dead backups on this host are always removed)")
	ret := registerRetention(fs)
	many := registerMany(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	policy, err := ret.policy()
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", tool, err)
		return 2
	}
	switch {
	case *ret.forget != "":
		return runForget(ctx, ret, conn.JSON, stdout, stderr)
	case *verify != "":
		m, err := verifyAny(*verify, *storeDir)
		if conn.JSON && m != nil {
			_ = vcbcli.PrintJSON(stdout, map[string]any{"dir": *verify, "ok": err == nil, "error": errString(err), "files": m.Files})
		}
		if err != nil {
			return vcbcli.Fail(stderr, tool, err)
		}
		if !conn.JSON {
			fmt.Fprintf(stdout, "%s: %d files verified\n", *verify, len(m.Files))
		}
		return 0
	case *prune != "":
		if *storeDir == "" {
			return vcbcli.Fail(stderr, tool, fmt.Errorf("-prune needs -store DIR"))
		}
		st, err := pruneStore(*storeDir, *prune)
		if errors.Is(err, vcb.ErrLocked) {
			vcbcli.Fail(stderr, tool, err)
			return exitLocked
		}
		if err != nil {
			return vcbcli.Fail(stderr, tool, err)
		}
		if conn.JSON {
			_ = vcbcli.PrintJSON(stdout, st)
		} else {
			fmt.Fprintf(stdout, "pruned %s: %d chunks removed, %d pending files of dead backups removed (%d bytes), %d kept\n", *storeDir, st.Removed, st.Pending, st.Freed, st.Kept)
		}
		return 0
	case *release != "":
		if err := releaseDir(*release); err != nil {
			return vcbcli.Fail(stderr, tool, err)
		}
		if !conn.JSON {
			fmt.Fprintf(stdout, "released %s\n", *release)
		}
		return 0
	}
	if !many.active() && (*selStr == "" || *dir == "") {
		fmt.Fprintln(stderr, "vcbmounter: -a SELECTOR and -r DIR are required (or -d DIR, -verify DIR)")
		fs.Usage()
		return 2
	}
	switch *typ {
	case "fullvm":
	case "file":
		if *filePaths == "" {
			return vcbcli.Fail(stderr, tool, fmt.Errorf("-t file needs -f PATH[,PATH...]"))
		}
	case "chunked":
		if *storeDir == "" {
			return vcbcli.Fail(stderr, tool, fmt.Errorf("-t chunked needs -store DIR"))
		}
	default:
		return vcbcli.Fail(stderr, tool, fmt.Errorf("-t %s: want fullvm, file or chunked", *typ))
	}
	if *mode != "nbd" && *mode != "nbdssl" {
		return vcbcli.Fail(stderr, tool, fmt.Errorf("-m %s: only nbd/nbdssl (NFC over HTTPS) are supported", *mode))
	}
	opts := &vcb.BackupOptions{NoQuiesce: *noQuiesce, Memory: *memory, Keep: *keep, Retention: policy, RemoveStaleSnapshots: *removeStale}
	opts.OnStaleSnapshot = func(st vcb.StaleSnapshot) { fmt.Fprintf(stderr, "%s: %s\n", tool, st) }
	if *zstd {
		opts.Compression = vcb.CompressionZstd
	}
	if *pre != "" {
		opts.PreFreeze = vcb.CommandHook("pre-freeze", *pre)
	}
	if *post != "" {
		opts.PostThaw = vcb.CommandHook("post-thaw", *post)
	}
	if many.active() {
		if *selStr != "" || *dir == "" {
			fmt.Fprintln(stderr, "vcbmounter: -A/-vmlist take -r PARENTDIR and no -a")
			return 2
		}
		if *parentDir != "" {
			fmt.Fprintln(stderr, "vcbmounter: -parent names one VM's backup: not with -A/-vmlist")
			return 2
		}
		return runMany(ctx, &conn, many, manyRun{parent: *dir, typ: *typ, filePaths: *filePaths, storeDir: *storeDir, opts: opts, json: conn.JSON}, stdin, stdout, stderr)
	}
	sel, err := vcb.ParseSelector(*selStr)
	if err != nil {
		return vcbcli.Fail(stderr, tool, err)
	}
	target := strings.ReplaceAll(*dir, "%t", time.Now().UTC().Format("20060102T150405Z"))
	s, err := conn.Connect(ctx, stdin, stderr)
	if err != nil {
		return vcbcli.Fail(stderr, tool, err)
	}
	defer s.Close()
	vm, err := s.Find(ctx, sel)
	if err != nil {
		return vcbcli.Fail(stderr, tool, err)
	}
	if !*quiet && !conn.JSON {
		opts.Progress = vcbcli.ProgressBar(stderr)
	}
	start := time.Now()
	var (
		m     *vcb.Manifest
		extra any
	)
	switch *typ {
	case "file":
		var res *vcb.FileBackupResult
		if res, err = s.BackupFiles(ctx, vm, target, strings.Split(*filePaths, ","), opts); err == nil {
			m, extra = res.Manifest, res
			if !conn.JSON {
				fmt.Fprintf(stdout, "copied %d files (%d bytes) from %s (%s) to %s, reading %d disk bytes\n", res.Files, res.Bytes, vm.Name, vm.MoRef, target, res.Fetched)
			}
		}
	case "chunked":
		var res *vcb.ChunkedBackup
		if res, err = backupChunked(ctx, s.Client, vm, target, *storeDir, *parentDir, opts); err == nil {
			m, extra = res.Manifest, res.Disks
			if !conn.JSON {
				for _, d := range res.Disks {
					kind := "full"
					if d.Incremental {
						kind = "incremental"
					}
					why := ""
					if d.Reason != "" {
						why = " (" + d.Reason + ")"
					}
					fmt.Fprintf(stdout, "%s %s: %s%s, %d bytes read in %d requests, %d of %d chunks changed, %d new in the store\n",
						vm.Name, d.Slot, kind, why, d.Transferred, d.Requests, d.Changed, d.Chunks, d.NewChunks)
				}
			}
		}
	default:
		m, err = s.Backup(ctx, vm, target, opts)
	}
	if errors.Is(err, vcb.ErrLocked) {
		vcbcli.Fail(stderr, tool, err)
		return exitLocked
	}
	if err != nil {
		return vcbcli.Fail(stderr, tool, err)
	}
	if conn.JSON && extra != nil {
		_ = vcbcli.PrintJSON(stdout, map[string]any{"dir": target, "manifest": m, "result": extra})
		return 0
	}
	if conn.JSON {
		_ = vcbcli.PrintJSON(stdout, map[string]any{"dir": target, "manifest": m})
		return 0
	}
	var total int64
	for _, f := range m.Disks() {
		total += f.RawSize
	}
	el := time.Since(start)
	if *typ != "fullvm" {
		fmt.Fprintf(stdout, "backed up %s (%s) to %s (-t %s) in %s\n", vm.Name, vm.MoRef, target, *typ, el.Round(time.Millisecond))
	} else {
		fmt.Fprintf(stdout, "backed up %s (%s) to %s: %d disk(s), %d bytes in %s (%.1f MB/s)\n",
			vm.Name, vm.MoRef, target, len(m.Disks()), total, el.Round(time.Millisecond), float64(total)/1e6/el.Seconds())
	}
	for _, f := range m.Files {
		fmt.Fprintf(stdout, "  %-8s %-32s %12d  sha256:%s\n", f.Kind, f.Name, f.Size, f.SHA256)
	}
	return 0
}

// releaseDir deletes a fullvm backup directory, refusing anything that is
// not one (no manifest and no partial marker).
func releaseDir(dir string) error {
	if _, err := vcb.ReadManifest(dir); err != nil {
		if !errors.Is(err, vcb.ErrIncomplete) || !strings.Contains(filepath.Base(dir), ".partial-") {
			return fmt.Errorf("%s is not a vcb backup directory: %w", dir, err)
		}
	}
	return os.RemoveAll(dir)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
