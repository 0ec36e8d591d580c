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

// The filter for one VLAN of a trunk: the outer tag is read from the
// packet's metadata when the kernel stripped it (the ancillary loads
// SKF_AD_VLAN_TAG_PRESENT and SKF_AD_VLAN_TAG), or in-band otherwise.
func ExampleVLANFilter() {
	prog, err := live.VLANFilter(tcpwin.LinkEthernet, true, 256, 100)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range prog[:12] {
		fmt.Println(r.Disassemble().(fmt.Stringer))
	}
	// Output:
	// ld #vlan_avail
	// jeq #0,3
	// ld #vlan_tci
	// and #4095
	// jeq #100,7,209
	// ldh [12]
	// jeq #33024,2
	// jeq #34984,1
	// jneq #37120,205
	// ldh [14]
	// and #4095
	// jeq #100,6,202
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
