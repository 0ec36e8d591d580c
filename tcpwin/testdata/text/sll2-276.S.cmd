# run in tcpwin/ with tcpdump version 4.99.3
tcpdump -nn -S -r testdata/linktypes/sll2-276.pcap 2>/dev/null
