package tcpwin

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteText writes the report for people: one block per finding with what
// was seen, the likely cause and the fixes, then a count by severity.
// Findings below min are left out (the count still includes them).
func (r *Report) WriteText(w io.Writer, min Severity) error {
	bw := bufio.NewWriter(w)
	for i, c := range r.Captures {
		name := c.Name
		if name == "" {
			name = fmt.Sprintf("capture %d", i)
		}
		fmt.Fprintf(bw, "capture %d: %s: %d connections, %d TCP segments\n", i, name, c.Conns, c.Segments)
		if c.BadFrames > 0 {
			fmt.Fprintf(bw, "capture %d: %d malformed frames skipped, the first: %s\n", i, c.BadFrames, c.FirstBad)
		}
	}
	if len(r.Captures) == 2 {
		fmt.Fprintf(bw, "matched %d connections between the captures (4-tuple and initial sequence number)\n", r.Matched)
	}
	var n [3]int
	for _, f := range r.Findings {
		n[f.Severity]++
		if f.Severity < min {
			continue
		}
		fmt.Fprintf(bw, "\n%s %s: conn %d %s -> %s (capture %d, frame %d), side %s\n",
			strings.ToUpper(f.Severity.String()), f.Kind, f.Conn.ID, f.Conn.A, f.Conn.B, f.Conn.Capture, f.Conn.FirstFrame, f.Side)
		fmt.Fprintf(bw, "  %s\n", f.Summary)
		fmt.Fprintf(bw, "  likely cause: %s\n", f.Cause)
		for _, x := range f.Fixes {
			fmt.Fprintf(bw, "  fix: %s\n", x)
		}
	}
	undecoded := false
	for _, c := range r.Captures {
		undecoded = undecoded || c.Segments == 0 && c.BadFrames > 0
	}
	if len(r.Findings) == 0 && undecoded {
		fmt.Fprintf(bw, "\nnothing to diagnose: no TCP segment could be decoded\n")
	} else if len(r.Findings) == 0 {
		fmt.Fprintf(bw, "\nno window-scaling problems found\n")
	} else {
		fmt.Fprintf(bw, "\n%d findings: %d critical, %d warning, %d info\n", len(r.Findings), n[SeverityCritical], n[SeverityWarning], n[SeverityInfo])
	}
	return bw.Flush()
}
