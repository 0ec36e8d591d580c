package tcpwin

import (
	"encoding/binary"
	"errors"
	"testing"
)

func FuzzDecodeFrame(f *testing.F) {
	for _, p := range allIP() {
		f.Add(uint16(LinkRaw), false, p, len(p))
		f.Add(uint16(LinkEthernet), false, ethFrame(p, etherTypeQinQ, etherTypeVLAN), len(p)+22)
		f.Add(uint16(LinkNFLOG), true, nflogFrame(p, binary.BigEndian), len(p)+40)
		f.Add(uint16(LinkSLL2), false, sll2FrameFull(p), 0)
	}
	f.Fuzz(func(t *testing.T, link uint16, hostBE bool, data []byte, wireLen int) {
		d := frameDecoder{hostBE: hostBE}
		var seg Segment
		ok, err := d.decode(&seg, LinkType(link), data, wireLen)
		if ok && err != nil {
			t.Fatal("ok with error")
		}
		if err != nil && !errors.Is(err, ErrBadFrame) && !errors.Is(err, ErrLinkType) {
			t.Fatalf("unexpected error kind: %v", err)
		}
		if ok && (len(seg.Options) > maxOptLen || len(seg.Options)%4 != 0) {
			t.Fatalf("options %x", seg.Options)
		}
	})
}
