#!/bin/sh
# Regenerates the tshark golden files from the shared captures.
# Usage: sh gen.sh [CAPTURE_DIR]   (default: ../../../../shared/captures)
# Each NAME.KIND.tsv holds tshark's output; NAME.KIND.cmd the exact command.
set -eu
dir=${1:-$(cd "$(dirname "$0")/../../../.." && pwd)/shared/captures}
cd "$(dirname "$0")"
for f in arkime-modbus.pcap arkime-v6.pcap pcpp-raw_ip.pcap pcpp-sll.pcap ppa-http_espn.pcapng retina-tls_ciphers.pcap; do
	hs="tshark -r $f -Y tcp.flags.syn==1 -T fields -E header=y -e frame.number -e ip.src -e ipv6.src -e ip.dst -e ipv6.dst -e tcp.srcport -e tcp.dstport -e tcp.flags.syn -e tcp.flags.ack -e tcp.window_size_value -e tcp.options.mss_val -e tcp.options.wscale.shift -e tcp.options.sack_perm -e tcp.options.timestamp.tsval"
	win="tshark -r $f -Y tcp -T fields -E header=y -e frame.number -e tcp.flags.syn -e tcp.flags.ack -e tcp.window_size_value -e tcp.window_size_scalefactor -e tcp.window_size"
	echo "# $(tshark -v | head -1)" >"$f.handshakes.cmd"
	echo "$hs" >>"$f.handshakes.cmd"
	echo "# $(tshark -v | head -1)" >"$f.windows.cmd"
	echo "$win" >>"$f.windows.cmd"
	(cd "$dir" && $hs 2>/dev/null) >"$f.handshakes.tsv"
	(cd "$dir" && $win 2>/dev/null) >"$f.windows.tsv"
done
# tcptrace -l summaries for the conns comparison.
for f in retina-tls_ciphers.pcap ppa-http_espn.pcapng arkime-modbus.pcap; do
	cmd="tcptrace -l -n $f"
	echo "# $(tcptrace -v 2>&1 | grep -m1 version)" >"$f.tcptrace.cmd"
	echo "$cmd" >>"$f.tcptrace.cmd"
	(cd "$dir" && $cmd 2>/dev/null) | grep -v -e 'elapsed wallclock' -e 'filename:' >"$f.tcptrace.txt"
done
