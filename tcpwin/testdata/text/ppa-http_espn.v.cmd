# run in tcpwin/ with tcpdump version 4.99.3
tcpdump -nn -v -r ../../shared/captures/ppa-http_espn.pcapng 2>/dev/null
