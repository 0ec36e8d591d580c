package vcb_test

import (
	"context"
	"crypto/sha256"
	"io"
	"testing"

	"github.com/bulletproof-labs/wsvcb/vcb"
	"github.com/bulletproof-labs/wsvcb/vcb/vcbtest"
)

func TestBackupSmoke(t *testing.T) {
	env := newEnv(t)
	ctx := context.Background()
	_, err := vcbtest.CreateVM(ctx, env.c.Vim(), vcbtest.VMSpec{Name: "web01", DiskSizes: []int64{3 << 20, 1 << 20}, Seed: 7, PowerOn: true})
	if err != nil {
		t.Fatal(err)
	}
	vm, err := env.c.Find(ctx, vcb.Selector{Kind: vcb.SelectName, Value: "web01"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir() + "/web01"
	m, err := env.c.Backup(ctx, vm, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range m.Files {
		t.Logf("%s %s %d %s", f.Kind, f.Name, f.Size, f.SHA256[:12])
	}
	h := sha256.New()
	io.Copy(h, vcbtest.DiskContent(7, 3<<20))
	t.Logf("want %x", h.Sum(nil)[:6])
	if _, err := vcb.Verify(dir); err != nil {
		t.Fatal(err)
	}
}
