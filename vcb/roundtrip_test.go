package vcb_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"

	"github.com/bulletproof-labs/wsvcb/vcb"
	"github.com/bulletproof-labs/wsvcb/vcb/vcbtest"
	"github.com/vmware/govmomi/find"
)

func sum(r io.Reader) string {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		panic(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// datastoreSum reads a file back with govmomi's own datastore download,
// independent of the vcb package.
func datastoreSum(t *testing.T, e *env, rel string) string {
	t.Helper()
	ctx := context.Background()
	f := find.NewFinder(e.c.Vim(), false)
	f.SetDatacenter(e.c.Datacenter())
	ds, err := f.Datastore(ctx, "LocalDS_0")
	if err != nil {
		t.Fatal(err)
	}
	rc, _, err := ds.Download(ctx, rel, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	return sum(rc)
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, comp := range []string{"", vcb.CompressionZstd} {
		t.Run("compression="+comp, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			ctx := context.Background()
			sizes := []int64{5 << 20, 3<<20 + 4096}
			if _, err := vcbtest.CreateVM(ctx, e.c.Vim(), vcbtest.VMSpec{Name: "db01", DiskSizes: sizes, Seed: 42, PowerOn: true}); err != nil {
				t.Fatal(err)
			}
			vm, err := e.c.Find(ctx, mustSel(t, "name:db01"))
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir() + "/db01"
			m, err := e.c.Backup(ctx, vm, dir, &vcb.BackupOptions{Compression: comp})
			if err != nil {
				t.Fatal(err)
			}
			disks := m.Disks()
			if len(disks) != 2 {
				t.Fatalf("backed up %d disks, want 2", len(disks))
			}
			for i, d := range disks {
				want := sum(vcbtest.DiskContent(42+uint64(i), sizes[i]))
				if d.RawSHA256 != want || d.RawSize != sizes[i] {
					t.Fatalf("disk %d: manifest %d %s, want %d %s", i, d.RawSize, d.RawSHA256, sizes[i], want)
				}
				if comp != "" && d.Size >= d.RawSize {
					t.Errorf("disk %d: compressed %d >= raw %d", i, d.Size, d.RawSize)
				}
			}
			if _, err := vcb.Verify(dir); err != nil {
				t.Fatal(err)
			}

			// In place without overwrite is refused.
			if _, err := e.c.Restore(ctx, dir, nil); !errors.Is(err, vcb.ErrExists) {
				t.Fatalf("restore over existing VM: %v, want ErrExists", err)
			}
			res, err := e.c.Restore(ctx, dir, &vcb.RestoreOptions{Name: "db01-copy"})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Verified || res.VM.Name != "db01-copy" || len(res.VM.Disks) != 2 {
				t.Fatalf("restore result %+v", res)
			}
			if res.VM.BIOSUUID == vm.BIOSUUID {
				t.Errorf("copy kept the BIOS UUID %s", vm.BIOSUUID)
			}
			for i := range sizes {
				want := sum(vcbtest.DiskContent(42+uint64(i), sizes[i]))
				got := datastoreSum(t, e, vcbtest.DiskPath("db01-copy", i))
				if got != want {
					t.Fatalf("restored disk %d: sha256 %s, want %s", i, got, want)
				}
			}
			assertNoSnapshots(t, e, vm.MoRef)
		})
	}
}

func mustSel(t testing.TB, s string) vcb.Selector {
	t.Helper()
	sel, err := vcb.ParseSelector(s)
	if err != nil {
		t.Fatal(err)
	}
	return sel
}
