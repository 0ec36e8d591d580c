# run in tcpwin/ with tcpdump version 4.99.3
tcpdump -nn -v -r ../../shared/captures/pcpp-raw_ip.pcap 2>/dev/null
