package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/bulletproof-labs/wsvcb/vcb"
)

func TestSim(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"-sim", "-s", "name:vcbdemo"}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.HasPrefix(out.String(), "Found VM:\nmoref:vm-") || !strings.Contains(out.String(), "name:vcbdemo\n") {
		t.Fatalf("output:\n%s", out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"-sim", "-json", "-s", "powerstate:on"}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var vms []vcb.VMInfo
	if err := json.Unmarshal(out.Bytes(), &vms); err != nil || len(vms) < 2 {
		t.Fatalf("json: %v, %d VMs", err, len(vms))
	}
	if code := run(context.Background(), []string{"-sim", "-s", "bogus"}, nil, &out, &errb); code == 0 {
		t.Fatal("bad selector accepted")
	}
}

func TestNoPasswordOnCommandLine(t *testing.T) {
	t.Setenv(vcb.EnvPassword, "")
	t.Setenv(vcb.EnvPasswordFile, "")
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"-h", "127.0.0.1:1", "-u", "x"}, nil, &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), "GOVC_PASSWORD") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}
