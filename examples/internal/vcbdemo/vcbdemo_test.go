package vcbdemo_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/bulletproof-labs/wsvcb/examples/internal/vcbdemo"
)

func TestRun(t *testing.T) {
	var b bytes.Buffer
	if err := vcbdemo.Run(context.Background(), &b); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	out := b.String()
	t.Log("\n" + out)
	for _, want := range []string{"byte-identical", "source VM snapshots left: 0", "identical=true", "read back verified: true"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "identical=false") {
		t.Error("a disk differs")
	}
}
