#!/usr/bin/env bash
# Generates the large real capture used by the tcpwin benchmarks
# (BenchmarkBareDLP, BenchmarkSource, BenchmarkAnalyze): bulk TCP transfers
# over IPv4 and IPv6 between two fresh network namespaces joined by a veth
# pair, captured with tcpdump. Needs root; touches nothing outside the two
# namespaces it creates (removed on exit).
#
#   sudo scripts/gen-bench-capture.sh [OUT]      # default tcpwin/testdata/bench/big.pcap
#   CONNS=400 BYTES=4000000 scripts/gen-bench-capture.sh
#
# The capture is not committed (tcpwin/testdata/bench/ is git-ignored).
# Defaults give about 1.5 M packets (~230 MB with -s 128).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${1:-tcpwin/testdata/bench/big.pcap}
CONNS=${CONNS:-300}
BYTES=${BYTES:-6000000}    # per connection
PARALLEL=${PARALLEL:-16}
SNAPLEN=${SNAPLEN:-128}
# SO_RCVBUF values, round robin over connections: default (shift 7-10),
# 64 KiB and 256 KiB (smaller shifts), so the capture has several scales.
RCVBUFS=${RCVBUFS:-0,65536,262144}

if [ "$(id -u)" != 0 ]; then
	echo "gen-bench-capture: needs root (network namespaces)" >&2
	exit 1
fi
export PATH="/usr/local/go/bin:$PATH"

suffix=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
NSA="tcpwin-bench-a-$suffix"
NSB="tcpwin-bench-b-$suffix"
VA="twa$suffix" # interface names: at most 15 characters
VB="twb$suffix"
tmp=$(mktemp -d)
pids=()

cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	ip netns del "$NSA" 2>/dev/null || true
	ip netns del "$NSB" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/bulktcp" ./internal/bulktcp

ip netns add "$NSA"
ip netns add "$NSB"
ip link add "$VA" netns "$NSA" type veth peer name "$VB" netns "$NSB"
ip -n "$NSA" addr add 10.77.0.1/24 dev "$VA"
ip -n "$NSB" addr add 10.77.0.2/24 dev "$VB"
ip -n "$NSA" addr add fd00:77::1/64 dev "$VA" nodad
ip -n "$NSB" addr add fd00:77::2/64 dev "$VB" nodad
for ns in "$NSA" "$NSB"; do
	ip -n "$ns" link set lo up
done
ip -n "$NSA" link set "$VA" up
ip -n "$NSB" link set "$VB" up
# Real MTU-sized segments on the wire, as a NIC would send them.
ip netns exec "$NSA" ethtool -K "$VA" tso off gso off gro off >/dev/null
ip netns exec "$NSB" ethtool -K "$VB" tso off gso off gro off >/dev/null

ip netns exec "$NSB" "$tmp/bulktcp" -listen "[::]:5001" >/dev/null &
pids+=($!)

mkdir -p "$(dirname "$OUT")"
ip netns exec "$NSA" tcpdump -i "$VA" -n -s "$SNAPLEN" -B 65536 -w "$OUT" tcp 2>"$tmp/tcpdump.log" &
tcpdump_pid=$!
pids+=($tcpdump_pid)
for _ in $(seq 50); do
	grep -q listening "$tmp/tcpdump.log" 2>/dev/null && break
	sleep 0.1
done

ip netns exec "$NSA" "$tmp/bulktcp" -connect "10.77.0.2:5001,[fd00:77::2]:5001" \
	-conns "$CONNS" -parallel "$PARALLEL" -bytes "$BYTES" -rcvbufs "$RCVBUFS"

sleep 1
kill -INT "$tcpdump_pid"
wait "$tcpdump_pid" || true
cat "$tmp/tcpdump.log" >&2
ls -l "$OUT" >&2
