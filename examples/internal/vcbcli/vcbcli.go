// Package vcbcli holds what the VCB-style commands (examples/vcbvmname,
// vcbmounter, vcbrestore) share: connection flags in VCB's spelling,
// password lookup (environment, file or prompt, never the command line),
// the embedded simulator behind -sim, JSON output and progress bars.
package vcbcli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/bulletproof-labs/wsvcb/vcb"
	"github.com/bulletproof-labs/wsvcb/vcb/vcbtest"
)

// Conn are the connection flags: -h HOST -u USER like VCB's tools.
type Conn struct {
	Host       string
	User       string
	PassFile   string
	Thumbprint string
	CAFile     string
	Insecure   bool
	Datacenter string
	Sim        bool
	JSON       bool
	// SimEmpty makes -sim start a simulator without the demo VM (a fresh
	// "other vCenter" to restore into).
	SimEmpty bool
}

// Register adds the flags to fs.
func (c *Conn) Register(fs *flag.FlagSet) {
	fs.StringVar(&c.Host, "h", "", "vCenter or ESX host (or URL); default $GOVC_URL")
	fs.StringVar(&c.User, "u", "", "user name; default $GOVC_USERNAME (the password comes from $GOVC_PASSWORD, -passfile or a prompt)")
	fs.StringVar(&c.PassFile, "passfile", "", "file whose first line is the password; default $GOVC_PASSWORD_FILE")
	fs.StringVar(&c.Thumbprint, "thumbprint", "", "expected SHA-1 thumbprint of the server certificate; default $GOVC_TLS_THUMBPRINT")
	fs.StringVar(&c.CAFile, "cacert", "", "PEM file(s) of trusted CAs; default $GOVC_TLS_CA_CERTS")
	fs.BoolVar(&c.Insecure, "k", false, "do not verify the server certificate (insecure)")
	fs.StringVar(&c.Datacenter, "dc", "", "datacenter; default the only one")
	fs.BoolVar(&c.Sim, "sim", false, "run against an embedded vSphere simulator (vcsim) holding a demo VM with real disk bytes")
	fs.BoolVar(&c.JSON, "json", false, "print results as JSON")
}

// Session is an open connection, with the simulator when -sim was given.
type Session struct {
	*vcb.Client
	Sim *vcbtest.Sim
}

// Close logs out and stops the simulator.
func (s *Session) Close() {
	_ = s.Client.Close()
	if s.Sim != nil {
		s.Sim.Close()
	}
}

// DemoVM is the name of the VM the -sim simulator holds.
const DemoVM = "vcbdemo"

// StartSim starts the embedded simulator with the demo VM (two disks of
// real bytes, powered on).
func StartSim(ctx context.Context, demo bool) (*vcbtest.Sim, vcb.Config, error) {
	sim, err := vcbtest.Start()
	if err != nil {
		return nil, vcb.Config{}, err
	}
	cfg := vcb.Config{URL: sim.URL.String(), Username: sim.Username, Password: sim.Password, Thumbprint: sim.Thumbprint}
	c, err := vcb.Dial(ctx, &cfg)
	if err != nil {
		sim.Close()
		return nil, cfg, err
	}
	defer c.Close()
	if !demo {
		return sim, cfg, nil
	}
	if _, err := vcbtest.CreateVM(ctx, c.Vim(), vcbtest.VMSpec{Name: DemoVM, DiskSizes: []int64{8 << 20, 4 << 20}, Seed: 2009, PowerOn: true}); err != nil {
		sim.Close()
		return nil, cfg, err
	}
	return sim, cfg, nil
}

// Connect dials per the flags (or starts the simulator with -sim).
func (c *Conn) Connect(ctx context.Context, stdin *os.File, stderr io.Writer) (*Session, error) {
	if c.Sim {
		vcbtest.Quiet()
		sim, cfg, err := StartSim(ctx, !c.SimEmpty)
		if err != nil {
			return nil, err
		}
		cl, err := vcb.Dial(ctx, &cfg)
		if err != nil {
			sim.Close()
			return nil, err
		}
		return &Session{Client: cl, Sim: sim}, nil
	}
	cfg := vcb.Config{URL: c.Host, Username: c.User, PasswordFile: c.PassFile, Thumbprint: c.Thumbprint,
		CAFile: c.CAFile, Insecure: c.Insecure, Datacenter: c.Datacenter}
	env := vcb.ConfigFromEnv()
	if cfg.PasswordFile == "" && env.PasswordFile == "" && env.Password == "" {
		pw, err := prompt(stdin, stderr)
		if err != nil {
			return nil, err
		}
		cfg.Password = pw
	}
	cl, err := vcb.Dial(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	return &Session{Client: cl}, nil
}

// prompt reads the password from the terminal without echo.
func prompt(stdin *os.File, stderr io.Writer) (string, error) {
	if stdin == nil || !term.IsTerminal(int(stdin.Fd())) {
		return "", errors.New("no password: set GOVC_PASSWORD or GOVC_PASSWORD_FILE, use -passfile, or run on a terminal to be prompted")
	}
	fmt.Fprint(stderr, "Password: ")
	b, err := term.ReadPassword(int(stdin.Fd()))
	fmt.Fprintln(stderr)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// PrintJSON writes v as indented JSON.
func PrintJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Fail prints err to stderr in the tools' style and returns exit code 1.
func Fail(stderr io.Writer, tool string, err error) int {
	fmt.Fprintf(stderr, "%s: %v\n", tool, err)
	return 1
}
