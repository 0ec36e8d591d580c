package tcpwin

import (
	"context"
	"errors"
	"io"
)

// Analyzer runs a Source through a Tracker: it yields one Result per TCP
// segment and, at the end, the list of connections.
//
//	a := tcpwin.NewAnalyzer(src, nil)
//	for a.Next() {
//		r := a.Result()
//		...
//	}
//	err := a.Err()      // nil at a clean end of input
//	conns := a.Conns()  // every connection, by ID
type Analyzer struct {
	src  Source
	tr   *Tracker
	res  *Result
	err  error
	done bool
	keep bool
	bad  []error
	nbad int
}

// maxSkipped bounds the skipped-frame errors an Analyzer keeps.
const maxSkipped = 100

// NewAnalyzer returns an analyzer reading src. cfg may be nil; unless cfg
// sets OnClose, the analyzer keeps every connection for Conns (set
// cfg.MaxConns/IdleTimeout to bound the live table; the kept summaries grow
// with the number of connections).
func NewAnalyzer(src Source, cfg *Config) *Analyzer {
	c := cfg.withDefaults()
	keep := c.OnClose == nil || c.KeepClosed
	c.KeepClosed = keep
	return &Analyzer{src: src, tr: NewTracker(&c), keep: keep}
}

// Tracker returns the analyzer's tracker (for its counters).
func (a *Analyzer) Tracker() *Tracker { return a.tr }

// Next reads and analyses the next segment. It returns false at the end of
// the input or on an error (see Err).
func (a *Analyzer) Next() bool {
	if a.done {
		return false
	}
	seg, err := a.src.Next()
	for err != nil && errors.Is(err, ErrBadFrame) {
		// A malformed frame: the source skips it and goes on.
		a.nbad++
		if len(a.bad) < maxSkipped {
			a.bad = append(a.bad, err)
		}
		seg, err = a.src.Next()
	}
	if err != nil {
		a.done = true
		a.res = nil
		if !errors.Is(err, io.EOF) {
			a.err = err
		}
		return false
	}
	a.res = a.tr.Observe(seg)
	return true
}

// Result returns the result of the last successful Next.
func (a *Analyzer) Result() *Result { return a.res }

// Err returns the input error that ended Next; at an end of input reached
// after skipping malformed frames it returns the first of those (an
// *InputError wrapping ErrBadFrame); nil at a clean end of input.
func (a *Analyzer) Err() error {
	if a.err == nil && len(a.bad) > 0 {
		return a.bad[0]
	}
	return a.err
}

// Skipped returns the errors of malformed frames skipped so far (at most
// the first 100) and their total count.
func (a *Analyzer) Skipped() ([]error, int) { return a.bad, a.nbad }

// Conns flushes the tracker and returns every connection seen, by ID. Call
// it after Next returned false.
func (a *Analyzer) Conns() []Conn {
	a.tr.Flush()
	if !a.keep {
		return nil
	}
	return a.tr.Closed()
}

// Run analyses the whole input, calling fn (when not nil) for each result,
// and stops early when ctx is cancelled or fn returns an error. It returns
// the input error, ctx's error or fn's error.
func (a *Analyzer) Run(ctx context.Context, fn func(*Result) error) error {
	for n := 0; a.Next(); n++ {
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if fn != nil {
			if err := fn(a.res); err != nil {
				return err
			}
		}
	}
	return a.Err()
}
