package vcb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/vmware/govmomi/vim25/soap"
)

// maxRangesPerRequest bounds the ranges of one multi-range request (and so
// the Range header's length).
const maxRangesPerRequest = 16

// getRanges fills dst[i] with the bytes of u at pieces[i].Start, using one
// multi-range request (multipart/byteranges, RFC 9110 section 14.6) when
// the server supports it and one request per piece otherwise. multi is
// cleared when the server turns out not to support multiple ranges.
func (c *Client) getRanges(ctx context.Context, u *url.URL, pieces []Extent, dst [][]byte, multi *bool) (requests int, err error) {
	if len(pieces) == 1 || !*multi {
		for i, p := range pieces {
			requests++
			if err := c.getRange(ctx, u, p.Start, dst[i]); err != nil {
				return requests, err
			}
		}
		return requests, nil
	}
	spec := make([]string, len(pieces))
	for i, p := range pieces {
		spec[i] = fmt.Sprintf("%d-%d", p.Start, p.Start+p.Length-1)
	}
	res, err := c.vim.DownloadRequest(ctx, u, &soap.Download{
		Method:  http.MethodGet,
		Headers: map[string]string{"Range": "bytes=" + strings.Join(spec, ",")},
	})
	if err != nil {
		return 1, err
	}
	defer res.Body.Close()
	mt, params, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if res.StatusCode != http.StatusPartialContent || mt != "multipart/byteranges" || params["boundary"] == "" {
		if res.StatusCode != http.StatusPartialContent && res.StatusCode != http.StatusOK {
			return 1, &HTTPStatusError{Method: http.MethodGet, URL: redact(u), Status: res.StatusCode}
		}
		// A whole file or one coalesced range: do not read it, ask per piece.
		*multi = false
		_ = res.Body.Close()
		n, err := c.getRanges(ctx, u, pieces, dst, multi)
		return n + 1, err
	}
	mr := multipart.NewReader(res.Body, params["boundary"])
	filled := make([]bool, len(pieces))
	for n := 0; n < len(pieces); n++ {
		part, err := mr.NextPart()
		if err != nil {
			return 1, fmt.Errorf("multi-range response: part %d: %w", n, err)
		}
		start, end, err := parseContentRange(part.Header.Get("Content-Range"))
		if err != nil {
			return 1, fmt.Errorf("multi-range response: %w", err)
		}
		i := -1
		for k, p := range pieces {
			if !filled[k] && p.Start == start && p.Start+p.Length-1 == end {
				i = k
				break
			}
		}
		if i < 0 {
			return 1, fmt.Errorf("multi-range response: unrequested range %d-%d", start, end)
		}
		if _, err := io.ReadFull(part, dst[i]); err != nil {
			return 1, fmt.Errorf("multi-range response: range %d-%d: %w", start, end, err)
		}
		filled[i] = true
	}
	// The closing boundary: nothing more was sent. Reading the body to
	// its end also lets the transport reuse the connection (a body
	// closed early costs the next request a new TLS handshake).
	if _, err := mr.NextPart(); err != io.EOF {
		if err == nil {
			err = errors.New("more parts than ranges requested")
		}
		return 1, fmt.Errorf("multi-range response: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4096))
	return 1, nil
}

// parseContentRange parses "bytes first-last/size".
func parseContentRange(s string) (first, last int64, err error) {
	v, ok := strings.CutPrefix(s, "bytes ")
	if !ok {
		return 0, 0, fmt.Errorf("bad Content-Range %q", s)
	}
	rng, _, _ := strings.Cut(v, "/")
	a, b, ok := strings.Cut(rng, "-")
	if !ok {
		return 0, 0, fmt.Errorf("bad Content-Range %q", s)
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || first < 0 || last < first {
		return 0, 0, fmt.Errorf("bad Content-Range %q", s)
	}
	return first, last, nil
}
