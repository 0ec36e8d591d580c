# Version: Ostermann's tcptrace -- version 6.6.7 -- Thu Nov  4, 2004
tcptrace -l -n retina-tls_ciphers.pcap
