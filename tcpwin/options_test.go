package tcpwin

import (
	"bytes"
	"errors"
	"testing"
)

// optLinuxSYN is the options area of a Linux SYN: mss 1460, sackOK, TS, nop, wscale 7.
var optLinuxSYN = []byte{
	2, 4, 0x05, 0xb4,
	4, 2,
	8, 10, 0, 0, 0x30, 0x39, 0, 0, 0, 0,
	1,
	3, 3, 7,
}

func TestParseOptionsLinuxSYN(t *testing.T) {
	s, err := ParseOptions(optLinuxSYN)
	if err != nil {
		t.Fatal(err)
	}
	want := OptionSet{
		Present: HasMSS | HasSACKPermitted | HasTimestamps | HasWindowScale,
		MSS:     1460, Shift: 7, TSval: 12345,
	}
	if s != want {
		t.Errorf("got %+v, want %+v", s, want)
	}
}

func TestOptionIter(t *testing.T) {
	b := []byte{
		1, 1, // nop nop
		5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, // sack 2 blocks
		30, 4, 0x10, 0x01, // mptcp
		34, 6, 1, 2, 3, 4, // tfo cookie
		253, 4, 0xf9, 0x89, // experimental, unknown
		0, 9, 9, // eol + padding garbage
	}
	var kinds []OptionKind
	it := Options(b)
	for it.Next() {
		o := it.Option()
		kinds = append(kinds, o.Kind)
		switch o.Kind {
		case OptSACK:
			if o.SACKBlocks() != 2 {
				t.Errorf("blocks %d", o.SACKBlocks())
			}
			if l, r := o.SACKBlock(1); l != 3 || r != 4 {
				t.Errorf("block 1 = %d-%d", l, r)
			}
		case OptMPTCP:
			if !bytes.Equal(o.Data, []byte{0x10, 0x01}) || o.Offset != 20 {
				t.Errorf("mptcp %x at %d", o.Data, o.Offset)
			}
		case OptFastOpen:
			if len(o.Data) != 4 {
				t.Errorf("tfo %x", o.Data)
			}
		}
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	want := []OptionKind{OptNOP, OptNOP, OptSACK, OptMPTCP, OptFastOpen, 253, OptEOL}
	if !optSlicesEqual(kinds, want) {
		t.Errorf("kinds %v, want %v", kinds, want)
	}
	s, err := ParseOptions(b)
	if err != nil || s.Present != HasSACK|HasMPTCP|HasFastOpen|HasUnknown || s.SACKBlocks != 2 {
		t.Errorf("ParseOptions = %+v, %v", s, err)
	}
}

func optSlicesEqual[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		b      []byte
		offset int
		kind   OptionKind
		length int
		err    error
	}{
		{"mss len 3", []byte{2, 3, 5}, 0, OptMSS, 3, ErrOptionLength},
		{"mss truncated", []byte{1, 2, 4, 5}, 1, OptMSS, 4, ErrOptionTruncated},
		{"wscale len 4", []byte{3, 4, 7, 0}, 0, OptWindowScale, 4, ErrOptionLength},
		{"wscale no len", []byte{1, 1, 3}, 2, OptWindowScale, -1, ErrOptionTruncated},
		{"sackok len 3", []byte{4, 3, 0}, 0, OptSACKPermitted, 3, ErrOptionLength},
		{"sack len 2", []byte{5, 2}, 0, OptSACK, 2, ErrOptionLength},
		{"sack len 12", append([]byte{5, 12}, make([]byte, 10)...), 0, OptSACK, 12, ErrOptionLength},
		{"sack 5 blocks", append([]byte{5, 42}, make([]byte, 40)...), 0, OptSACK, 42, ErrOptionLength},
		{"ts len 8", []byte{8, 8, 0, 0, 0, 0, 0, 0}, 0, OptTimestamps, 8, ErrOptionLength},
		{"ts truncated", []byte{8, 10, 0, 0}, 0, OptTimestamps, 10, ErrOptionTruncated},
		{"unknown len 0", []byte{99, 0}, 0, 99, 0, ErrOptionLength},
		{"unknown len 1", []byte{99, 1, 1}, 0, 99, 1, ErrOptionLength},
		{"mptcp len 2", []byte{30, 2}, 0, OptMPTCP, 2, ErrOptionLength},
		{"tfo truncated", []byte{34, 18, 1}, 0, OptFastOpen, 18, ErrOptionTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseOptions(tc.b)
			var oe *OptionError
			if !errors.As(err, &oe) {
				t.Fatalf("err = %v, want *OptionError", err)
			}
			if !errors.Is(err, tc.err) || oe.Offset != tc.offset || oe.Kind != tc.kind || oe.Len != tc.length {
				t.Errorf("got %+v, want offset %d kind %d len %d %v", oe, tc.offset, tc.kind, tc.length, tc.err)
			}
			if oe.Error() == "" {
				t.Error("empty message")
			}
		})
	}
}

func TestParseOptionsPartial(t *testing.T) {
	// Options before the damage are kept.
	s, err := ParseOptions([]byte{2, 4, 5, 0xb4, 3, 3, 7, 8, 3})
	if err == nil || s.MSS != 1460 || s.Shift != 7 || !s.Has(HasMSS|HasWindowScale) {
		t.Errorf("got %+v, %v", s, err)
	}
}

func TestParseOptionsNoAlloc(t *testing.T) {
	n := testing.AllocsPerRun(100, func() {
		if _, err := ParseOptions(optLinuxSYN); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("ParseOptions allocates %v times", n)
	}
}

func FuzzOptions(f *testing.F) {
	f.Add(optLinuxSYN)
	f.Add([]byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2})
	f.Add([]byte{5, 10, 0, 0, 0, 1, 0, 0, 0, 2})
	f.Add([]byte{3, 3, 15, 0})
	f.Add([]byte{2, 255})
	f.Add([]byte{30, 3, 0})
	f.Add([]byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2})
	f.Add([]byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		it := Options(b)
		end := 0
		for it.Next() {
			o := it.Option()
			if o.Offset < end || o.Offset >= len(b) {
				t.Fatalf("offset %d out of order (end %d, len %d)", o.Offset, end, len(b))
			}
			switch o.Kind {
			case OptMSS:
				_ = o.MSS()
			case OptWindowScale:
				_ = o.Shift()
			case OptTimestamps:
				_, _ = o.Timestamps()
			case OptSACK:
				for i := 0; i < o.SACKBlocks(); i++ {
					_, _ = o.SACKBlock(i)
				}
			}
			end = o.Offset + 1
			if o.Data != nil {
				end = o.Offset + 2 + len(o.Data)
			}
		}
		err := it.Err()
		s, perr := ParseOptions(b)
		if (err == nil) != (perr == nil) {
			t.Fatalf("iterator err %v, ParseOptions err %v", err, perr)
		}
		if err != nil {
			var oe *OptionError
			if !errors.As(err, &oe) || !(errors.Is(err, ErrOptionLength) || errors.Is(err, ErrOptionTruncated)) {
				t.Fatalf("untyped error %v", err)
			}
			if oe.Offset < 0 || oe.Offset >= len(b) {
				t.Fatalf("error offset %d, len %d", oe.Offset, len(b))
			}
		}
		// ParseOptions (with its fast path) agrees with the iterator.
		var ts, ecr uint32
		var present OptionBits
		it2 := Options(b)
		for it2.Next() {
			switch o := it2.Option(); o.Kind {
			case OptTimestamps:
				present |= HasTimestamps
				ts, ecr = o.Timestamps()
			case OptWindowScale:
				present |= HasWindowScale
			case OptMSS:
				present |= HasMSS
			}
		}
		if mask := HasTimestamps | HasWindowScale | HasMSS; s.Present&mask != present {
			t.Fatalf("present %b, iterator %b", s.Present&mask, present)
		}
		if s.TSval != ts || s.TSecr != ecr {
			t.Fatalf("timestamps %d/%d, iterator %d/%d", s.TSval, s.TSecr, ts, ecr)
		}
	})
}

func BenchmarkOptionIter(b *testing.B) {
	b.ReportAllocs()
	n := 0
	for i := 0; i < b.N; i++ {
		it := Options(optLinuxSYN)
		for it.Next() {
			n += int(it.Option().Kind)
		}
	}
	_ = n
}
