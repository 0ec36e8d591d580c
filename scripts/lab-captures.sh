#!/bin/sh
# Regenerates tcpwin/testdata/lab: runs the seed reproduction in network
# namespaces (root) and keeps the first 200 frames of each capture.
# Usage: sudo scripts/lab-captures.sh [OUTDIR]
set -eu
cd "$(dirname "$0")/.."
full=$(mktemp -d)
out=${1:-tcpwin/testdata/lab}
go run ./examples/tcpwin-lab -duration 4s -delay 20ms -rate 1250000 -out "$full" | tee "$full/table.txt"
mkdir -p "$out"
for f in "$full"/*.pcap; do
	tcpdump -r "$f" -c 200 -w "$out/$(basename "$f")" 2>/dev/null
done
chown "$(id -u):$(id -g)" "$out"/*.pcap 2>/dev/null || true
echo "full captures kept in $full"
