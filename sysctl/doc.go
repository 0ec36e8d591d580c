// Package sysctl reads and writes Linux kernel parameters (the /proc/sys
// tree) safely: typed values, validation, read-back verification,
// all-or-nothing apply with rollback, network-namespace scope and
// sysctl.d files compatible with procps sysctl and systemd-sysctl.
package sysctl
