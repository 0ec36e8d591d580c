package tcpwin

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func FuzzText(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "text", "*.txt"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			if len(b) > 4000 {
				b = b[:4000]
			}
			f.Add(string(b))
		}
	}
	f.Add("tcpdump: listening on bond0 > S 0:0 win 5840 <mss 1460,sackOK,timestamp 94318 0,nop,wscale 6> (DF) > . ack 1 win 92 (DF)")
	f.Add("1.1 > 2.2: HBH 1 > 2: Flags [S], seq 1:, options [sack 3 {1:2}{,tfo cookie 0a,unknown-3 0x], length")
	f.Fuzz(func(t *testing.T, s string) {
		src, err := newTextReader(bufio.NewReader(bytes.NewReader([]byte(s))), "fuzz.txt")
		if err != nil {
			return
		}
		checkSource(t, src, 2*len(s)+2)
	})
}
