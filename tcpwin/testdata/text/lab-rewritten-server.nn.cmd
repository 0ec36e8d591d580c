# run in tcpwin/ with tcpdump version 4.99.3
tcpdump -nn -r testdata/lab/rewritten-server.pcap 2>/dev/null
