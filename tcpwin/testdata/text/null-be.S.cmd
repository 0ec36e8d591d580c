# run in tcpwin/ with tcpdump version 4.99.3
tcpdump -nn -S -r testdata/linktypes/null-be.pcap 2>/dev/null
