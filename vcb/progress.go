package vcb

import (
	"context"
	"sync/atomic"
	"time"
)

// Progress reports the state of a backup or restore.
type Progress struct {
	Op    string `json:"op"`    // "backup" or "restore"
	Phase string `json:"phase"` // "snapshot", "export", "config", "upload", "create", "readback", "done"
	File  string `json:"file,omitempty"`
	Done  int64  `json:"done"`  // bytes of disk data read (backup) or written (restore) so far, all disks
	Total int64  `json:"total"` // expected bytes, all disks (0 when unknown)
	// Elapsed is the wall time since the operation started: Done/Elapsed
	// is its rate.
	Elapsed time.Duration `json:"elapsed"`
}

// ProgressFunc receives progress reports. It is called from the goroutine
// running the operation and must not block for long.
type ProgressFunc func(Progress)

// meter counts transferred bytes and reports them at most every interval.
type meter struct {
	op, phase, file string
	done, total     atomic.Int64
	fn              ProgressFunc
	last, start     time.Time
}

func (m *meter) report(force bool) {
	if m.fn == nil {
		return
	}
	now := time.Now()
	if m.start.IsZero() {
		m.start = now
	}
	if !force && now.Sub(m.last) < 100*time.Millisecond {
		return
	}
	m.last = now
	m.fn(Progress{Op: m.op, Phase: m.phase, File: m.file, Done: m.done.Load(), Total: m.total.Load(), Elapsed: now.Sub(m.start)})
}

func (m *meter) setPhase(phase, file string) {
	m.phase, m.file = phase, file
	m.report(true)
}

// percent is the whole-operation percentage for lease progress updates,
// kept below 100 until the transfer is complete.
func (m *meter) percent() int32 {
	t := m.total.Load()
	if t <= 0 {
		return 0
	}
	p := m.done.Load() * 100 / t
	if p > 99 {
		p = 99
	}
	return int32(p)
}

// countingReader adds what it reads to a meter.
type countingReader struct {
	ctx context.Context
	r   interface{ Read([]byte) (int, error) }
	m   *meter
}

// Close closes the underlying reader when it is an io.Closer.
func (c *countingReader) Close() error {
	if cl, ok := c.r.(interface{ Close() error }); ok {
		return cl.Close()
	}
	return nil
}

func (c *countingReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	if n > 0 {
		c.m.done.Add(int64(n))
		c.m.report(false)
	}
	return n, err
}
