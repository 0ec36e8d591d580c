# run in tcpwin/ with tcpdump version 4.99.3
tcpdump -nn -v -r ../../shared/captures/arkime-modbus.pcap 2>/dev/null
