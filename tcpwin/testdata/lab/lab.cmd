# Produced on Linux 6.18 (net.core.rmem_max 4194304, netns tcp_rmem max 33554432) with:
go run ./examples/tcpwin-lab -duration 4s -delay 20ms -rate 1250000 -out /tmp/netlab-lab
for f in /tmp/netlab-lab/*.pcap; do tcpdump -r $f -c 200 -w tcpwin/testdata/lab/$(basename $f); done
# (scripts/lab-captures.sh does both steps)
