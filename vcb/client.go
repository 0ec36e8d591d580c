package vcb

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/session/keepalive"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
)

// Client is an authenticated session with a vCenter or ESXi host.
// It is safe for concurrent use. Close logs out.
type Client struct {
	vim    *vim25.Client
	sm     *session.Manager
	finder *find.Finder
	// finderMu serialises finder lookups: find.Finder caches folders
	// lazily and is not safe for concurrent use (BackupMany runs several
	// backups on one Client).
	finderMu sync.Mutex
	dc       *object.Datacenter

	closeOnce sync.Once
	closeErr  error
}

// maxIdlePerHost is how many idle connections to the server are kept.
const maxIdlePerHost = 16

// Dial connects and logs in. A nil cfg takes everything from the
// environment (ConfigFromEnv); fields left empty in cfg are filled from
// the environment too, except Insecure: the environment never weakens
// certificate verification of an explicit cfg. The password is never required on a command line:
// use Config.Password, Config.PasswordFile, the URL or GOVC_PASSWORD.
func Dial(ctx context.Context, cfg *Config) (*Client, error) {
	env := ConfigFromEnv()
	c := env
	if cfg != nil {
		c = cfg.merged(env)
	}
	u, user, err := c.endpoint(env.Password)
	if err != nil {
		return nil, err
	}
	sc := soap.NewClient(u, c.Insecure)
	if c.CAFile != "" {
		if err := sc.SetRootCAs(c.CAFile); err != nil {
			return nil, newErr("dial", "", ErrConfig, err)
		}
	}
	if c.Thumbprint != "" {
		sc.SetThumbprint(u.Host, c.Thumbprint)
		if !c.Insecure {
			pinThumbprint(sc.DefaultTransport().TLSClientConfig, c.Thumbprint)
		}
	}
	// Backups read with several connections at once (parallel range
	// requests, configuration downloads during the transfer): keep them
	// all open between requests instead of net/http's default of two
	// idle connections per host, so that no request pays a new TLS
	// handshake (about 5 ms of CPU each).
	if t := sc.DefaultTransport(); t != nil {
		t.MaxIdleConnsPerHost = maxIdlePerHost
	}
	if c.WrapTransport != nil {
		sc.Client.Transport = c.WrapTransport(sc.Client.Transport)
	}
	vc, err := vim25.NewClient(ctx, sc)
	if err != nil {
		return nil, newErr("dial", "", ErrConnect, err)
	}
	idle := c.KeepAlive
	if idle == 0 {
		idle = 5 * time.Minute
	}
	if idle > 0 {
		vc.RoundTripper = keepalive.NewHandlerSOAP(vc.RoundTripper, idle, nil)
	}
	sm := session.NewManager(vc)
	if err := sm.Login(ctx, user); err != nil {
		return nil, newErr("dial", "", ErrConnect, err)
	}
	cl := &Client{vim: vc, sm: sm, finder: find.NewFinder(vc, false)}
	if err := cl.useDatacenter(ctx, c.Datacenter); err != nil {
		_ = cl.Close()
		return nil, err
	}
	return cl, nil
}

// NewClient wraps an already authenticated vim25 client (for example the
// one simulator.Test hands out). Close does not log it out.
func NewClient(ctx context.Context, vc *vim25.Client, datacenter string) (*Client, error) {
	cl := &Client{vim: vc, finder: find.NewFinder(vc, false)}
	if err := cl.useDatacenter(ctx, datacenter); err != nil {
		return nil, err
	}
	return cl, nil
}

func (c *Client) useDatacenter(ctx context.Context, name string) error {
	var (
		dc  *object.Datacenter
		err error
	)
	if name == "" {
		dc, err = c.finder.DefaultDatacenter(ctx)
	} else {
		dc, err = c.finder.Datacenter(ctx, name)
	}
	if err != nil {
		return newErr("dial", "", ErrNotFound, err)
	}
	c.dc = dc
	c.finder.SetDatacenter(dc)
	return nil
}

// Vim returns the underlying govmomi client, for what this package does
// not cover.
func (c *Client) Vim() *vim25.Client { return c.vim }

// Datacenter returns the datacenter the client works in.
func (c *Client) Datacenter() *object.Datacenter { return c.dc }

// Close logs out (when Dial logged in) with a fresh, bounded context, so a
// cancelled caller context does not leave the session open.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		if c.sm == nil {
			return
		}
		ctx, cancel := cleanupContext()
		defer cancel()
		if err := c.sm.Logout(ctx); err != nil {
			c.closeErr = newErr("close", "", ErrConnect, err)
		}
	})
	return c.closeErr
}

// cleanupTimeout bounds every cleanup call (snapshot removal, lease abort,
// logout) made with a fresh context after a failure or cancellation.
var cleanupTimeout = 2 * time.Minute

func cleanupContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), cleanupTimeout)
}

// pinThumbprint makes cfg accept a server certificate whose SHA-256 or
// SHA-1 thumbprint is the given one, or that verifies against the
// configured (or the system's) roots: what govmomi's soap client
// accepts, but in one TLS handshake. govmomi first handshakes with full
// verification and, when that fails for lack of trust, handshakes again
// without it to compare the thumbprint: two handshakes for every new
// connection to a server with a self-signed certificate, which is most
// ESXi hosts and vCenters.
func pinThumbprint(cfg *tls.Config, thumbprint string) {
	roots := cfg.RootCAs
	cfg.InsecureSkipVerify = true // verified below, in VerifyConnection
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("server sent no certificate")
		}
		leaf := cs.PeerCertificates[0]
		if thumbprint == soap.ThumbprintSHA256(leaf) || thumbprint == soap.ThumbprintSHA1(leaf) {
			return nil
		}
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: cs.ServerName}); err != nil {
			return fmt.Errorf("certificate matches neither thumbprint %s nor a trusted root: %w", thumbprint, err)
		}
		return nil
	}
}

// datastore looks up a datastore by name; safe for concurrent use.
func (c *Client) datastore(ctx context.Context, name string) (*object.Datastore, error) {
	c.finderMu.Lock()
	defer c.finderMu.Unlock()
	return c.finder.Datastore(ctx, name)
}
