package vcb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

func (c *Client) propertyCollector() *property.Collector {
	return property.DefaultCollector(c.vim)
}

func isNotFound(err error) bool {
	return fault.Is(err, &types.ManagedObjectNotFound{})
}

// HTTPStatusError is a non-success HTTP status from a datastore or NFC
// transfer.
type HTTPStatusError struct {
	Method string
	URL    string
	Status int
}

func (e *HTTPStatusError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
}

func isHTTPNotFound(err error) bool {
	var se *HTTPStatusError
	return errors.As(err, &se) && se.Status == http.StatusNotFound
}

// get starts a GET of u and checks the status; the caller closes the body.
func (c *Client) get(ctx context.Context, u *url.URL) (io.ReadCloser, int64, error) {
	res, err := c.vim.DownloadRequest(ctx, u, &soap.Download{Method: http.MethodGet})
	if err != nil {
		return nil, 0, err
	}
	if res.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
		_ = res.Body.Close()
		return nil, 0, &HTTPStatusError{Method: http.MethodGet, URL: redact(u), Status: res.StatusCode}
	}
	return res.Body, res.ContentLength, nil
}

// put uploads size bytes from r to u (datastore /folder interface).
func (c *Client) put(ctx context.Context, u *url.URL, r io.Reader, size int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.String(), r)
	if err != nil {
		return err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	res, err := c.vim.Client.Client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusCreated && res.StatusCode != http.StatusNoContent {
		return &HTTPStatusError{Method: http.MethodPut, URL: redact(u), Status: res.StatusCode}
	}
	return nil
}

// datastoreURL is the /folder URL of a file on a datastore.
func datastoreURL(ds *object.Datastore, file string) *url.URL {
	return ds.NewURL(file)
}

func redact(u *url.URL) string {
	v := *u
	v.User = nil
	v.RawQuery = ""
	return v.String()
}
