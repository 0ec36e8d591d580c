package live_test

import (
	"fmt"

	"github.com/bulletproof-labs/wsvcb/tcpwin"
	"github.com/bulletproof-labs/wsvcb/tcpwin/live"
)

// The kernel filter for handshakes on an Ethernet interface: its length
// and, disassembled, the part that skips VLAN tags.
func ExampleFilter() {
	prog, err := live.Filter(tcpwin.LinkEthernet, true, 256)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(prog), "instructions")
	for _, r := range prog[:14] {
		fmt.Println(r.Disassemble().(fmt.Stringer))
	}
	// Output:
	// 203 instructions
	// ldh [12]
	// jeq #33024,4
	// jeq #34984,3
	// jeq #37120,2
	// ldx #14
	// ja 8
	// ldh [16]
	// jeq #33024,4
	// jeq #34984,3
	// jeq #37120,2
	// ldx #18
	// ja 2
	// ldh [20]
	// ldx #22
}

// Capturing live: Open in the network namespace to watch, then read
// segments like from any tcpwin.Source.
func ExampleOpen() {
	src, err := live.Open("eth0", &live.Config{SYNOnly: true})
	if err != nil {
		fmt.Println("no capture:", err != nil)
		return
	}
	defer src.Close()
	tr := tcpwin.NewTracker(nil)
	for i := 0; i < 2; i++ {
		seg, err := src.Next()
		if err != nil {
			break
		}
		r := tr.Observe(seg)
		fmt.Println(r.Options.Shift)
	}
}
