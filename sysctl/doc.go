// Package sysctl reads and writes Linux kernel parameters (the /proc/sys
// tree) safely: typed values, validation, read-back verification,
// all-or-nothing apply with rollback, network-namespace scope and
// sysctl.d files compatible with procps sysctl and systemd-sysctl.
//
// # Why
//
// Writing /proc/sys by hand is easy to get wrong. Measured on Linux 6.18
// with net.ipv4.tcp_rmem: fields may be separated by blanks and come back
// tab-separated; extra fields are dropped silently; a bad field after good
// ones returns EINVAL but the good leading fields are already stored (a
// partial commit); min > max is accepted; "010" is read as octal 8. Some
// keys are per network namespace (net.*), the rest are global, and some
// (net.core.rmem_max) are visible but read-only inside a namespace.
//
// # Keys
//
// ParseKey accepts the procps syntax: "net.ipv4.tcp_rmem" or
// "net/ipv4/tcp_rmem"; the first separator decides, and with dots a "/"
// inside a name stands for "." ("net.ipv4.conf.eth0/100.rp_filter" is the
// directory eth0.100). "..", empty components and absolute paths are
// refused with ErrBadKey, and files are opened with openat2
// RESOLVE_BENEATH so symlinks cannot lead out of the tree. ParsePattern
// and FS.Glob add path.Match globs.
//
// # Trees
//
// NewFS("") is the running kernel's /proc/sys; NewFS(dir) is a fake tree
// of plain files, so every function is testable without root. OpenNetNS
// and OpenNetNSPID give the net.* keys of another network namespace,
// operated from a dedicated OS thread that has setns(2)'d into it (opening
// /proc/PID/root/proc/sys does not work: it shows the opener's namespace).
//
// # Writes
//
// FS.Apply validates every value first (kind, arity, the ranges the kernel
// documents; see Lookup and Validate), snapshots the old values, then
// writes each changed key in a single write(2) of its canonical form, reads
// it back, and on the first failure restores every key it wrote. Unchanged
// values are not written. The returned Transaction restores the old values
// later; FS.Plan is the dry run. Failures are *Error values naming the
// key, value and operation, matching ErrNotExist, ErrPermission,
// ErrReadOnlyFS, ErrInvalid, ErrIO, ErrMismatch, ErrBadKey or
// ErrNotNamespaced with errors.Is.
//
// # Files
//
// ParseConf reads sysctl.conf syntax ("#"/";" comments, "-key = value"
// ignores errors, globs, "-pattern" excludes) with file:line errors;
// SystemFiles lists the --system files with directory precedence and
// masking by name; WriteDropIn persists settings atomically, UpdateDropIn
// merges them into an existing file in place (symlink target, comments,
// order, mode and owner kept; flock around the read-modify-rename).
//
// The command examples/sysctl is a procps-ng compatible sysctl built on
// this package.
package sysctl
