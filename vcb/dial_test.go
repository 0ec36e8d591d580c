package vcb_test

import (
	"context"
	"errors"
	"github.com/vmware/govmomi/vim25/soap"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
