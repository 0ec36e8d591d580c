// Package netlab builds throw-away network labs out of Linux network
// namespaces: a client, a middlebox and a server namespace joined by two veth
// pairs, a userspace middlebox on AF_PACKET that forwards every frame between
// its legs (optionally rewriting or stripping the TCP window-scale option of
// SYNs and delaying or rate-limiting frames to emulate a WAN link), helpers
// to run Go code, sysctl writes, listeners and dialers inside a namespace, a
// pure-Go AF_PACKET capture writing pcap files, and a bulk-transfer
// throughput probe.
//
// Everything needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN). Namespaces are
// anonymous: they are held only by file descriptors of this process, so they
// vanish when the lab is closed or the process exits, even after a crash.
// Addresses live only inside the lab's namespaces; the host's namespace and
// its sysctls are never touched.
//
// The lab reproduces the 2006 "TCP window scaling and kernel 2.6.17+" failure:
// a middlebox rewrites the client's SYN window-scale shift to 0, so the server
// reads the client's scaled windows as raw byte counts and the bulk transfer
// collapses to a few raw windows per round trip. See examples/tcpwin-lab
// and examples/internal/seedlab (the seed cases, with their sysctl fixes
// applied by package sysctl). netlab imports no public package of this
// module, so the public packages' tests (tcpwin/live) can use it.
//
// Measured on Linux 6.18 (see tcpwin/testdata/lab/README.md): the seed's
// second fix (tcp_rmem max 174760) no longer lowers the offered shift by
// itself, because net.core.rmem_max (4 MiB here; global and read-only
// inside a namespace) also sizes it: the client still offers 7 and is still
// rewritten. What works per namespace is tcp_window_scaling=0, or a socket
// option: SO_RCVBUF <= 262143 or TCP_WINDOW_CLAMP < 262144 give a shift <= 2
// (tcpwin.PredictLinux models this and is checked against the kernel by
// TestLinuxWScaleMatchesKernel in examples/internal/seedlab).
package netlab
