# TShark (Wireshark) 4.0.17 (Git v4.0.17 packaged as 4.0.17-0+deb12u3).
tshark -r arkime-v6.pcap -Y tcp.flags.syn==1 -T fields -E header=y -e frame.number -e ip.src -e ipv6.src -e ip.dst -e ipv6.dst -e tcp.srcport -e tcp.dstport -e tcp.flags.syn -e tcp.flags.ack -e tcp.window_size_value -e tcp.options.mss_val -e tcp.options.wscale.shift -e tcp.options.sack_perm -e tcp.options.timestamp.tsval
