package live_test

import (
	"testing"

	"github.com/bulletproof-labs/wsvcb/internal/testenv"
	"github.com/bulletproof-labs/wsvcb/tcpwin"
	"github.com/bulletproof-labs/wsvcb/tcpwin/live"
)

// TestVLANInjected sends tagged SYNs into a veth pair: the receiving
// kernel moves an outer 802.1Q/802.1ad tag into the packet's metadata
// before packet sockets see the frame, so the filter meets the inner tag
// in-band; a pre-standard 0x9100 outer tag is not stripped, so both tags
// stay in-band. Every SYN must be captured and decoded, in both modes.
func TestVLANInjected(t *testing.T) {
	testenv.RequireRoot(t)
	v := newVeth(t)
	specs := []struct {
		name     string
		spec     live.FrameSpec
		stripped bool // the kernel moves the outer tag into metadata
	}{
		{"802.1Q", live.FrameSpec{Tags: []uint16{0x8100}, Flags: 0x02}, true},
		{"802.1ad+802.1Q", live.FrameSpec{Tags: []uint16{0x88a8, 0x8100}, Flags: 0x02}, true},
		{"0x9100+802.1Q", live.FrameSpec{Tags: []uint16{0x9100, 0x8100}, Flags: 0x02}, false},
		{"802.1ad+802.1Q IPv6", live.FrameSpec{Tags: []uint16{0x88a8, 0x8100}, V6: true, Ext: []live.ExtHdr{{Proto: 0}, {Proto: 43, Units: 2}, {Proto: 60}}, Flags: 0x02}, true},
		{"IPv6 hbh+dst", live.FrameSpec{V6: true, Ext: []live.ExtHdr{{Proto: 0}, {Proto: 60, Units: 1}}, Flags: 0x02}, false},
	}
	for _, mode := range []live.Mode{live.ModeRing, live.ModeRecv} {
		for _, sc := range specs {
			name, spec := sc.name, sc.spec
			src := v.Open(t, &live.Config{Mode: mode, SYNOnly: true})
			// VLAN filters: the frames' outer tag has VID 100.
			vid100 := v.Open(t, &live.Config{Mode: mode, SYNOnly: true, VLAN: 100})
			vid200 := v.Open(t, &live.Config{Mode: mode, SYNOnly: true, VLAN: 200})
			const n = 10
			frames := make([][]byte, n)
			for i := range frames {
				spec.Port = uint16(2000 + i)
				frames[i] = live.BuildFrame(spec)
			}
			// An ACK that the SYN-only filter must drop.
			spec.Flags = 0x10
			frames = append(frames, live.BuildFrame(spec))
			if err := v.Send(frames); err != nil {
				t.Fatal(err)
			}
			readAll := func(src *live.Source, what string) {
				for i := range n {
					seg, err := src.Next()
					if err != nil {
						t.Fatalf("%v %s%s: segment %d: %v", mode, name, what, i+1, err)
					}
					if int(seg.SrcPort) != 2000+i || seg.DstPort != 5001 || !seg.Flags.Has(tcpwin.FlagSYN) {
						t.Fatalf("%v %s%s: segment %d: %+v", mode, name, what, i+1, seg)
					}
				}
			}
			readAll(src, "")
			tagged := len(spec.Tags) > 0
			if tagged {
				readAll(vid100, " (VLAN 100)")
			}
			for _, vs := range []struct {
				src  *live.Source
				want uint64
			}{{vid100, map[bool]uint64{true: n}[tagged]}, {vid200, 0}} {
				st, err := vs.src.Stats()
				if err != nil {
					t.Fatal(err)
				}
				if st.Received != vs.want {
					t.Errorf("%v %s: VLAN filter passed %d frames, want %d", mode, name, st.Received, vs.want)
				}
				vs.src.Close()
			}
			st, err := src.Stats()
			if err != nil {
				t.Fatal(err)
			}
			if st.Received != n || st.Dropped != 0 {
				t.Errorf("%v %s: %+v, want exactly the %d SYNs", mode, name, st, n)
			}
			if want := uint64(0); mode == live.ModeRing {
				if sc.stripped {
					want = n
				}
				if st.VLANOffloaded != want {
					t.Errorf("%v %s: %d frames with an offloaded tag, want %d", mode, name, st.VLANOffloaded, want)
				}
			}
			src.Close()
		}
	}
}
