# run in tcpwin/ with tcpdump version 4.99.3
tcpdump -nn -S -r testdata/linktypes/ethernet-vlan.pcap 2>/dev/null
