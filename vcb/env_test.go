package vcb_test

import (
	"context"
	"testing"

	"github.com/bulletproof-labs/wsvcb/internal/vcbsim"
	"github.com/bulletproof-labs/wsvcb/vcb"
)

type env struct {
	sim *vcbsim.Sim
	c   *vcb.Client
	cfg vcb.Config
}

func newEnv(t testing.TB) *env {
	t.Helper()
	sim, err := vcbsim.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	cfg := vcb.Config{URL: sim.URL.String(), Username: sim.Username, Password: sim.Password, Thumbprint: sim.Thumbprint}
	c, err := vcb.Dial(context.Background(), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &env{sim: sim, c: c, cfg: cfg}
}
