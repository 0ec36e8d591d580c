// Command vcbrestore restores a backup made by vcbmounter, like VMware
// Consolidated Backup's vcbRestore: to the same or another vCenter/host,
// in place (only with -b overwrite, the VM powered off) or as a copy with
// another name, folder, resource pool or datastore, given by flags or by
// an edited catalog (-a).
//
//	vcbrestore -h vc.example.com -u backup -s /backups/web01
//	vcbrestore -s /backups/web01 -a /tmp/web01.catalog             # edited catalog
//	vcbrestore -s /backups/web01 -b overwrite                      # in place
//	vcbrestore -s /backups/web01 -name web01-test -datastore ds2  # as a copy
//	vcbrestore -sim -s /tmp/vcbdemo -name vcbdemo-restored         # into a fresh simulator
//	vcbrestore -s /backups/web01-2 -store /backups/chunks -name web01-copy  # a chunked/incremental backup
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/bulletproof-labs/wsvcb/examples/internal/vcbcli"
	"github.com/bulletproof-labs/wsvcb/vcb"
	"github.com/bulletproof-labs/wsvcb/vcb/chunkstore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const tool = "vcbrestore"

func run(ctx context.Context, args []string, stdin *os.File, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(tool, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var conn vcbcli.Conn
	conn.Register(fs)
	conn.SimEmpty = true // -sim: restore into a fresh simulator, another "vCenter"
	src := fs.String("s", "", "backup directory to restore")
	alt := fs.String("a", "", "alternate (edited) catalog file")
	behavior := fs.String("b", "keep", "when the VM exists: keep (refuse) or overwrite (it must be powered off)")
	var o vcb.RestoreOptions
	fs.StringVar(&o.Name, "name", "", "restore under this VM name (a copy, with new UUIDs)")
	fs.StringVar(&o.Folder, "folder", "", "VM folder inventory path")
	fs.StringVar(&o.ResourcePool, "pool", "", "resource pool inventory path")
	fs.StringVar(&o.Datastore, "datastore", "", "datastore name")
	fs.StringVar(&o.Host, "host", "", "host name")
	fs.BoolVar(&o.PowerOn, "poweron", false, "power the VM on after the restore")
	quiet := fs.Bool("q", false, "no progress bar")
	storeDir := fs.String("store", "", "chunk store of a chunked (vcbmounter -t chunked) backup")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *src == "" {
		fmt.Fprintln(stderr, "vcbrestore: -s DIR is required")
		fs.Usage()
		return 2
	}
	switch *behavior {
	case "keep", "abort":
	case "overwrite":
		o.Overwrite = true
	default:
		return vcbcli.Fail(stderr, tool, fmt.Errorf("-b %s: want keep or overwrite", *behavior))
	}
	o.Catalog = *alt
	if !*quiet && !conn.JSON {
		o.Progress = vcbcli.ProgressBar(stderr)
	}
	s, err := conn.Connect(ctx, stdin, stderr)
	if err != nil {
		return vcbcli.Fail(stderr, tool, err)
	}
	defer s.Close()
	var res *vcb.RestoreResult
	if *storeDir != "" {
		var st *chunkstore.Store
		if st, err = chunkstore.Open(*storeDir); err == nil {
			res, err = s.RestoreChunked(ctx, *src, st, &o)
		}
	} else {
		res, err = s.Restore(ctx, *src, &o)
	}
	if err != nil {
		return vcbcli.Fail(stderr, tool, err)
	}
	if conn.JSON {
		_ = vcbcli.PrintJSON(stdout, res)
		return 0
	}
	fmt.Fprintf(stdout, "restored %s as %s (%s) on %s\n", *src, res.VM.Name, res.VM.MoRef, res.VM.Host)
	if res.Replaced != "" {
		fmt.Fprintf(stdout, "  replaced %s\n", res.Replaced)
	}
	for _, f := range res.Files {
		fmt.Fprintf(stdout, "  uploaded %s\n", f)
	}
	fmt.Fprintf(stdout, "  disks read back and verified against the manifest: %v\n", res.Verified)
	return 0
}
