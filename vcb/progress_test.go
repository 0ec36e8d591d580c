package vcb_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulletproof-labs/wsvcb/vcb"
)

// leaseProgressCounter counts HttpNfcLeaseProgress SOAP calls and slows
// NFC downloads down, so that the lease updater has time to run.
type leaseProgressCounter struct {
	next  http.RoundTripper
	calls atomic.Int32
}

func (c *leaseProgressCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost && req.Body != nil && strings.HasSuffix(req.URL.Path, "/sdk") {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		_ = req.Body.Close()
		if bytes.Contains(b, []byte("HttpNfcLeaseProgress")) {
			c.calls.Add(1)
		}
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	res, err := c.next.RoundTrip(req)
	if err == nil && strings.HasPrefix(req.URL.Path, "/nfc/") {
		res.Body = &slowBody{res.Body}
	}
	return res, err
}

type slowBody struct{ io.ReadCloser }

func (s *slowBody) Read(p []byte) (int, error) {
	time.Sleep(2 * time.Millisecond)
	if len(p) > 32<<10 {
		p = p[:32<<10]
	}
	return s.ReadCloser.Read(p)
}

func TestLeaseProgressAndCallback(t *testing.T) {
	lc := &leaseProgressCounter{}
	fe := newFaultEnv(t, func(next http.RoundTripper) http.RoundTripper { lc.next = next; return lc })
	var reports []vcb.Progress
	_, err := fe.c.Backup(context.Background(), fe.vm, destDir(t), &vcb.BackupOptions{
		LeaseUpdateInterval: 10 * time.Millisecond,
		Progress:            func(p vcb.Progress) { reports = append(reports, p) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := lc.calls.Load(); n < 3 {
		t.Errorf("%d HttpNfcLeaseProgress calls, want periodic updates (>= 3)", n)
	}
	var last int64
	sawExport := false
	for _, p := range reports {
		if p.Phase == "export" && p.Done > 0 {
			sawExport = true
			if p.Done < last || p.Total != 3<<20 {
				t.Errorf("progress went %d -> %d of %d", last, p.Done, p.Total)
			}
			last = p.Done
		}
	}
	if !sawExport || reports[len(reports)-1].Phase != "done" || reports[len(reports)-1].Done != 3<<20 {
		t.Errorf("progress reports: first %+v last %+v (%d)", reports[0], reports[len(reports)-1], len(reports))
	}
}
