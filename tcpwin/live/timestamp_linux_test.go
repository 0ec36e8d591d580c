package live_test

import (
	"testing"
	"time"

	"github.com/bulletproof-labs/wsvcb/internal/testenv"
	"github.com/bulletproof-labs/wsvcb/tcpwin/live"
)

// TestKernelTimestamps: both receive paths stamp a segment with the time
// the kernel received it, not the time it was read, so a reader that
// falls behind does not bunch up the segments' round trips. A frame read
// a quarter of a second after it was sent must carry the earlier time.
func TestKernelTimestamps(t *testing.T) {
	testenv.RequireRoot(t)
	v := newVeth(t)
	for _, mode := range []live.Mode{live.ModeRing, live.ModeRecv} {
		src := v.Open(t, &live.Config{Mode: mode, SYNOnly: true})
		before := time.Now()
		if err := v.Send([][]byte{live.BuildFrame(live.FrameSpec{Flags: 0x02, Port: 3000})}); err != nil {
			t.Fatal(err)
		}
		sent := time.Now()
		time.Sleep(250 * time.Millisecond) // the reader falls behind
		seg, err := src.Next()
		if err != nil {
			t.Fatalf("%v: %v", mode, err)
		}
		read := time.Now()
		// The kernel stamps the frame while the send runs (veth hands it
		// over in the sender's softirq) or just after: far closer to the
		// send than to the read, whatever the machine's load.
		if seg.Time.Before(before.Add(-time.Second)) || seg.Time.After(read.Add(-200*time.Millisecond)) {
			t.Errorf("%v: segment stamped %v after the send started, read %v after it: not the kernel's receive time",
				mode, seg.Time.Sub(before), read.Sub(before))
		}
		t.Logf("%v: stamped %v after the send (which took %v), read after %v", mode, seg.Time.Sub(before), sent.Sub(before), read.Sub(before))
	}
}
