# run in tcpwin/ with tcpdump version 4.99.3
tcpdump -nn -S -r ../../shared/captures/pcpp-sll.pcap 2>/dev/null
