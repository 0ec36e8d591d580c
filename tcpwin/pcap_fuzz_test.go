package tcpwin

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// checkSource drains a source from hostile input: only *InputError or
// io.EOF, per-frame errors continue, sane segments.
func checkSource(t *testing.T, src Source, limit int) {
	for n := 0; n < limit; n++ {
		s, err := src.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error is not an *InputError: %v", err)
			}
			_ = err.Error()
			if errors.Is(err, ErrBadFrame) {
				continue
			}
			if _, again := src.Next(); again != err {
				t.Fatalf("terminal error not sticky: %v then %v", err, again)
			}
			return
		}
		if s.PayloadLen < 0 || len(s.Options) > maxOptLen || s.Frame <= 0 {
			t.Fatalf("bad segment %+v", s)
		}
	}
	t.Fatalf("more than %d results", limit)
}

func FuzzReader(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "linktypes", "*"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
			if len(b) > 300 {
				f.Add(b[:300])
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		src, err := NewReader(bytes.NewReader(b), "fuzz")
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("NewReader error is not an *InputError: %v", err)
			}
			return
		}
		checkSource(t, src, len(b)+2)
	})
}
