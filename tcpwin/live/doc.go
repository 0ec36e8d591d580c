// Package live captures TCP segments from a network interface, for
// tcpwin's trackers and Diagnoser: a pure-Go AF_PACKET socket (Linux only;
// Open returns ErrUnsupported elsewhere) with a kernel BPF filter that
// passes only TCP, or only SYN segments, assembled with golang.org/x/net/bpf.
// Frames are read with recvfrom into one reusable buffer and decoded by
// tcpwin.DecodeFrame; kernel drop counters come from PACKET_STATISTICS.
//
// It is a separate package so that tcpwin itself does not depend on
// x/net/bpf or on operating-system capture interfaces.
//
// Capturing needs CAP_NET_RAW. The socket belongs to the network namespace
// of the thread that calls Open.
package live
