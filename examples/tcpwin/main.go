// Command tcpwin reports TCP window scaling (RFC 7323) in captures: pcap,
// pcapng or the text tcpdump prints, detected automatically ("-" reads
// standard input).
//
// Usage:
//
//	tcpwin handshakes [-o tsv|json] FILE   one row per SYN segment and its options
//	tcpwin windows    [-o tsv|json] FILE   one row per TCP segment: scale and effective window
//	tcpwin conns      [-o tsv|json] FILE   one row per connection: tcptrace -l style window stats
//	tcpwin calc [-o tsv|json] -win N -shift S   effective window of a raw window
//	tcpwin calc [-o tsv|json] -buf BYTES        shift needed for a receive buffer
//	tcpwin predict [-rmem "MIN DEF MAX"] [-rmem-max N] [-rcvbuf N] [-o json]   shift a Linux host offers
//
// Output is tab-separated with a header line (-o tsv, the default) or a JSON
// array of objects (-o json). In windows output the scale column is empty on
// SYN segments, -1 when the scale is unknown (handshake not seen), -2 when
// scaling is not in use, otherwise the multiplier 2^shift; window is the
// effective window (the raw window when scale is -1 or -2).
//
// Exit status: 0 on success, 1 on input errors (everything decoded before
// the error is still printed; the error, naming the file and frame or
// offset, goes to standard error), 2 on usage errors.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
