package tcpwin

import (
	"time"

	"golang.org/x/sys/unix"
)

// cpuTime returns the process's CPU time (CLOCK_PROCESS_CPUTIME_ID, exact,
// not tick-sampled): on a loaded machine CPU time per packet compares runs
// better than wall time.
func cpuTime() time.Duration { return clock(unix.CLOCK_PROCESS_CPUTIME_ID) }

// threadCPUTime returns the calling thread's CPU time; lock the goroutine
// to its thread (runtime.LockOSThread) to measure one goroutine.
func threadCPUTime() time.Duration { return clock(unix.CLOCK_THREAD_CPUTIME_ID) }

func clock(id int32) time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(id, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
