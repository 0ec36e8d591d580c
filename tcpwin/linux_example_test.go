package tcpwin_test

import (
	"fmt"

	"github.com/bulletproof-labs/wsvcb/tcpwin"
)

// The seed's second fix, tcp_rmem max 174760, gives shift 2 only while
// net.core.rmem_max stays below 256 KiB; with rmem_max 4 MiB the kernel
// still offers 7, unless the application also sets SO_RCVBUF.
func ExampleLinuxWScale() {
	rmem := [3]int{4096, 87380, 174760}
	for _, c := range []tcpwin.LinuxConfig{
		{TCPRmem: rmem, RmemMax: 212992},
		{TCPRmem: rmem, RmemMax: 4 << 20},
		{TCPRmem: rmem, RmemMax: 4 << 20, RcvBuf: 87380},
		{TCPRmem: rmem, RmemMax: 4 << 20, NoWindowScaling: true},
	} {
		shift, ok := tcpwin.LinuxWScale(c)
		fmt.Printf("rmem_max %7d SO_RCVBUF %5d scaling off %-5v -> shift %d offered %v\n", c.RmemMax, c.RcvBuf, c.NoWindowScaling, shift, ok)
	}
	// Output:
	// rmem_max  212992 SO_RCVBUF     0 scaling off false -> shift 2 offered true
	// rmem_max 4194304 SO_RCVBUF     0 scaling off false -> shift 7 offered true
	// rmem_max 4194304 SO_RCVBUF 87380 scaling off false -> shift 1 offered true
	// rmem_max 4194304 SO_RCVBUF     0 scaling off true  -> shift 0 offered false
}
