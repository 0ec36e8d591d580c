package vcb

import (
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config says how to reach and authenticate to a vCenter or ESXi host.
// The zero value (or a nil *Config) takes everything from the environment,
// with the variable names govc uses (see ConfigFromEnv).
type Config struct {
	// URL of the SDK endpoint: "https://vc.example.com/sdk", or just a host
	// name ("vc.example.com"), in which case https and /sdk are added.
	URL string
	// Username and Password; when empty they come from the URL's user info,
	// then PasswordFile (first line), then the environment.
	Username     string
	Password     string
	PasswordFile string
	// Thumbprint is the server certificate's SHA-1 (or SHA-256) fingerprint
	// ("AB:CD:..."), accepted when the certificate does not verify.
	Thumbprint string
	// CAFile lists PEM files of trusted certificate authorities (separated
	// by the OS path list separator).
	CAFile string
	// Insecure disables certificate verification. Never implied: with a
	// non-nil Config, GOVC_INSECURE is ignored (pass ConfigFromEnv() or a
	// nil Config to honour it).
	Insecure bool
	// Datacenter to work in; empty means the only (default) datacenter.
	Datacenter string
	// KeepAlive is the idle interval between session keep-alive requests;
	// zero means 5 minutes, negative disables keep-alive.
	KeepAlive time.Duration
	// WrapTransport, when set, wraps the HTTP transport used for SOAP calls
	// and file transfers (for proxies, tracing or fault injection).
	WrapTransport func(http.RoundTripper) http.RoundTripper
}

// Environment variables read by ConfigFromEnv.
const (
	EnvURL          = "GOVC_URL"
	EnvUsername     = "GOVC_USERNAME"
	EnvPassword     = "GOVC_PASSWORD"
	EnvPasswordFile = "GOVC_PASSWORD_FILE"
	EnvInsecure     = "GOVC_INSECURE"
	EnvCAFile       = "GOVC_TLS_CA_CERTS"
	EnvThumbprint   = "GOVC_TLS_THUMBPRINT"
	EnvDatacenter   = "GOVC_DATACENTER"
)

// ConfigFromEnv returns a Config filled from the GOVC_* environment
// variables: GOVC_URL, GOVC_USERNAME, GOVC_PASSWORD, GOVC_PASSWORD_FILE,
// GOVC_INSECURE, GOVC_TLS_CA_CERTS, GOVC_TLS_THUMBPRINT, GOVC_DATACENTER.
func ConfigFromEnv() Config {
	insecure, _ := strconv.ParseBool(os.Getenv(EnvInsecure))
	return Config{
		URL:          os.Getenv(EnvURL),
		Username:     os.Getenv(EnvUsername),
		Password:     os.Getenv(EnvPassword),
		PasswordFile: os.Getenv(EnvPasswordFile),
		Insecure:     insecure,
		CAFile:       os.Getenv(EnvCAFile),
		Thumbprint:   os.Getenv(EnvThumbprint),
		Datacenter:   os.Getenv(EnvDatacenter),
	}
}

// merged fills the empty fields of c from env.
func (c Config) merged(env Config) Config {
	if c.URL == "" {
		c.URL = env.URL
	}
	if c.Username == "" {
		c.Username = env.Username
	}
	if c.Password == "" && c.PasswordFile == "" {
		c.PasswordFile = env.PasswordFile
	}
	if c.CAFile == "" {
		c.CAFile = env.CAFile
	}
	if c.Thumbprint == "" {
		c.Thumbprint = env.Thumbprint
	}
	if c.Datacenter == "" {
		c.Datacenter = env.Datacenter
	}
	// Insecure is never taken from the environment here: a caller that
	// set up a Config asked for verified TLS unless it said otherwise, and
	// GOVC_INSECURE must not weaken that. Only a nil *Config (everything
	// from the environment, ConfigFromEnv) honours GOVC_INSECURE.
	return c
}

// endpoint parses the URL and resolves the credentials, in the order
// Config fields, URL user info, password file, environment.
func (c Config) endpoint(envPassword string) (*url.URL, *url.Userinfo, error) {
	raw := strings.TrimSpace(c.URL)
	if raw == "" {
		return nil, nil, errf("dial", "", ErrConfig, "no URL (set Config.URL or %s)", EnvURL)
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, nil, newErr("dial", "", ErrConfig, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, nil, errf("dial", "", ErrConfig, "unsupported URL scheme %q", u.Scheme)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/sdk"
	}
	user, pass := c.Username, c.Password
	if u.User != nil {
		if user == "" {
			user = u.User.Username()
		}
		if p, ok := u.User.Password(); ok && pass == "" {
			pass = p
		}
		u.User = nil
	}
	if pass == "" && c.PasswordFile != "" {
		b, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return nil, nil, newErr("dial", "", ErrConfig, err)
		}
		pass = strings.TrimRight(strings.SplitN(string(b), "\n", 2)[0], "\r")
	}
	if pass == "" {
		pass = envPassword
	}
	if user == "" {
		return nil, nil, errf("dial", "", ErrConfig, "no user name (set Config.Username or %s)", EnvUsername)
	}
	return u, url.UserPassword(user, pass), nil
}
