package vcbcli

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/bulletproof-labs/wsvcb/vcb"
)

// ProgressBar returns a ProgressFunc reporting on w the bytes of disk
// data actually moved and the rate over wall time. On a terminal the
// transfer is one line redrawn with \r; on anything else (a log file, a
// pipe, cron mail) there are only plain lines: each phase, the transfer
// at every 10%, and a summary of each transfer.
func ProgressBar(w io.Writer) vcb.ProgressFunc {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	p := &progress{w: w, tty: tty}
	return p.report
}

type progress struct {
	w   io.Writer
	tty bool

	op, phase, file string
	transfer        bool
	// start is the report that began the current phase, last the latest.
	start, last vcb.Progress
	// decile is the last 10% step printed (non-terminal).
	decile int64
	drawn  bool // a \r line is on the terminal
}

func isTransfer(phase string) bool {
	return phase == "export" || phase == "upload" || phase == "readback"
}

func (p *progress) report(r vcb.Progress) {
	if r.Op != p.op || r.Phase != p.phase || r.File != p.file {
		p.endPhase(r)
		p.op, p.phase, p.file, p.start, p.decile = r.Op, r.Phase, r.File, r, 0
		p.transfer = isTransfer(r.Phase)
		if !p.transfer && r.Phase != "" {
			fmt.Fprintf(p.w, "%s: %s\n", r.Op, r.Phase)
		}
		if !p.transfer {
			return
		}
	}
	if !p.transfer {
		return
	}
	p.last = r
	done := r.Done - p.start.Done
	line := p.label() + ": " + formatBytes(done)
	if r.Total > 0 {
		line += fmt.Sprintf(" (all disks %d%% of %s)", r.Done*100/r.Total, formatBytes(r.Total))
	}
	if rate, ok := rateOf(done, r.Elapsed-p.start.Elapsed); ok {
		line += ", " + rate
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\x1b[K%s", line)
		p.drawn = true
		return
	}
	if r.Total <= 0 || done <= 0 {
		return
	}
	if d := r.Done * 10 / r.Total; d > p.decile && d < 10 {
		p.decile = d
		fmt.Fprintln(p.w, line)
	}
}

func (p *progress) label() string {
	s := p.op + " " + p.phase
	if p.file != "" {
		s += " " + p.file
	}
	return s
}

// endPhase prints the summary of the transfer phase that next ends.
func (p *progress) endPhase(next vcb.Progress) {
	if !p.transfer {
		return
	}
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
	// The report that starts the next phase has the final count, unless
	// the counter restarts (a restore's read-back): then the last one.
	done := p.last.Done
	if next.Done > done {
		done = next.Done
	}
	done -= p.start.Done
	if done <= 0 && p.file == "" {
		return // the phase's announcement before its first disk
	}
	el := next.Elapsed - p.start.Elapsed
	line := fmt.Sprintf("%s: %s in %s", p.label(), formatBytes(done), el.Round(time.Millisecond))
	if rate, ok := rateOf(done, el); ok {
		line += " (" + rate + ")"
	}
	fmt.Fprintln(p.w, line)
}

// rateOf formats n bytes over d, when d is long enough to mean anything.
func rateOf(n int64, d time.Duration) (string, bool) {
	if d < time.Millisecond || n <= 0 {
		return "", false
	}
	return formatBytes(int64(float64(n)/d.Seconds())) + "/s", true
}

// formatBytes formats n in IEC units: "512 B", "1.5 KiB", "64.0 MiB".
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/unit, 0
	for v >= unit && i < 5 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTPE"[i])
}
