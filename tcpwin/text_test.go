package tcpwin

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func parseText(t *testing.T, text string) ([]Segment, error) {
	t.Helper()
	src, err := NewReader(strings.NewReader(text), "t.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out []Segment
	for {
		s, err := src.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		c := *s
		c.Options = append([]byte(nil), s.Options...)
		out = append(out, c)
	}
}

func short(s Segment) string {
	return fmt.Sprintf("%d %v.%d>%v.%d f=%#x seq=%d ack=%d win=%d len=%d opts=%x",
		s.Frame, s.Src, s.SrcPort, s.Dst, s.DstPort, uint16(s.Flags), s.Seq, s.Ack, s.Window, s.PayloadLen, s.Options)
}

// TestSeed parses the 2006 blog post: its collapsed tcpdump paste (five
// packets on one line, no addresses) must give the handshake with wscale
// 6 and 2, and the directions must follow the sequence numbers.
func TestSeed(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "text", "seed-blog.txt"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseText(t, string(b))
	if err != nil {
		t.Fatal(err)
	}
	a, bb := TextPeerA.String(), TextPeerB.String()
	want := []string{
		"1 " + a + ".0>" + bb + ".0 f=0x2 seq=0 ack=0 win=5840 len=0 opts=020405b40402080a0001706e0000000001030306",
		"2 " + bb + ".0>" + a + ".0 f=0x12 seq=0 ack=1 win=5840 len=0 opts=020405b401030302",
		"3 " + a + ".0>" + bb + ".0 f=0x10 seq=0 ack=1 win=92 len=0 opts=",
		"4 " + a + ".0>" + bb + ".0 f=0x18 seq=1 ack=1 win=92 len=351 opts=",
		"5 " + bb + ".0>" + a + ".0 f=0x10 seq=0 ack=352 win=1608 len=0 opts=",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d segments, want %d", len(got), len(want))
	}
	for i := range want {
		if s := short(got[i]); s != want[i] {
			t.Errorf("segment %d:\n got %s\nwant %s", i+1, s, want[i])
		}
	}
}

// TestTextOldForm covers tcpdump 3.x lines with addresses, -v headers and
// checksum notes, SACK blocks and ECN flags.
func TestTextOldForm(t *testing.T) {
	text := `tcpdump: verbose output suppressed, use -v or -vv for full protocol decode
listening on eth0, link-type EN10MB (Ethernet), capture size 96 bytes
10:00:00.000001 IP 10.0.0.1.40000 > 10.0.0.2.80: S 3000000000:3000000000(0) win 5840 <mss 1460,sackOK,timestamp 94318 0,nop,wscale 6> (DF)
10:00:00.000101 IP 10.0.0.2.80 > 10.0.0.1.40000: S 1000:1000(0) ack 3000000001 win 5792 <mss 1460,sackOK,timestamp 1 94318,nop,wscale 0> (DF)
10:00:00.000201 IP (tos 0x0, ttl  64, id 2, offset 0, flags [DF], length: 52) 10.0.0.1.40000 > 10.0.0.2.80: . [tcp sum ok] ack 1 win 92 <nop,nop,timestamp 94319 1>
10:00:00.000301 IP 10.0.0.2.80 > 10.0.0.1.40000: . ack 1 win 1448 <nop,nop,sack 1 {100:200}>
10:00:00.000401 IP 10.0.0.1.40000 > 10.0.0.2.80: FP 1:11(10) ack 1 win 92
10:00:00.000501 IP 10.0.0.1.40000 > 10.0.0.2.80: SWE 5:5(0) win 5840
10:00:00.000601 arp who-has 10.0.0.9 tell 10.0.0.1
1136214245.000000 IP 10.0.0.2.80 > 10.0.0.1.40000: R 1001:1001(0) win 0
`
	got, err := parseText(t, text)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"1 10.0.0.1.40000>10.0.0.2.80 f=0x2 seq=3000000000 ack=0 win=5840 len=0 opts=020405b40402080a0001706e0000000001030306",
		"2 10.0.0.2.80>10.0.0.1.40000 f=0x12 seq=1000 ack=3000000001 win=5792 len=0 opts=020405b40402080a000000010001706e01030300",
		// tcpdump's relative numbers (ack 1, sack {100:200}, 1:11) made
		// absolute from the SYN-ACK's seq 1000 and ack 3000000001.
		"3 10.0.0.1.40000>10.0.0.2.80 f=0x10 seq=0 ack=1001 win=92 len=0 opts=0101080a0001706f00000001",
		"4 10.0.0.2.80>10.0.0.1.40000 f=0x10 seq=0 ack=3000000001 win=1448 len=0 opts=0101050ab2d05e64b2d05ec8",
		"5 10.0.0.1.40000>10.0.0.2.80 f=0x19 seq=3000000001 ack=1001 win=92 len=10 opts=",
		"6 10.0.0.1.40000>10.0.0.2.80 f=0xc2 seq=5 ack=0 win=5840 len=0 opts=",
		"8 10.0.0.2.80>10.0.0.1.40000 f=0x4 seq=1001 ack=0 win=0 len=0 opts=",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d segments, want %d: %v", len(got), len(want), got)
	}
	for i := range want {
		if s := short(got[i]); s != want[i] {
			t.Errorf("segment %d:\n got %s\nwant %s", i+1, s, want[i])
		}
	}
	if !got[0].Time.Equal(time.Date(1970, 1, 1, 10, 0, 0, 1000, time.UTC)) {
		t.Errorf("time %v", got[0].Time)
	}
	if !got[6].Time.Equal(time.Unix(1136214245, 0)) {
		t.Errorf("epoch time %v", got[6].Time)
	}
}

// TestTextModernExtras covers host and service names (no -n), -tttt
// timestamps, "Flags [none]", ECN and TFO/unknown options.
func TestTextModernExtras(t *testing.T) {
	text := `2024-05-01 12:00:00.500000 IP client.example.com.51000 > www.example.com.http: Flags [SEW], seq 1, win 64240, options [mss 1460,nop,nop,sackOK,nop,wscale 7,tfo cookiereq,unknown-99 0x0102], length 0
2024-05-01 12:00:00.600000 IP www.example.com.http > client.example.com.51000: Flags [none], seq 2, win 0, length 0
12:00:01.000000 IP6 ::1.22 > ::1.50000: Flags [R.], seq 0, ack 1, win 0, length 0
`
	got, err := parseText(t, text)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d segments", len(got))
	}
	c, w := got[0].Src, got[0].Dst
	if c == w || got[1].Src != w || got[1].Dst != c || got[0].DstPort != 80 || got[1].Flags != 0 {
		t.Errorf("names: %s / %s", short(got[0]), short(got[1]))
	}
	if got[0].Flags != FlagSYN|FlagECE|FlagCWR {
		t.Errorf("flags %#x", got[0].Flags)
	}
	if want := "020405b401010402010303072202630401020000"; fmt.Sprintf("%x", got[0].Options) != want[:len(want)-4] {
		t.Errorf("options %x", got[0].Options)
	}
	if !got[0].Time.Equal(time.Date(2024, 5, 1, 12, 0, 0, 5e8, time.UTC)) {
		t.Errorf("time %v", got[0].Time)
	}
	if got[2].Src != netip.MustParseAddr("::1") || got[2].Flags != FlagRST|FlagACK {
		t.Errorf("v6: %s", short(got[2]))
	}
}

func TestTextErrors(t *testing.T) {
	text := "12:00:00.000000 IP 10.0.0.1.1 > 10.0.0.2.2: Flags [S], seq 1, win 99999, length 0\n" +
		"12:00:00.000001 IP 10.0.0.1.1 > 10.0.0.2.2: Flags [S], seq 1, win 5, length 0\n"
	src, err := NewReader(strings.NewReader(text), "bad.txt")
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Next()
	var ie *InputError
	if !errors.As(err, &ie) || ie.Line != 1 || !errors.Is(err, ErrBadFrame) || !strings.HasPrefix(err.Error(), "bad.txt:1: ") {
		t.Fatalf("got %v", err)
	}
	s, err := src.Next()
	if err != nil || s.Window != 5 || s.Frame != 2 {
		t.Fatalf("after a bad line: %v %v", s, err)
	}
	long := strings.Repeat("x", maxTextLine+10)
	src, _ = NewReader(strings.NewReader("ok\n"+long+"\n"), "long.txt")
	if _, err := src.Next(); !errors.As(err, &ie) || ie.Line != 2 || !errors.Is(err, ErrFormat) {
		t.Fatalf("long line: %v", err)
	}
}

func TestEncodeOptions(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"mss 1460,sackOK,TS val 1 ecr 2,nop,wscale 7", "020405b40402080a000000010000000201030307"},
		{"nop,nop,sack 2 {1:2}{3:4}", "0101051200000001000000020000000300000004"},
		{"md5 valid", "1312" + strings.Repeat("00", 16)},
		{"uto 5min,eol", "1c0480051c"[:8] + "00"},
		{"tfo cookie 0a0b0c0d,exp-tfo cookiereq", "22060a0b0c0dfe04f989"},
		{"unknown-99 0x0102,mptcp capable v1,[bad opt]", "63040102"},
		{"eol", "00"},
	} {
		got, err := encodeOptions(nil, tt.in)
		if err != nil || fmt.Sprintf("%x", got) != tt.want {
			t.Errorf("%q: got %x, %v, want %s", tt.in, got, err, tt.want)
		}
	}
	// Values tcpdump cannot have printed are errors, not dropped options.
	for _, in := range []string{"wscale 300", "mss 70000", "mss x", "TS val 1", "nop,wscale", "timestamp 1"} {
		if _, err := encodeOptions(nil, in); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
	// The encoder never exceeds the 40-byte TCP options area.
	if got, _ := encodeOptions(nil, strings.Repeat("TS val 1 ecr 2,", 10)); len(got) != 40 {
		t.Errorf("overflow: %d bytes", len(got))
	}
}
