package tcpwin_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bulletproof-labs/wsvcb/tcpwin"
)

// TestDiagnoseSharedCapturesJustified diagnoses every public capture in
// ../shared/captures (written by others) and pins each finding, with why
// it is right. None of them is a broken flow: nothing may be a WARNING or
// CRITICAL, and no INFO may tell a healthy host to change a sysctl
// unconditionally.
func TestDiagnoseSharedCapturesJustified(t *testing.T) {
	want := map[string][]string{
		// Modbus/TCP between PLC simulators whose SYNs carry no
		// window-scale option: scaling off, 6 connections, all fine.
		"arkime-modbus.pcap": {"scaling-off/info/a", "scaling-off/info/a", "scaling-off/info/a", "scaling-off/info/a", "scaling-off/info/a", "scaling-off/info/a"},
		"arkime-v6.pcap":     nil,
		"pcpp-raw_ip.pcap":   nil,
		"pcpp-sll.pcap":      nil,
		// A browser (wscale 6) fetching espn.com: its raw windows right
		// after the handshake are about 100 bytes, fine with the scale but
		// the 2006 signature if a middlebox dropped it; each connection
		// carries too little data to tell, hence INFO per connection.
		"ppa-http_espn.pcapng":    {"scale-exposure/info/a", "scale-exposure/info/a", "scale-exposure/info/a", "scale-exposure/info/a", "scale-exposure/info/a", "scale-exposure/info/a", "scale-exposure/info/a", "scale-exposure/info/a", "scale-exposure/info/a"},
		"retina-tls_ciphers.pcap": nil,
	}
	files, err := filepath.Glob(filepath.Join("..", "..", "shared", "captures", "*.pcap*"))
	require.NoError(t, err)
	if len(files) == 0 {
		t.Skip("../shared/captures is not here")
	}
	for _, path := range files {
		name := filepath.Base(path)
		w, ok := want[name]
		if !assert.True(t, ok, "%s: a capture without expectations: add it here", name) {
			continue
		}
		src, err := tcpwin.Open(path)
		require.NoError(t, err)
		rep, err := tcpwin.Diagnose(context.Background(), src, nil)
		src.Close()
		require.NoError(t, err)
		assert.Equal(t, w, sigs(rep.Findings), name)
		for _, f := range rep.Findings {
			assert.Less(t, f.Severity, tcpwin.SeverityWarning, "%s: %s", name, f.Summary)
			for _, x := range f.Fixes {
				if strings.Contains(x, "sysctl -w") && f.Kind == tcpwin.KindScaleExposure {
					assert.True(t, strings.HasPrefix(x, "if confirmed, "), "%s: an INFO tells a healthy host to %s", name, x)
				}
			}
		}
	}
}
