package tcpwin

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "linktypes", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// drain reads until an error, returning the segments' frames and the error.
func drain(src Source) ([]int, error) {
	var frames []int
	for {
		s, err := src.Next()
		if err != nil {
			return frames, err
		}
		frames = append(frames, s.Frame)
	}
}

func TestFormats(t *testing.T) {
	for name, want := range map[string]string{
		"ethernet.pcap": "pcap", "null-be.pcap": "pcap", "multi-if.pcapng": "pcapng", "multi-if-be.pcapng": "pcapng",
	} {
		src, err := Open(filepath.Join("testdata", "linktypes", name))
		if err != nil {
			t.Fatal(err)
		}
		if src.Format() != want {
			t.Errorf("%s: format %s, want %s", name, src.Format(), want)
		}
		if err := src.Close(); err != nil {
			t.Error(err)
		}
	}
}

// TestTruncated cuts a capture at every byte: every segment before the cut
// is returned, then a terminal *InputError naming the frame and offset.
func TestTruncated(t *testing.T) {
	for _, name := range []string{"ethernet.pcap", "multi-if-be.pcapng", "multi-if.pcapng"} {
		full := readFile(t, name)
		src, _ := NewReader(bytes.NewReader(full), name)
		all, err := drain(src)
		if err != io.EOF {
			t.Fatal(err)
		}
		for cut := 1; cut < len(full); cut++ {
			src, err := NewReader(bytes.NewReader(full[:cut]), name)
			if err != nil {
				var ie *InputError
				if !errors.As(err, &ie) || !errors.Is(err, ErrTruncated) {
					t.Fatalf("%s cut at %d: Open error %v", name, cut, err)
				}
				continue
			}
			got, err := drain(src)
			if err == io.EOF {
				// Cut exactly at a block boundary.
				if len(got) > len(all) {
					t.Fatalf("more segments than the full file")
				}
				continue
			}
			var ie *InputError
			if !errors.As(err, &ie) || !errors.Is(err, ErrTruncated) || ie.Name != name {
				t.Fatalf("%s cut at %d: %v, want truncated InputError", name, cut, err)
			}
			if ie.Offset > int64(cut) || ie.Offset < 0 {
				t.Fatalf("%s cut at %d: offset %d", name, cut, ie.Offset)
			}
			if len(got) > len(all) || !equalInts(got, all[:len(got)]) {
				t.Fatalf("%s cut at %d: frames %v, want prefix of %v", name, cut, got, all)
			}
			if _, again := src.Next(); again != err {
				t.Fatalf("error is not sticky: %v then %v", err, again)
			}
		}
	}
}

func equalInts(a, b []int) bool {
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

func TestPcapErrors(t *testing.T) {
	good := readFile(t, "ethernet.pcap")
	t.Run("unknown link type", func(t *testing.T) {
		b := append([]byte(nil), good...)
		binary.LittleEndian.PutUint32(b[20:], 147)
		_, err := NewReader(bytes.NewReader(b), "x.pcap")
		var ie *InputError
		if !errors.As(err, &ie) || !errors.Is(err, ErrLinkType) || ie.Offset != 20 {
			t.Fatalf("got %v", err)
		}
		if !strings.Contains(err.Error(), "x.pcap") || !strings.Contains(err.Error(), "linktype 147") {
			t.Errorf("message %q", err)
		}
	})
	t.Run("garbage record", func(t *testing.T) {
		// Frame 3's captured length becomes huge.
		b := append([]byte(nil), good...)
		off := 24
		for range 2 {
			off += 16 + int(binary.LittleEndian.Uint32(b[off+8:]))
		}
		binary.LittleEndian.PutUint32(b[off+8:], 0xfffffff0)
		src, _ := NewReader(bytes.NewReader(b), "g.pcap")
		frames, err := drain(src)
		var ie *InputError
		if !errors.As(err, &ie) || !errors.Is(err, ErrFormat) || ie.Frame != 3 || ie.Offset != int64(off) {
			t.Fatalf("got %v (%+v)", err, ie)
		}
		if !equalInts(frames, []int{2}) { // frame 1 is ARP
			t.Errorf("frames before the damage: %v", frames)
		}
		if want := "g.pcap: frame 3 (offset "; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("message %q", err)
		}
	})
	t.Run("bad frame continues", func(t *testing.T) {
		b := append([]byte(nil), good...)
		off := 24
		off += 16 + int(binary.LittleEndian.Uint32(b[off+8:])) // skip ARP
		b[off+16+14] = 0x43                                    // frame 2: IHL 3
		src, _ := NewReader(bytes.NewReader(b), "bad.pcap")
		_, err := src.Next()
		var ie *InputError
		if !errors.As(err, &ie) || !errors.Is(err, ErrBadFrame) || ie.Frame != 2 || ie.Offset != int64(off) {
			t.Fatalf("got %v", err)
		}
		s, err := src.Next()
		if err != nil || s.Frame != 3 {
			t.Fatalf("after a bad frame: %v %v", s, err)
		}
	})
	t.Run("empty", func(t *testing.T) {
		if _, err := NewReader(bytes.NewReader(nil), "e"); !errors.Is(err, ErrFormat) {
			t.Errorf("got %v", err)
		}
	})
	t.Run("binary garbage", func(t *testing.T) {
		_, err := NewReader(bytes.NewReader([]byte{0xde, 0xad, 0xbe, 0xef, 0, 1, 2}), "junk")
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "junk") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		if _, err := Open("testdata/nonexistent.pcap"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("got %v", err)
		}
	})
}

func TestPcapVariants(t *testing.T) {
	ts := time.Date(2006, 11, 14, 9, 30, 1, 123456789, time.UTC)
	frame := synV4()
	for _, tc := range []struct {
		name  string
		order binary.AppendByteOrder
		nanos bool
		want  time.Time
	}{
		{"le micro", binary.LittleEndian, false, ts.Truncate(time.Microsecond)},
		{"be micro", binary.BigEndian, false, ts.Truncate(time.Microsecond)},
		{"le nano", binary.LittleEndian, true, ts},
		{"be nano", binary.BigEndian, true, ts},
	} {
		w := ownWriter{order: tc.order, nanos: tc.nanos}
		w.header(LinkRaw)
		w.packet(ts, frame)
		src, err := NewReader(&w.buf, tc.name)
		if err != nil {
			t.Fatal(err)
		}
		s, err := src.Next()
		if err != nil || !s.Time.Equal(tc.want) || s.Src != v4a {
			t.Errorf("%s: %v %v, want time %v", tc.name, s, err, tc.want)
		}
	}
	// Kuznetsov's modified pcap: 8 more bytes per record header.
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, pcapMagicModified)
	b = append(b, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, byte(LinkRaw), 0, 0, 0)
	b = binary.LittleEndian.AppendUint32(b, 1)
	b = binary.LittleEndian.AppendUint32(b, 2)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(frame)))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(frame)))
	b = append(b, 1, 0, 0, 0, 0, 8, 0, 0)
	b = append(b, frame...)
	src, err := NewReader(bytes.NewReader(b), "modified")
	if err != nil {
		t.Fatal(err)
	}
	if s, err := src.Next(); err != nil || s.Window != 5840 {
		t.Errorf("modified pcap: %v %v", s, err)
	}
}

// TestPcapngTimestamps checks if_tsresol handling (10^-n and 2^-n) on the
// generated big-endian file, whose interfaces use different resolutions.
func TestPcapngTimestamps(t *testing.T) {
	src, err := Open(filepath.Join("testdata", "linktypes", "multi-if-be.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got := readAll(t, src)
	ips := allIP()
	for _, s := range got {
		var want time.Time
		if s.Frame <= 4 {
			want = genEpoch.Add(time.Duration(s.Frame-1) * time.Millisecond)
		} else {
			i := s.Frame - 5
			want = genEpoch.Add(time.Second + time.Duration(i)*time.Millisecond)
			switch i % 5 {
			case 3: // 2^-20 s units: floor
				want = want.Add(-time.Duration(want.Nanosecond() % 1000000)).Add(time.Duration(uint64(want.Nanosecond()%1000000) * (1 << 20) / 1e9 * 1e9 / (1 << 20)))
			case 4: // milliseconds
				want = want.Truncate(time.Millisecond)
			}
		}
		if d := s.Time.Sub(want); d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("frame %d: time %v, want %v", s.Frame, s.Time, want)
		}
	}
	if len(got) == 0 || len(ips) == 0 {
		t.Fatal("no segments")
	}
}

func TestPcapngErrors(t *testing.T) {
	good := readFile(t, "multi-if-be.pcapng")
	shbLen := int(binary.BigEndian.Uint32(good[4:]))
	idbLen := int(binary.BigEndian.Uint32(good[shbLen+4:]))
	epb := shbLen + idbLen
	t.Run("bad block length", func(t *testing.T) {
		b := append([]byte(nil), good...)
		binary.BigEndian.PutUint32(b[epb+4:], 13)
		src, err := NewReader(bytes.NewReader(b), "n")
		if err != nil {
			t.Fatal(err)
		}
		_, err = src.Next()
		var ie *InputError
		if !errors.As(err, &ie) || !errors.Is(err, ErrFormat) || ie.Offset != int64(epb+4) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("undefined interface", func(t *testing.T) {
		b := append([]byte(nil), good...)
		binary.BigEndian.PutUint32(b[epb+8:], 9)
		src, _ := NewReader(bytes.NewReader(b), "n")
		if _, err := src.Next(); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "interface 9") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("bad byte-order magic", func(t *testing.T) {
		b := append([]byte(nil), good...)
		b[8] = 0
		if _, err := NewReader(bytes.NewReader(b), "n"); !errors.Is(err, ErrFormat) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("unsupported interface link type", func(t *testing.T) {
		b := append([]byte(nil), good...)
		binary.BigEndian.PutUint16(b[shbLen+8:], 147)
		src, _ := NewReader(bytes.NewReader(b), "n")
		_, err := src.Next()
		if !errors.Is(err, ErrLinkType) || !errors.Is(err, ErrBadFrame) {
			t.Fatalf("got %v", err)
		}
		// The other interfaces' frames still decode.
		frames, err := drain(src)
		for err != io.EOF && errors.Is(err, ErrBadFrame) {
			var more []int
			more, err = drain(src)
			frames = append(frames, more...)
		}
		if err != io.EOF || len(frames) == 0 || frames[len(frames)-1] != 19 {
			t.Fatalf("after unsupported interface: %v %v", frames, err)
		}
	})
	t.Run("oversized captured length", func(t *testing.T) {
		b := append([]byte(nil), good...)
		binary.BigEndian.PutUint32(b[epb+20:], 1<<30)
		src, _ := NewReader(bytes.NewReader(b), "n")
		if _, err := src.Next(); !errors.Is(err, ErrFormat) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestOpenStdin(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "linktypes", "ethernet.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	old := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = old }()
	src, err := Open("-")
	if err != nil {
		t.Fatal(err)
	}
	if src.Format() != "pcap" {
		t.Errorf("format %s", src.Format())
	}
	got := readAll(t, src)
	if len(got) == 0 {
		t.Fatal("no segments from stdin")
	}
	src.Close()
	if _, err := f.Stat(); err != nil {
		t.Errorf("Close closed stdin: %v", err)
	}
}

// TestPcapngBlocks covers Simple and obsolete Packet Blocks, unknown block
// types, if_tsoffset, and a second section that resets the interfaces.
func TestPcapngBlocks(t *testing.T) {
	for _, order := range []binary.AppendByteOrder{binary.LittleEndian, binary.BigEndian} {
		w := ngWriter{order: order}
		w.section()
		// Interface 0: raw IP, snap length 65535, if_tsoffset 100 s.
		body := order.AppendUint16(nil, uint16(LinkRaw))
		body = append(body, 0, 0)
		body = order.AppendUint32(body, 65535)
		body = order.AppendUint16(body, ngOptTSOffset)
		body = order.AppendUint16(body, 8)
		body = order.AppendUint64(body, 100)
		body = append(body, 0, 0, 0, 0)
		w.block(ngBlockIDB, body)
		w.units = append(w.units, 1e6)
		p := synV4()
		// Simple Packet Block: original length + data.
		w.block(ngBlockSPB, append(order.AppendUint32(nil, uint32(len(p))), p...))
		// A custom block (type 0xBAD) is skipped.
		w.block(0x00000bad, []byte{1, 2, 3, 4})
		// Obsolete Packet Block: if id (2), drops (2), ts, caplen, len.
		ob := order.AppendUint16(nil, 0)
		ob = append(ob, 0, 0)
		ob = order.AppendUint32(ob, 0)
		ob = order.AppendUint32(ob, 5e6) // 5 s
		ob = order.AppendUint32(ob, uint32(len(p)))
		ob = order.AppendUint32(ob, uint32(len(p)))
		w.block(ngBlockOPB, append(ob, p...))
		// New section: interface 0 is now IPv6.
		w.section()
		w.iface(LinkIPv6, 0)
		w.packet(0, genEpoch, synV6())
		src, err := NewReader(&w.buf, "blocks")
		if err != nil {
			t.Fatal(err)
		}
		got := readAll(t, src)
		if len(got) != 3 {
			t.Fatalf("got %d segments", len(got))
		}
		if got[0].Frame != 1 || !got[0].Time.IsZero() || got[0].Src != v4a {
			t.Errorf("SPB: %+v", got[0])
		}
		if got[1].Frame != 2 || got[1].Time.Unix() != 105 || got[1].Src != v4a {
			t.Errorf("OPB: %+v", got[1])
		}
		if got[2].Frame != 3 || !got[2].Time.Equal(genEpoch) || got[2].Src != v6a {
			t.Errorf("second section: %+v", got[2])
		}
	}
}
