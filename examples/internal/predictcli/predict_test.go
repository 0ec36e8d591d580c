package predictcli

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulletproof-labs/wsvcb/sysctl/sysctltest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func run(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestPredictJSON(t *testing.T) {
	code, out, errs := run("-rmem", "4096 87380 174760", "-rmem-max", "4194304", "-rcvbuf", "87380", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var o map[string]any
	if err := json.Unmarshal([]byte(out), &o); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if o["wscale"] != float64(1) || o["limit"] != "SO_RCVBUF" || o["offered"] != true {
		t.Fatalf("%s", out)
	}
}

func TestPredictText(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-rmem", "4096 87380 174760", "-rmem-max", "131071"}, "wscale 2 (multiplier 4, windows up to 262140 bytes), sized for 174760 bytes by tcp_rmem[2]"},
		{[]string{"-rmem", "4096 87380 174760", "-rmem-max", "4194304"}, "wscale 7 (multiplier 128"},
		{[]string{"-rmem", "4096 131072 33554432", "-rmem-max", "4194304"}, "wscale 10"},
		{[]string{"-no-scaling"}, "no window-scale option"},
		{[]string{"-era", "2.6.17", "-rmem", "4096 87380 4194304", "-rmem-max", "131071", "-rcvbuf", "87380"}, "wscale 7"},
		{nil, "wscale 7"},
	}
	for _, tt := range tests {
		code, out, errs := run(tt.args...)
		if code != 0 || !strings.Contains(out, tt.want) {
			t.Errorf("%q: exit %d, out %q, err %q; want %q", tt.args, code, out, errs, tt.want)
		}
	}
}

func TestPredictUsage(t *testing.T) {
	for _, args := range [][]string{
		{"-rmem", "1 2"}, {"-rmem-max", "0"}, {"-o", "xml"}, {"-era", "1.0"}, {"extra"}, {"-rcvbuf", "-5"}, {"-bogus"},
	} {
		if code, _, errs := run(args...); code != ExitUsage || !strings.Contains(errs, "usage:") {
			t.Errorf("%q: exit %d, stderr %q", args, code, errs)
		}
	}
	if code, out, _ := run("-h"); code != 0 || !strings.Contains(out, "usage:") {
		t.Errorf("-h: %d %q", code, out)
	}
}

func TestPredictLocal(t *testing.T) {
	fs := sysctltest.New(t, sysctltest.With(sysctltest.Host, map[string]string{
		"net.ipv4.tcp_rmem":           "4096\t131072\t33554432",
		"net.core.rmem_max":           "4194304",
		"net.ipv4.tcp_window_scaling": "1",
	}))
	old := procRoot
	procRoot = fs.Root()
	defer func() { procRoot = old }()
	code, out, errs := run("-local", "-o", "json")
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, `"wscale": 10`)
	code, out, _ = run("-local", "-rmem", "4096 87380 174760")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "wscale 7")
	assert.Contains(t, out, "net.core.rmem_max")

	require.NoError(t, sysctltest.Write(fs.Root(), map[string]string{"net.ipv4.tcp_window_scaling": "0"}))
	code, out, _ = run("-local")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "no window-scale option")

	procRoot = filepath.Join(fs.Root(), "missing")
	code, _, errs = run("-local")
	assert.Equal(t, ExitInput, code, errs)
}

func FuzzPredictArgs(f *testing.F) {
	f.Add("4096 87380 174760", "4194304", "87380")
	f.Add("", "1", "-1")
	f.Fuzz(func(t *testing.T, rmem, rmemMax, rcvbuf string) {
		code, out, _ := run("-rmem", rmem, "-rmem-max", rmemMax, "-rcvbuf", rcvbuf, "-o", "json")
		if code == 0 && !strings.Contains(out, `"wscale"`) {
			t.Fatalf("exit 0 without wscale: %s", out)
		}
		if code != 0 && code != ExitUsage {
			t.Fatalf("exit %d", code)
		}
	})
}
