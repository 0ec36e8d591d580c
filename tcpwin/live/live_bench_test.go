package live_test

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/bulletproof-labs/wsvcb/internal/netlab"
	"github.com/bulletproof-labs/wsvcb/tcpwin"
	"github.com/bulletproof-labs/wsvcb/tcpwin/live"
)

// BenchmarkLiveLab captures a bulk transfer through the lab (no delay, no
// rate limit: as fast as the userspace middlebox forwards) on the client's
// interface, reading every TCP segment into a tracker; each iteration moves
// 4 MB. It reports the segments captured per second and the kernel's drops.
// Needs root; skipped otherwise.
func BenchmarkLiveLab(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root (network namespaces)")
	}
	lab, err := netlab.New(&netlab.Config{Prefix: "dgb"})
	if err != nil {
		b.Skip(err)
	}
	defer lab.Close()
	mb, err := netlab.StartMiddlebox(lab, &netlab.MiddleboxConfig{Rate: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer mb.Close()
	for _, synOnly := range []bool{false, true} {
		name := "all-tcp"
		if synOnly {
			name = "syn-only"
		}
		b.Run(name, func(b *testing.B) {
			var src *live.Source
			if err := lab.Client.Do(func() error {
				var err error
				src, err = live.Open(lab.ClientIf, &live.Config{SYNOnly: synOnly})
				return err
			}); err != nil {
				b.Fatal(err)
			}
			segs := make(chan uint64, 1)
			go func() {
				tr := tcpwin.NewTracker(nil)
				var n uint64
				for {
					seg, err := src.Next()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						continue
					}
					tr.Observe(seg)
					n++
				}
				segs <- n
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			addr := lab.ServerAddr.String() + ":5004"
			ln, err := lab.Server.Listen(ctx, addr, nil)
			if err != nil {
				b.Fatal(err)
			}
			go func() {
				buf := make([]byte, 64<<10)
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					for sent := 0; sent < 4<<20; sent += len(buf) {
						if _, err := c.Write(buf); err != nil {
							break
						}
					}
					c.Close()
				}
			}()
			b.SetBytes(4 << 20)
			start := time.Now()
			for b.Loop() {
				c, err := lab.Client.Dial(ctx, addr, nil)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, c)
				c.Close()
			}
			el := time.Since(start)
			ln.Close()
			time.Sleep(100 * time.Millisecond)
			src.Close()
			n := <-segs
			st, _ := src.Stats()
			b.ReportMetric(float64(n)/el.Seconds(), "segments/s")
			b.ReportMetric(float64(st.Dropped), "drops")
			b.ReportMetric(float64(st.Received), "received")
		})
	}
}
