#!/bin/sh
# Regenerates the lab captures used by diagnose_lab_test.go (needs root).
# A bulk transfer server -> client through internal/netlab's middlebox
# (20 ms one-way delay, 10 Mbit/s), one case per middlebox rule, captured on
# the client's and the server's veth (snaplen 128), trimmed to the first 300
# frames with tcpdump. Run from the module root.
set -eu
out=$(mktemp -d)
go run ./examples/tcpwin-lab -duration 2s -out "$out" -max-packets 3000 \
	-cases healthy,rewritten,strip-client,strip-server,strip-both
for f in "$out"/*.pcap; do
	tcpdump -r "$f" -c 300 -w "tcpwin/testdata/diag/$(basename "$f")"
done
rm -r "$out"
