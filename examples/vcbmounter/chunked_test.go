package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulletproof-labs/wsvcb/internal/diskimg"
	"github.com/bulletproof-labs/wsvcb/vcb"
	"github.com/bulletproof-labs/wsvcb/vcb/vcbtest"
)

// TestFileAndChunked runs -t file and -t chunked (full, then CBT
// incremental) against a simulator with change tracking whose VM disk is a
// real ext4 file system.
func TestFileAndChunked(t *testing.T) {
	raw := diskimg.Raw(t, t.TempDir(), diskimg.Layout{Parts: []diskimg.Part{
		{FS: "ext4", MiB: 16, Label: "root", Files: map[string]string{"etc/hostname": "cli01\n", "srv/data.txt": "data\n"}},
	}})
	data, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	defer vcbtest.Quiet()()
	sim, err := vcbtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	ctx := context.Background()
	c, err := vcb.Dial(ctx, &vcb.Config{URL: sim.URL.String(), Username: sim.Username, Password: sim.Password, Thumbprint: sim.Thumbprint})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	obj, err := vcbtest.CreateVM(ctx, c.Vim(), vcbtest.VMSpec{Name: "cli01", DiskSizes: []int64{int64(len(data))}, PowerOn: true, Direct: true})
	if err != nil {
		t.Fatal(err)
	}
	cbt := vcbtest.EnableCBT(sim.Model)
	if err := cbt.Track(obj.Reference()); err != nil {
		t.Fatal(err)
	}
	if err := cbt.WriteAt(obj.Reference(), 0, data, 0); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOVC_PASSWORD", sim.Password)
	conn := []string{"-h", sim.URL.String(), "-u", sim.Username, "-thumbprint", sim.Thumbprint, "-q", "-a", "name:cli01"}
	root := t.TempDir()
	cli := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(ctx, append(append([]string{}, conn...), args...), nil, &out, &errb); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errb.String())
		}
		return out.String()
	}

	out := cli("-r", filepath.Join(root, "files"), "-t", "file", "-f", "/etc/hostname,/srv")
	if !strings.Contains(out, "copied 2 files") {
		t.Fatalf("output: %s", out)
	}
	if got, _ := os.ReadFile(filepath.Join(root, "files", "files", "scsi0-0-p0", "etc", "hostname")); string(got) != "cli01\n" {
		t.Fatalf("hostname copy %q", got)
	}

	store := filepath.Join(root, "store")
	out = cli("-r", filepath.Join(root, "c1"), "-t", "chunked", "-store", store)
	if !strings.Contains(out, "scsi0:0: full") {
		t.Fatalf("output: %s", out)
	}
	if err := cbt.WriteAt(obj.Reference(), 0, bytes.Repeat([]byte("x"), 4096), 8<<20); err != nil {
		t.Fatal(err)
	}
	out = cli("-r", filepath.Join(root, "c2"), "-t", "chunked", "-store", store, "-parent", filepath.Join(root, "c1"))
	if !strings.Contains(out, "incremental, 4096 bytes read") {
		t.Fatalf("output: %s", out)
	}
	var po, pe bytes.Buffer
	if code := run(ctx, []string{"-prune", root, "-store", store}, nil, &po, &pe); code != 0 || !strings.Contains(po.String(), "0 chunks removed") {
		t.Fatalf("prune: %d %s %s", code, po.String(), pe.String())
	}
	for _, dir := range []string{"files", "c2"} {
		var o, e bytes.Buffer
		if code := run(ctx, []string{"-verify", filepath.Join(root, dir), "-store", store}, nil, &o, &e); code != 0 {
			t.Fatalf("verify %s: %s", dir, e.String())
		}
	}
}
