package netlab

import (
	"bytes"
	"testing"
)

func synFrame(shift byte, ack bool) []byte {
	if ack {
		return synFrameFlags(shift, 0x12)
	}
	return synFrameFlags(shift, 0x02)
}

func TestRewriteFrame(t *testing.T) {
	tests := []struct {
		name   string
		shift  byte
		dir    Direction
		rules  []Rule
		want   Edit
		wantSh int // shift left in the frame, -1 none
	}{
		{"seed 6->0", 6, ClientToServer, []Rule{Rewrite(ClientToServer, 6, 0)}, Edit{SYN: true, OldShift: 6, NewShift: 0, Rewritten: true}, 0},
		{"no match other shift", 7, ClientToServer, []Rule{Rewrite(ClientToServer, 6, 0)}, Edit{SYN: true, OldShift: 7, NewShift: 7}, 7},
		{"other direction", 6, ServerToClient, []Rule{Rewrite(ClientToServer, 6, 0)}, Edit{SYN: true, ACK: true, OldShift: 6, NewShift: 6}, 6},
		{"any -> 3", 10, ServerToClient, []Rule{Rewrite(BothDirections, AnyShift, 3)}, Edit{SYN: true, ACK: true, OldShift: 10, NewShift: 3, Rewritten: true}, 3},
		{"above 2 keeps 2", 2, ClientToServer, []Rule{SeedRule}, Edit{SYN: true, OldShift: 2, NewShift: 2}, 2},
		{"above 2 rewrites 7", 7, ClientToServer, []Rule{SeedRule}, Edit{SYN: true, OldShift: 7, NewShift: 0, Rewritten: true}, 0},
		{"strip", 7, ClientToServer, []Rule{Strip(ClientToServer)}, Edit{SYN: true, OldShift: 7, NewShift: -1, Stripped: true}, -1},
		{"no rules", 7, ClientToServer, nil, Edit{SYN: true, OldShift: 7, NewShift: 7}, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := synFrame(tt.shift, tt.dir == ServerToClient)
			orig := append([]byte(nil), f...)
			got := RewriteFrame(f, tt.dir, tt.rules)
			if got != tt.want {
				t.Fatalf("edit = %+v, want %+v", got, tt.want)
			}
			if !TCPChecksumOK(f) {
				t.Fatal("bad checksum after edit")
			}
			_, seg, _, _ := tcpSegment(f)
			at := wscaleOffset(seg)
			sh := -1
			if at >= 0 {
				sh = int(seg[at+2])
			}
			if sh != tt.wantSh {
				t.Fatalf("frame shift %d, want %d", sh, tt.wantSh)
			}
			if !got.Changed() && !bytes.Equal(f, orig) {
				t.Fatal("frame modified without an edit")
			}
			if len(f) != len(orig) {
				t.Fatal("length changed")
			}
		})
	}
}

func TestRewriteFrameIgnoresNonSYN(t *testing.T) {
	f := synFrame(6, false)
	f[14+20+13] = 0x10 // plain ACK carrying a wscale option (nmap-style)
	setTCPChecksum(f[14:], f[34:], false)
	if e := RewriteFrame(f, ClientToServer, []Rule{Strip(BothDirections)}); e.SYN || e.Changed() {
		t.Fatalf("non-SYN edited: %+v", e)
	}
}

func FuzzRewriteFrame(f *testing.F) {
	f.Add(synFrame(6, false), uint8(1), uint8(0))
	f.Add(synFrame(14, true), uint8(2), uint8(1))
	f.Add([]byte{}, uint8(3), uint8(0))
	f.Add(synFrame(6, false)[:40], uint8(1), uint8(1))
	f.Fuzz(func(t *testing.T, frame []byte, dir, action uint8) {
		rules := []Rule{Rewrite(BothDirections, AnyShift, 0)}
		if action&1 == 1 {
			rules = []Rule{Strip(BothDirections)}
		}
		orig := append([]byte(nil), frame...)
		e := RewriteFrame(frame, Direction(dir&3), rules)
		if len(frame) != len(orig) {
			t.Fatal("length changed")
		}
		if !e.Changed() && !bytes.Equal(frame, orig) {
			t.Fatal("modified without an edit")
		}
		if e.Changed() && !TCPChecksumOK(frame) {
			t.Fatal("edited frame has a bad checksum")
		}
	})
}

func BenchmarkRewriteFrame(b *testing.B) {
	rules := []Rule{SeedRule}
	data := synFrame(10, false)
	ack := synFrame(10, false)
	ack[14+20+13] = 0x10
	b.Run("SYN", func(b *testing.B) {
		f := make([]byte, len(data))
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			copy(f, data)
			RewriteFrame(f, ClientToServer, rules)
		}
	})
	b.Run("ACK", func(b *testing.B) {
		b.SetBytes(int64(len(ack)))
		for b.Loop() {
			RewriteFrame(ack, ClientToServer, rules)
		}
	})
}
