package vcbcli

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/bulletproof-labs/wsvcb/vcb"
)

// TestProgressNonTerminal: on a non-terminal the progress is plain lines
// (no \r), with the bytes moved and the rate over wall time of each phase.
func TestProgressNonTerminal(t *testing.T) {
	var buf bytes.Buffer
	fn := ProgressBar(&buf)
	const mib = 1 << 20
	sec := func(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
	fn(vcb.Progress{Op: "backup", Phase: "snapshot", Total: 64 * mib})
	fn(vcb.Progress{Op: "backup", Phase: "export", Total: 64 * mib, Elapsed: sec(0.5)})
	fn(vcb.Progress{Op: "backup", Phase: "export", File: "scsi0-0.vmdk", Total: 64 * mib, Elapsed: sec(1)})
	for i := int64(1); i <= 64; i++ {
		// 32 MiB/s: 1 MiB every 1/32 s
		fn(vcb.Progress{Op: "backup", Phase: "export", File: "scsi0-0.vmdk", Done: i * mib, Total: 64 * mib, Elapsed: sec(1 + float64(i)/32)})
	}
	fn(vcb.Progress{Op: "backup", Phase: "config", Done: 64 * mib, Total: 64 * mib, Elapsed: sec(3)})
	fn(vcb.Progress{Op: "backup", Phase: "done", Done: 64 * mib, Total: 64 * mib, Elapsed: sec(3.5)})
	out := buf.String()
	assert.NotContains(t, out, "\r")
	assert.Contains(t, out, "backup: snapshot\n")
	assert.Contains(t, out, "backup export scsi0-0.vmdk: 7.0 MiB (all disks 10% of 64.0 MiB), 32.0 MiB/s\n")
	assert.Contains(t, out, "backup export scsi0-0.vmdk: 64.0 MiB in 2s (32.0 MiB/s)\n")
	assert.Contains(t, out, "backup: config\nbackup: done\n")
	// one line per 10% step (10..90), the summary, three phases
	assert.Equal(t, 9+1+3, bytes.Count(buf.Bytes(), []byte("\n")), out)
}

// TestProgressTinyTransfer: the "201 bytes (15 TB/s)": a transfer
// too short to time prints no rate, and bytes as bytes.
func TestProgressTinyTransfer(t *testing.T) {
	var buf bytes.Buffer
	fn := ProgressBar(&buf)
	fn(vcb.Progress{Op: "backup", Phase: "export", Total: 201})
	fn(vcb.Progress{Op: "backup", Phase: "export", Done: 201, Total: 201, Elapsed: time.Microsecond})
	fn(vcb.Progress{Op: "backup", Phase: "done", Done: 201, Total: 201, Elapsed: time.Microsecond})
	assert.Equal(t, "backup export: 201 B in 0s\nbackup: done\n", buf.String())
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 10 << 30: "10.0 GiB", 3 << 40: "3.0 TiB"} {
		assert.Equal(t, want, formatBytes(n), "%d", n)
	}
}
