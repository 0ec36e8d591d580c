package tcpwin

import (
	"encoding/binary"
	"testing"
	"time"
)

// FuzzTracker drives a small tracker (MaxConns 3, IdleTimeout 1s) with
// arbitrary segment sequences and checks its invariants.
func FuzzTracker(f *testing.F) {
	f.Add([]byte{0x02, 0, 0xfa, 0xf0, 1, 1, 0x12, 1, 0xfe, 0x88, 2, 1, 0x10, 0, 0, 92, 0, 1})
	f.Add([]byte{0x02, 0, 1, 0, 3, 0, 0x02, 1, 1, 0, 3, 0, 0x11, 0, 0, 0, 0, 200, 0x11, 1, 0, 0, 0, 200, 0x02, 0, 0, 1, 1, 1})
	f.Add([]byte{0x10, 2, 0xff, 0xff, 4, 0, 0x10, 3, 0xff, 0xff, 4, 0, 0x10, 4, 0xff, 0xff, 4, 0, 0x10, 5, 0, 0, 0, 255})
	opts := [][]byte{nil, trkSYNOpts(7), trkSYNOpts(-1), trkSYNOpts(15), {3, 3, 10, 1}, {3, 4, 1}, {8, 10, 1}}
	f.Fuzz(func(t *testing.T, b []byte) {
		closes := 0
		tr := NewTracker(&Config{MaxConns: 3, IdleTimeout: time.Second, OnClose: func(*Conn) { closes++ }})
		now := trkT0
		for i := 0; i+6 <= len(b); i += 6 {
			op := b[i : i+6]
			port := uint16(op[1] >> 1 & 7)
			seg := &Segment{
				Frame: i/6 + 1, Src: trkCli, Dst: trkSrv, SrcPort: 40000 + port, DstPort: 80,
				Flags: Flags(op[0]), Window: binary.BigEndian.Uint16(op[2:]),
				Options: opts[int(op[4])%len(opts)], Seq: uint32(op[4] >> 4),
			}
			if op[1]&1 == 1 {
				seg.Src, seg.Dst, seg.SrcPort, seg.DstPort = seg.Dst, seg.Src, seg.DstPort, seg.SrcPort
			}
			now = now.Add(time.Duration(op[5]) * 10 * time.Millisecond)
			seg.Time = now
			r := tr.Observe(seg)
			if r.Conn == nil || r.Window > MaxScaledWindow {
				t.Fatalf("result %+v", r)
			}
			if r.Conn.dirOf(seg) != r.Dir {
				t.Fatal("direction")
			}
			if m := r.Multiplier(); m != -1 && m != -2 && (m < 1 || m > 1<<MaxShift) {
				t.Fatalf("multiplier %d", m)
			}
			if r.Scale != ScaleOn && !seg.Flags.Has(FlagSYN) && r.Window != uint32(seg.Window) {
				t.Fatal("unscaled window changed")
			}
			if st := tr.Stats(); st.Live > 3 {
				t.Fatalf("live %d", st.Live)
			}
		}
		tr.Flush()
		if st := tr.Stats(); st.Live != 0 || st.Conns != uint64(closes) || st.Reused+st.Evicted+st.Expired > st.Conns {
			t.Fatalf("stats %+v", st)
		}
	})
}
