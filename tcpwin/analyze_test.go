package tcpwin

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
)

func TestAnalyzeNoAllocSteadyState(t *testing.T) {
	data := synthCapture(t, 8, 400)
	src, err := NewReader(bytes.NewReader(data), "synthetic")
	if err != nil {
		t.Fatal(err)
	}
	a := NewAnalyzer(src, nil)
	for i := 0; i < 200; i++ { // handshakes and warm-up
		if !a.Next() {
			t.Fatal(a.Err())
		}
	}
	n := testing.AllocsPerRun(2000, func() {
		if !a.Next() {
			t.Fatal("capture too short", a.Err())
		}
	})
	if n != 0 {
		t.Errorf("full analysis allocates %v times per packet", n)
	}
	for a.Next() {
	}
	if a.Err() != nil {
		t.Fatal(a.Err())
	}
	conns := a.Conns()
	if len(conns) != 8 {
		t.Fatalf("%d conns", len(conns))
	}
	c := conns[0]
	if c.Side[AtoB].Scale != ScaleOn || c.Side[AtoB].Shift != 10 || c.Side[BtoA].Shift != 7 ||
		c.Side[AtoB].Windows().Max != 502<<10 || c.Side[BtoA].Windows().Max != 8000<<7 ||
		c.Side[AtoB].Stats.Bytes != 200*1448 {
		t.Errorf("conn %+v", c)
	}
}

func TestAnalyzerErrors(t *testing.T) {
	sm := &trkSim{}
	bad := &InputError{Name: "x.pcap", Frame: 2, Offset: 100, Err: ErrBadFrame}
	fatal := &InputError{Name: "x.pcap", Frame: 4, Offset: 300, Err: ErrTruncated}
	seq := []any{*sm.seg(true, FlagSYN, 1, 0, nil), bad, *sm.seg(false, FlagSYN|FlagACK, 1, 0, nil), fatal}
	i := 0
	src := sourceFunc(func() (*Segment, error) {
		if i >= len(seq) {
			return nil, io.EOF
		}
		v := seq[i]
		i++
		switch v := v.(type) {
		case Segment:
			return &v, nil
		case error:
			return nil, v
		}
		return nil, io.EOF
	})
	a := NewAnalyzer(src, nil)
	n := 0
	for a.Next() {
		n++
	}
	if n != 2 || !errors.Is(a.Err(), ErrTruncated) {
		t.Errorf("n=%d err=%v", n, a.Err())
	}
	if sk, cnt := a.Skipped(); cnt != 1 || sk[0] != bad {
		t.Errorf("skipped %v %d", sk, cnt)
	}
	if c := a.Conns(); len(c) != 1 || !c[0].Handshake() {
		t.Errorf("conns %+v", c)
	}

	// Only a bad frame: Err reports it at the end.
	seq, i = []any{bad, *sm.seg(true, FlagACK, 1, 0, nil)}, 0
	a = NewAnalyzer(src, nil)
	if err := a.Run(context.Background(), nil); !errors.Is(err, ErrBadFrame) {
		t.Errorf("Run = %v", err)
	}

	// Cancellation.
	seq, i = []any{*sm.seg(true, FlagACK, 1, 0, nil)}, 0
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := NewAnalyzer(src, nil).Run(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Run = %v", err)
	}
}

type sourceFunc func() (*Segment, error)

func (f sourceFunc) Next() (*Segment, error) { return f() }
