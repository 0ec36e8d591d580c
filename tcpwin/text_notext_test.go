package tcpwin

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// Text without a single TCP packet line is an input error, not an empty
// result: a user who passes the wrong file must hear about it.
func TestTextWithoutPacketsIsAnError(t *testing.T) {
	src, err := NewReader(strings.NewReader("hello\nthis is not tcpdump output\n"), "notes.txt")
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Next()
	var ie *InputError
	if !errors.As(err, &ie) || !errors.Is(err, ErrFormat) || ie.Name != "notes.txt" {
		t.Fatalf("Next() error = %v, want *InputError wrapping ErrFormat naming notes.txt", err)
	}

	// Prose around tcpdump lines (a pasted blog post) is fine.
	src, err = NewReader(strings.NewReader("some prose\n> S 0:0 win 5840 <mss 1460,nop,wscale 6> (DF)\nmore prose\n"), "paste")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 {
		t.Fatalf("got %d segments, want 1", n)
	}
}
