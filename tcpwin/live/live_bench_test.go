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
	for _, bc := range []struct {
		mode    live.Mode
		synOnly bool
	}{{live.ModeRing, false}, {live.ModeRecv, false}, {live.ModeRing, true}, {live.ModeRecv, true}} {
		synOnly := bc.synOnly
		name := "all-tcp"
		if synOnly {
			name = "syn-only"
		}
		b.Run("mode="+bc.mode.String()+"/"+name, func(b *testing.B) {
			var src *live.Source
			if err := lab.Client.Do(func() error {
				var err error
				src, err = live.Open(lab.ClientIf, &live.Config{SYNOnly: synOnly, Mode: bc.mode})
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
			drain(src)
			src.Close()
			n := <-segs
			st, _ := src.Stats()
			b.ReportMetric(float64(n)/el.Seconds(), "segments/s")
			b.ReportMetric(float64(st.Dropped), "drops")
			b.ReportMetric(float64(st.Received), "received")
		})
	}
}

// drain waits until the reader has read every frame the kernel queued
// (Frames + Dropped reach Received), or a second passes without progress.
func drain(src *live.Source) {
	var last uint64
	idle := 0
	for idle < 1000 {
		st, err := src.Stats()
		if err != nil || st.Frames+st.Dropped >= st.Received {
			return
		}
		if st.Frames == last {
			idle++
		} else {
			idle, last = 0, st.Frames
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkCapture measures the receive paths alone: a generator in a
// fresh namespace sends small TCP segments (74-byte frames, ACKs with 20
// option bytes, varying ports) with sendmmsg on one end of a veth pair as
// fast as it can, and a reader decodes every segment captured on the other
// end with the all-TCP filter. One op is one frame sent. It reports the
// segments read per second and the kernel's drops per frame sent (the
// generator outpaces the reader on purpose). Needs root; skipped otherwise.
//
//	go test -run '^$' -bench BenchmarkCapture -count 10 ./tcpwin/live/
func BenchmarkCapture(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root (network namespaces)")
	}
	const batch = 256
	frames := make([][]byte, batch)
	for i := range frames {
		frames[i] = live.BuildFrame(live.FrameSpec{Flags: 0x10, Port: uint16(10000 + i),
			TCPOpts: []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1, 1, 1, 1, 1, 1, 1}})
	}
	for _, mode := range []live.Mode{live.ModeRing, live.ModeRecv} {
		b.Run("mode="+mode.String(), func(b *testing.B) {
			v := newVeth(b)
			src := v.Open(b, &live.Config{Mode: mode})
			if src.Mode() != mode {
				b.Fatalf("mode %v, want %v (%v)", src.Mode(), mode, src.RingError())
			}
			done := make(chan uint64, 1)
			go func() {
				var n uint64
				for {
					_, err := src.Next()
					if errors.Is(err, io.EOF) {
						break
					}
					if err == nil {
						n++
					}
				}
				done <- n
			}()
			start := time.Now()
			for sent := 0; sent < b.N; sent += batch {
				if err := v.Send(frames[:min(batch, b.N-sent)]); err != nil {
					b.Fatal(err)
				}
			}
			drain(src)
			el := time.Since(start)
			b.StopTimer()
			st, _ := src.Stats()
			src.Close()
			n := <-done
			b.ReportMetric(float64(n)/el.Seconds(), "segs/s")
			b.ReportMetric(float64(st.Dropped)/float64(b.N), "drops/op")
			b.ReportMetric(float64(st.Freezes), "freezes")
			if n+st.Dropped != st.Received {
				b.Errorf("read %d + dropped %d != received %d", n, st.Dropped, st.Received)
			}
		})
	}
}

// BenchmarkReadPath measures the reader alone, without a competing
// generator: batches of 4096 small TCP segments (74-byte frames) are
// queued in the kernel first (ring blocks retired after 1 ms, or the
// socket's receive queue), then read and decoded by Next with the timer
// running. One op is one segment read; it reports ns per segment for the
// ring (no syscall per frame) and for recvfrom (one syscall per frame).
// Needs root; skipped otherwise.
//
//	go test -run '^$' -bench BenchmarkReadPath -count 6 ./tcpwin/live/
func BenchmarkReadPath(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root (network namespaces)")
	}
	const batch = 4096
	frames := make([][]byte, batch)
	for i := range frames {
		frames[i] = live.BuildFrame(live.FrameSpec{Flags: 0x10, Port: uint16(10000 + i),
			TCPOpts: []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1, 1, 1, 1, 1, 1, 1}})
	}
	for _, mode := range []live.Mode{live.ModeRing, live.ModeRecv} {
		b.Run("mode="+mode.String(), func(b *testing.B) {
			v := newVeth(b)
			src := v.Open(b, &live.Config{Mode: mode, BufferSize: 16 << 20, BlockTimeout: time.Millisecond})
			var sent uint64
			b.StopTimer()
			for done := 0; done < b.N; done += batch {
				k := min(batch, b.N-done)
				if err := v.Send(frames[:k]); err != nil {
					b.Fatal(err)
				}
				sent += uint64(k)
				for {
					st, err := src.Stats()
					if err != nil {
						b.Fatal(err)
					}
					if st.Dropped != 0 {
						b.Fatalf("kernel dropped %d frames", st.Dropped)
					}
					if st.Received >= sent {
						break
					}
					time.Sleep(100 * time.Microsecond)
				}
				time.Sleep(3 * time.Millisecond) // the ring retires the last block
				b.StartTimer()
				for range k {
					if _, err := src.Next(); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
			}
		})
	}
}
