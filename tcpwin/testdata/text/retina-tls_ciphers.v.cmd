# run in tcpwin/ with tcpdump version 4.99.3
tcpdump -nn -v -r ../../shared/captures/retina-tls_ciphers.pcap 2>/dev/null
