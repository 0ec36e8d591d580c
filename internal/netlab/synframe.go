package netlab

import "encoding/binary"

// ExampleSYN returns an Ethernet/IPv4/TCP SYN from 10.66.0.1:40000 to
// 10.66.0.2:5001 with the options Linux sends (mss 1460, sackOK, TS, nop,
// wscale shift) and a valid checksum, for examples and tests.
func ExampleSYN(shift byte) []byte { return synFrameFlags(shift, 0x02) }

func synFrameFlags(shift byte, flags byte) []byte {
	opts := []byte{2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, shift}
	tcp := make([]byte, 20+len(opts))
	binary.BigEndian.PutUint16(tcp[0:], 40000)
	binary.BigEndian.PutUint16(tcp[2:], 5001)
	binary.BigEndian.PutUint32(tcp[4:], 12345)
	tcp[12] = byte(len(tcp)/4) << 4
	tcp[13] = flags
	binary.BigEndian.PutUint16(tcp[14:], 64240)
	copy(tcp[20:], opts)
	ip := make([]byte, 20)
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(tcp)))
	ip[6] = 0x40 // DF
	ip[8] = 64
	ip[9] = protoTCP
	copy(ip[12:], []byte{10, 66, 0, 1, 10, 66, 0, 2})
	binary.BigEndian.PutUint16(ip[10:], ^fold(sumBytes(0, ip)))
	eth := make([]byte, 14)
	binary.BigEndian.PutUint16(eth[12:], etherTypeIPv4)
	f := append(append(eth, ip...), tcp...)
	setTCPChecksum(f[14:], f[34:], false)
	return f
}
