package tcpwin_test

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/bulletproof-labs/wsvcb/tcpwin"
)

// Open detects the format (pcap, pcapng or tcpdump text) and yields the
// TCP segments; frames are numbered as in Wireshark.
func ExampleOpen() {
	src, err := tcpwin.Open("testdata/linktypes/multi-if-be.pcapng")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()
	fmt.Println("format:", src.Format())
	for i := 0; i < 3; i++ {
		s, err := src.Next()
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("frame %d %v:%d > %v:%d flags %#02x win %d options %x\n",
			s.Frame, s.Src, s.SrcPort, s.Dst, s.DstPort, uint16(s.Flags), s.Window, s.Options)
	}
	// Output:
	// format: pcapng
	// frame 1 192.0.2.10:33000 > 198.51.100.20:80 flags 0x02 win 64240 options 020405b40402080a000001000000000001030307
	// frame 2 198.51.100.20:80 > 192.0.2.10:33000 flags 0x12 win 65160 options 020405780103030204020101
	// frame 3 192.0.2.10:33000 > 198.51.100.20:80 flags 0x10 win 502 options 0101080a0000011000000200
}

// NewReader reads the text tcpdump printed, here the 2006 paste from the
// blog post, with its five packets collapsed on one line and no addresses:
// the directions are inferred (TextPeerA sent the first SYN).
func ExampleNewReader() {
	paste := "tcpdump: listening on bond0 > S 0:0 win 5840 <mss 1460,sackOK,timestamp 94318 0,nop,wscale 6> (DF) > " +
		"S 0:0(0) ack 1 win 5840<mss 1460,nop,wscale 2> (DF) > . ack 1 win 92 (DF) > P 1:352(351) ack 1 win 92 (DF) > " +
		". ack 352 win 1608 (DF)\n"
	src, err := tcpwin.NewReader(strings.NewReader(paste), "paste")
	if err != nil {
		fmt.Println(err)
		return
	}
	for {
		s, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%d %v > %v win %d len %d options [%x]\n", s.Frame, s.Src, s.Dst, s.Window, s.PayloadLen, s.Options)
	}
	// Output:
	// 1 192.0.2.1 > 192.0.2.2 win 5840 len 0 options [020405b40402080a0001706e0000000001030306]
	// 2 192.0.2.2 > 192.0.2.1 win 5840 len 0 options [020405b401030302]
	// 3 192.0.2.1 > 192.0.2.2 win 92 len 0 options []
	// 4 192.0.2.1 > 192.0.2.2 win 92 len 351 options []
	// 5 192.0.2.2 > 192.0.2.1 win 1608 len 0 options []
}
