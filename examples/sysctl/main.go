// Command sysctl is a procps-ng compatible sysctl built on package sysctl:
// the same flags, output lines and exit statuses for reads, writes, -p and
// --system, but every write is validated first, written in one write(2),
// read back, and rolled back on failure (all-or-nothing by default when
// several keys are written). Extras: --netns, --dry-run (diff), --persist,
// --rollback-on-error, --root, --check (drift, exit 3), --save-undo and
// --undo.
//
// Deliberate differences from procps-ng 4.0.2: a read-only key (such as
// net.core.rmem_max inside a network namespace, where it is global) is a
// failure, "permission denied on key ...: read-only (mode 0444): ... is not
// per network namespace", exit 1 and, with rollback on, nothing written
// (procps prints "Invalid argument" and exits 0); a failed "-key = value"
// line of a -p/--system file, a missing key included, is only a notice
// ending in ", ignoring" and never fails or rolls back the run, as
// sysctl.d(5) says (procps prints "cannot stat" and exits 1); -h/--help
// prints procps' text followed by this tool's own flags.
//
//	sysctl net.ipv4.tcp_rmem
//	sysctl --netns blue -w net.ipv4.tcp_window_scaling=0 'net.ipv4.tcp_rmem=4096 87380 4194304'
//	sysctl --dry-run -p /etc/sysctl.d/90-wsvcb.conf
//	sysctl --root ./testdata/proc-sys -a
//	sysctl --check -p /etc/sysctl.d/90-wsvcb.conf          # exit 3 when the running values drifted
//	sysctl --save-undo /root/undo.conf -w net.ipv4.tcp_window_scaling=0
//	sysctl --undo /root/undo.conf
package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(context.Background(), os.Args, os.Stdout, os.Stderr, os.Stdin))
}

// run executes one sysctl invocation and returns its exit status.
func run(ctx context.Context, argv []string, stdout, stderr io.Writer, stdin io.Reader) int {
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	argv0 := "sysctl"
	if len(argv) > 0 {
		argv0 = argv[0]
	}
	if len(argv) < 2 {
		fmt.Fprint(stderr, usage)
		return 1
	}
	o, err := parseArgs(argv0, argv[1:])
	if err != nil {
		fmt.Fprintln(stderr, err)
		fmt.Fprint(out, usage)
		return 0
	}
	if o.help {
		fmt.Fprint(out, usage)
		fmt.Fprint(out, extraUsage)
		return 0
	}
	if o.version {
		fmt.Fprintln(out, "sysctl (wsvcb, procps-ng 4.0.2 compatible)")
		return 0
	}
	a, err := newApp(o, out, stderr, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "sysctl: %v\n", err)
		return 1
	}
	defer a.fs.Close()
	return a.main(ctx)
}
