package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/bulletproof-labs/wsvcb/vcb/browse"
	"github.com/bulletproof-labs/wsvcb/vcb/vmdk"
)

// cmdConvert: vmmount convert [-t streamOptimized|monolithicSparse|raw] SRC DST
func cmdConvert(ctx context.Context, args []string, out io.Writer) (err error) {
	fl := flag.NewFlagSet("convert", flag.ContinueOnError)
	typ := fl.String("t", "streamOptimized", "output: streamOptimized, monolithicSparse or raw")
	if err := fl.Parse(args); err != nil || fl.NArg() != 2 {
		return errors.New("usage: vmmount convert [-t streamOptimized|monolithicSparse|raw] SRC DST")
	}
	img, err := browse.OpenImage(fl.Arg(0))
	if err != nil {
		return err
	}
	defer img.Close()
	dst := fl.Arg(1)
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(dst)
		}
	}()
	src := io.NewSectionReader(img, 0, img.Size)
	opts := &vmdk.WriteOptions{FileName: filepath.Base(dst)}
	var n int64
	switch *typ {
	case "streamOptimized":
		n, err = vmdk.WriteStreamOptimized(ctx, f, src, img.Size, opts)
	case "monolithicSparse":
		if n, err = vmdk.WriteSparse(ctx, f, src, img.Size, opts); err == nil {
			err = f.Truncate(n)
		}
	case "raw":
		// Holes stay holes: only allocated ranges are written.
		if err = f.Truncate(img.Size); err == nil {
			n, err = copyAllocated(img, f)
		}
	default:
		return fmt.Errorf("unknown output type %q", *typ)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %s (%s): %d bytes for a %d-byte disk\n", dst, *typ, n, img.Size)
	return nil
}

func copyAllocated(img *browse.Image, f *os.File) (int64, error) {
	d, ok := img.ReaderAt.(*vmdk.Disk)
	if !ok {
		return io.Copy(f, io.NewSectionReader(img, 0, img.Size))
	}
	return d.CopyAllocated(context.Background(), f, 0)
}

// cmdCheck: vmmount check DISK — reads every allocated grain.
func cmdCheck(ctx context.Context, args []string, out io.Writer) error {
	if len(args) != 1 {
		return errors.New("usage: vmmount check DISK.vmdk")
	}
	d, err := vmdk.Open(args[0])
	if err != nil {
		return err
	}
	defer d.Close()
	n, err := d.Verify(ctx, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: %s, %d bytes, %d allocated, no errors\n", args[0], d.CreateType(), d.Size(), n)
	return nil
}
