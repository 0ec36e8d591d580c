package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bulletproof-labs/wsvcb/examples/internal/vcbcli"
	"github.com/bulletproof-labs/wsvcb/vcb"
)

// selectorList is a repeatable selector flag.
type selectorList []vcb.Selector

func (l *selectorList) String() string {
	var s []string
	for _, x := range *l {
		s = append(s, x.String())
	}
	return strings.Join(s, " ")
}

func (l *selectorList) Set(v string) error {
	sel, err := vcb.ParseSelector(v)
	if err != nil {
		return err
	}
	*l = append(*l, sel)
	return nil
}

// manyFlags select several VMs for one run, as ghettoVCB takes them.
type manyFlags struct {
	include, exclude selectorList
	vmlist           *string
	jobs             *int
}

func registerMany(fs *flag.FlagSet) *manyFlags {
	m := &manyFlags{}
	fs.Var(&m.include, "A", "back up every VM matching this selector (repeatable; any: for all); -r is then the parent directory, each VM goes to DIR/NAME-TIME")
	fs.Var(&m.exclude, "x", "with -A/-vmlist: leave out VMs matching this selector (repeatable)")
	m.vmlist = fs.String("vmlist", "", "file of VMs to back up, one per line: a name, or a selector (moref:, uuid:, ...); # starts a comment (ghettoVCB -f)")
	m.jobs = fs.Int("j", 1, "with -A/-vmlist: VMs backed up at once")
	return m
}

func (m *manyFlags) active() bool { return len(m.include) > 0 || *m.vmlist != "" }

// readVMList parses a -vmlist file.
func readVMList(path string) ([]vcb.Selector, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []vcb.Selector
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		sel := vcb.Selector{Kind: vcb.SelectName, Value: line}
		if k, _, ok := strings.Cut(line, ":"); ok && !strings.ContainsAny(k, " \t") {
			if s, err := vcb.ParseSelector(line); err == nil {
				sel = s
			}
		}
		out = append(out, sel)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// manyRun is what one -A/-vmlist run needs from the other flags.
type manyRun struct {
	parent, typ, filePaths, storeDir string
	opts                             *vcb.BackupOptions
	json                             bool
}

// runMany backs up several VMs in one run and prints one summary. Exit
// status 1 when any VM failed or none matched.
func runMany(ctx context.Context, conn *vcbcli.Conn, m *manyFlags, r manyRun, stdin *os.File, stdout, stderr io.Writer) int {
	include := append([]vcb.Selector(nil), m.include...)
	if *m.vmlist != "" {
		l, err := readVMList(*m.vmlist)
		if err != nil {
			return vcbcli.Fail(stderr, tool, err)
		}
		include = append(include, l...)
	}
	if *m.jobs < 1 {
		fmt.Fprintf(stderr, "%s: -j %d: want at least 1\n", tool, *m.jobs)
		return 2
	}
	s, err := conn.Connect(ctx, stdin, stderr)
	if err != nil {
		return vcbcli.Fail(stderr, tool, err)
	}
	defer s.Close()
	vms, err := s.SelectMany(ctx, include, m.exclude)
	if err != nil {
		return vcbcli.Fail(stderr, tool, err)
	}
	if len(vms) == 0 {
		return vcbcli.Fail(stderr, tool, fmt.Errorf("no VM matches %s", (*selectorList)(&include)))
	}
	stamp := time.Now().UTC().Format("20060102T150405Z")
	dirFor := func(vm vcb.VMInfo) string {
		name := strings.Map(func(c rune) rune {
			if c == '/' || c == 0 || c == '\\' {
				return '_'
			}
			return c
		}, vm.Name)
		return filepath.Join(r.parent, name+"-"+stamp)
	}
	opts := &vcb.ManyOptions{Concurrency: *m.jobs}
	opts.Backup = func(ctx context.Context, vm vcb.VMInfo, dir string) (*vcb.Manifest, error) {
		switch r.typ {
		case "file":
			res, err := s.BackupFiles(ctx, vm, dir, strings.Split(r.filePaths, ","), r.opts)
			if res == nil {
				return nil, err
			}
			return res.Manifest, err
		case "chunked":
			res, err := backupChunked(ctx, s.Client, vm, dir, r.storeDir, "", r.opts)
			if res == nil {
				return nil, err
			}
			return res.Manifest, err
		}
		return s.Backup(ctx, vm, dir, r.opts)
	}
	if !r.json {
		opts.Done = func(res vcb.VMResult) {
			if res.Err != nil {
				fmt.Fprintf(stderr, "%s: %s (%s): %v\n", tool, res.VM.Name, res.VM.MoRef, res.Err)
			}
		}
	}
	res, runErr := s.BackupMany(ctx, vms, dirFor, opts)
	failed := 0
	for _, x := range res {
		if !x.OK() {
			failed++
		}
	}
	if r.json {
		_ = vcbcli.PrintJSON(stdout, map[string]any{"results": res, "ok": len(res) - failed, "failed": failed})
	} else {
		for _, x := range res {
			status := "ok    "
			if !x.OK() {
				status = "FAILED"
			}
			fmt.Fprintf(stdout, "%s %-20s %-10s %12d bytes %8s  %s\n", status, x.VM.Name, x.VM.MoRef, x.Bytes, x.Duration.Round(time.Millisecond), x.Dir)
		}
		fmt.Fprintf(stdout, "%d of %d VMs backed up, %d failed\n", len(res)-failed, len(res), failed)
	}
	if runErr != nil || failed > 0 {
		return 1
	}
	return 0
}
