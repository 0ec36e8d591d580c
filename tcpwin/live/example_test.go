package live_test

import (
	"fmt"

	"github.com/bulletproof-labs/wsvcb/tcpwin"
	"github.com/bulletproof-labs/wsvcb/tcpwin/live"
)

// The kernel filter for handshakes on an Ethernet interface, disassembled.
func ExampleFilter() {
	prog, err := live.Filter(tcpwin.LinkEthernet, true, 256)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range prog {
		fmt.Println(r.Disassemble().(fmt.Stringer))
	}
	// Output:
	// ldh [12]
	// jeq #2048,1
	// jeq #34525,7,12
	// ldb [23]
	// jneq #6,10
	// ldh [20]
	// jset #8191,8
	// ldx 4*([14]&0xf)
	// ldb [x + 27]
	// jset #2,4,5
	// ldb [20]
	// jneq #6,3
	// ldb [67]
	// jset #2,0,1
	// ret #256
	// ret #0
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
