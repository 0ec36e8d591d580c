package live

import "encoding/binary"

// extHdr is one IPv6 extension header for frameSpec: its protocol number
// and its length in 8-octet units beyond the first 8 (the Hdr Ext Len
// field; ignored for fragment headers, which are always 8 bytes).
type extHdr struct {
	Proto byte
	Units byte
	Frag  uint16 // fragment headers: offset in 8-octet units
	More  bool   // fragment headers: M flag
}

// frameSpec describes a crafted Ethernet frame for the filter tests.
type frameSpec struct {
	Tags    []uint16 // TPIDs of in-band VLAN tags, outermost first
	VIDs    []uint16 // their VLAN IDs (default 100)
	V6      bool
	Ext     []extHdr // IPv6 extension headers, in order, before the upper layer
	Frag    uint16   // IPv4 fragment offset in 8-octet units
	More    bool     // IPv4 MF flag
	IPOpts  int      // IPv4 option bytes (multiple of 4)
	Proto   byte     // upper-layer protocol (default TCP)
	Flags   byte     // TCP flags
	TCPOpts []byte   // TCP options (padded to 4 bytes)
	Payload int
	Port    uint16 // source port (default 40000)
}

// buildFrame returns the frame; addresses are fixed, MACs are zero (so a
// receiving veth sees it as PACKET_OTHERHOST), checksums are not set.
func buildFrame(s frameSpec) []byte {
	proto := s.Proto
	if proto == 0 {
		proto = 6
	}
	port := s.Port
	if port == 0 {
		port = 40000
	}
	opts := append([]byte(nil), s.TCPOpts...)
	for len(opts)%4 != 0 {
		opts = append(opts, 0)
	}
	var l4 []byte
	if proto == 6 {
		l4 = make([]byte, 20+len(opts)+s.Payload)
		binary.BigEndian.PutUint16(l4[0:], port)
		binary.BigEndian.PutUint16(l4[2:], 5001)
		binary.BigEndian.PutUint32(l4[4:], 1000)
		binary.BigEndian.PutUint32(l4[8:], 2000)
		l4[12] = byte((20+len(opts))/4) << 4
		l4[13] = s.Flags
		binary.BigEndian.PutUint16(l4[14:], 502)
		copy(l4[20:], opts)
	} else {
		l4 = make([]byte, 8+s.Payload) // UDP-sized stub
	}
	f := make([]byte, 12, 128)
	for i, tpid := range s.Tags {
		tci := uint16(0xe000 | 100) // PCP 7, VID 100
		if i < len(s.VIDs) {
			tci = 0xe000 | s.VIDs[i]
		}
		f = binary.BigEndian.AppendUint16(f, tpid)
		f = binary.BigEndian.AppendUint16(f, tci)
	}
	if s.V6 {
		f = binary.BigEndian.AppendUint16(f, 0x86dd)
		var exts []byte
		next := func(i int) byte {
			if i+1 < len(s.Ext) {
				return s.Ext[i+1].Proto
			}
			return proto
		}
		for i, e := range s.Ext {
			if e.Proto == 44 {
				h := make([]byte, 8)
				h[0] = next(i)
				v := e.Frag << 3
				if e.More {
					v |= 1
				}
				binary.BigEndian.PutUint16(h[2:], v)
				binary.BigEndian.PutUint32(h[4:], 0xabcd)
				exts = append(exts, h...)
				continue
			}
			if e.Proto == 51 { // AH, RFC 4302: length in 4-octet units minus 2
				h := make([]byte, 4*(int(e.Units)+2))
				h[0] = next(i)
				h[1] = e.Units
				exts = append(exts, h...)
				continue
			}
			h := make([]byte, 8*(int(e.Units)+1))
			h[0] = next(i)
			h[1] = e.Units
			if e.Proto == 43 {
				h[2] = 4 // segment routing header type; segments left 0
			} else {
				h[2] = 1 // PadN over the rest of the header
				h[3] = byte(len(h) - 4)
			}
			exts = append(exts, h...)
		}
		ip := make([]byte, 40)
		ip[0] = 0x60
		binary.BigEndian.PutUint16(ip[4:], uint16(len(exts)+len(l4)))
		ip[6] = proto
		if len(s.Ext) > 0 {
			ip[6] = s.Ext[0].Proto
		}
		ip[7] = 64
		ip[8], ip[23] = 0x20, 1
		ip[24], ip[39] = 0x20, 2
		f = append(f, ip...)
		f = append(f, exts...)
	} else {
		f = binary.BigEndian.AppendUint16(f, 0x0800)
		ip := make([]byte, 20+s.IPOpts)
		ip[0] = 0x40 | byte(len(ip)/4)
		binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)+len(l4)))
		v := s.Frag
		if s.More {
			v |= 0x2000
		}
		binary.BigEndian.PutUint16(ip[6:], v)
		ip[8] = 64
		ip[9] = proto
		copy(ip[12:], []byte{10, 66, 0, 1, 10, 66, 0, 2})
		for i := 20; i < len(ip); i++ {
			ip[i] = 1 // NOP options
		}
		f = append(f, ip...)
	}
	return append(f, l4...)
}
