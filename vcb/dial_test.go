package vcb_test

import (
	"context"
	"crypto/x509"
	"errors"
	"github.com/vmware/govmomi/vim25/soap"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bulletproof-labs/wsvcb/vcb"
	"github.com/bulletproof-labs/wsvcb/vcb/vcbtest"
)

func TestDialTLS(t *testing.T) {
	t.Parallel()
	sim, err := vcbtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	ctx := context.Background()
	base := vcb.Config{URL: sim.URL.String(), Username: sim.Username, Password: sim.Password, KeepAlive: -1}

	// The simulator's certificate is self-signed: no verification, no login.
	if _, err := vcb.Dial(ctx, &base); !errors.Is(err, vcb.ErrConnect) {
		t.Fatalf("unverified certificate: err = %v, want ErrConnect", err)
	}
	wrong := base
	wrong.Thumbprint = strings.Repeat("AB:", 19) + "AB"
	if _, err := vcb.Dial(ctx, &wrong); !errors.Is(err, vcb.ErrConnect) {
		t.Fatalf("wrong thumbprint: err = %v, want ErrConnect", err)
	}
	for name, mod := range map[string]func(*vcb.Config){
		"thumbprint": func(c *vcb.Config) { c.Thumbprint = sim.Thumbprint },
		"insecure":   func(c *vcb.Config) { c.Insecure = true },
		"ca": func(c *vcb.Config) {
			f, err := sim.Server.CertificateFile()
			if err != nil {
				t.Fatal(err)
			}
			c.CAFile = f
		},
		// A trusted certificate is accepted whatever the thumbprint, as
		// govmomi does.
		"ca+other-thumbprint": func(c *vcb.Config) {
			f, err := sim.Server.CertificateFile()
			if err != nil {
				t.Fatal(err)
			}
			c.CAFile = f
			c.Thumbprint = wrong.Thumbprint
		},
		"sha256-thumbprint": func(c *vcb.Config) {
			c.Thumbprint = soap.ThumbprintSHA256(sim.Server.Certificate())
		},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := base
			mod(&cfg)
			c, err := vcb.Dial(ctx, &cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestDialCredentials(t *testing.T) {
	sim, err := vcbtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	ctx := context.Background()

	// Everything from the environment, password from a file.
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte(sim.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(vcb.EnvURL, sim.URL.Host)
	t.Setenv(vcb.EnvUsername, sim.Username)
	t.Setenv(vcb.EnvPasswordFile, pw)
	t.Setenv(vcb.EnvThumbprint, sim.Thumbprint)
	c, err := vcb.Dial(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	vms, err := c.List(ctx, vcb.Selector{Kind: vcb.SelectAny})
	if err != nil || len(vms) == 0 {
		t.Fatalf("List: %d VMs, %v", len(vms), err)
	}
	_ = c.Close()

	// A wrong password is a login failure.
	t.Setenv(vcb.EnvPasswordFile, "")
	t.Setenv(vcb.EnvPassword, "wrong")
	if _, err := vcb.Dial(ctx, nil); !errors.Is(err, vcb.ErrConnect) {
		t.Fatalf("wrong password: %v", err)
	}
	t.Setenv(vcb.EnvURL, "")
	if _, err := vcb.Dial(ctx, nil); !errors.Is(err, vcb.ErrConfig) {
		t.Fatalf("no URL: %v", err)
	}
}

// GOVC_INSECURE=1 fills nothing into an explicit Config: Insecure:false
// still verifies the simulator's self-signed certificate and fails; only
// a nil Config (everything from the environment) honours it.
func TestDialEnvNeverWeakensTLS(t *testing.T) {
	sim, err := vcbtest.Start()
	require.NoError(t, err)
	defer sim.Close()
	ctx := context.Background()
	t.Setenv(vcb.EnvInsecure, "1")
	t.Setenv(vcb.EnvURL, sim.URL.String())
	t.Setenv(vcb.EnvUsername, sim.Username)
	t.Setenv(vcb.EnvPassword, sim.Password)
	t.Setenv(vcb.EnvThumbprint, "")
	t.Setenv(vcb.EnvCAFile, "")

	cfg := vcb.Config{URL: sim.URL.String(), Username: sim.Username, Password: sim.Password, KeepAlive: -1, Insecure: false}
	_, err = vcb.Dial(ctx, &cfg)
	require.Error(t, err)
	assert.ErrorIs(t, err, vcb.ErrConnect)
	var uerr x509.UnknownAuthorityError
	assert.True(t, errors.As(err, &uerr) || strings.Contains(err.Error(), "certificate"), "want a certificate error, got %v", err)

	// An empty explicit Config is still explicit.
	_, err = vcb.Dial(ctx, &vcb.Config{KeepAlive: -1})
	assert.ErrorIs(t, err, vcb.ErrConnect)

	// A nil Config asks for the environment, GOVC_INSECURE included.
	c, err := vcb.Dial(ctx, nil)
	require.NoError(t, err)
	assert.NoError(t, c.Close())

	// So does ConfigFromEnv.
	env := vcb.ConfigFromEnv()
	assert.True(t, env.Insecure)
	env.KeepAlive = -1
	c, err = vcb.Dial(ctx, &env)
	require.NoError(t, err)
	assert.NoError(t, c.Close())
}
