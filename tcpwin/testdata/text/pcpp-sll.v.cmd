# run in tcpwin/ with tcpdump version 4.99.3
tcpdump -nn -v -r ../../shared/captures/pcpp-sll.pcap 2>/dev/null
