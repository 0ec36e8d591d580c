# TShark (Wireshark) 4.0.17 (Git v4.0.17 packaged as 4.0.17-0+deb12u3).
tshark -r arkime-modbus.pcap -Y tcp -T fields -E header=y -e frame.number -e tcp.flags.syn -e tcp.flags.ack -e tcp.window_size_value -e tcp.window_size_scalefactor -e tcp.window_size
