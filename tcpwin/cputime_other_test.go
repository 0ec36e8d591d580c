//go:build !linux

package tcpwin

import "time"

// cpuTime and threadCPUTime are measured on Linux only.
func cpuTime() time.Duration       { return 0 }
func threadCPUTime() time.Duration { return 0 }
