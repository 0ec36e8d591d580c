# run in tcpwin/ with tcpdump version 4.99.3
tcpdump -nn -r testdata/lab/rewritten-client.pcap 2>/dev/null
