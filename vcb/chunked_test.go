package vcb_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulletproof-labs/wsvcb/vcb"
	"github.com/bulletproof-labs/wsvcb/vcb/chunkstore"
	"github.com/bulletproof-labs/wsvcb/vcb/vcbtest"
	"github.com/vmware/govmomi/vim25/types"
)

// cbtEnv is a simulator with changed block tracking and one tracked VM
// with a disk of real bytes.
type cbtEnv struct {
	*env
	cbt   *vcbtest.CBT
	vm    vcb.VMInfo
	ref   types.ManagedObjectReference
	store *chunkstore.Store
	root  string
}

func newCBTEnv(t testing.TB, name string, size int64) *cbtEnv {
	t.Helper()
	e := newEnv(t)
	ctx := context.Background()
	cbt := vcbtest.EnableCBT(e.sim.Model)
	obj, err := vcbtest.CreateVM(ctx, e.c.Vim(), vcbtest.VMSpec{Name: name, DiskSizes: []int64{size}, Seed: 7, PowerOn: true, Direct: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := cbt.Track(obj.Reference()); err != nil {
		t.Fatal(err)
	}
	vm, err := e.c.Find(ctx, vcb.Selector{Kind: vcb.SelectName, Value: name})
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	store, err := chunkstore.Open(filepath.Join(root, "store"))
	if err != nil {
		t.Fatal(err)
	}
	return &cbtEnv{env: e, cbt: cbt, vm: vm, ref: obj.Reference(), store: store, root: root}
}

// change overwrites about frac of the disk with random 64 KiB writes and
// returns the number of distinct bytes changed.
func (ce *cbtEnv) change(t testing.TB, size int64, frac float64, seed uint64) int64 {
	t.Helper()
	const w = 64 << 10
	rng := rand.New(rand.NewPCG(seed, 1))
	n := int(float64(size)*frac) / w
	touched := map[int64]bool{}
	buf := make([]byte, w)
	for len(touched) < n {
		blk := rng.Int64N(size / w)
		if touched[blk] {
			continue
		}
		touched[blk] = true
		for i := range buf {
			buf[i] = byte(rng.Uint32())
		}
		if err := ce.cbt.WriteAt(ce.ref, 0, buf, blk*w); err != nil {
			t.Fatal(err)
		}
	}
	return int64(n) * w
}

func localSum(t testing.TB, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return sum(f)
}

func TestBackupChunkedIncremental(t *testing.T) {
	const size = 64 << 20
	ce := newCBTEnv(t, "cbt01", size)
	ce.cbt.MaxAreas = 4 // answer in parts, like ESXi, so the query loop runs
	ctx := context.Background()
	diskFile, err := ce.cbt.DiskFile(ce.ref, 0)
	if err != nil {
		t.Fatal(err)
	}
	orig := localSum(t, diskFile)

	full := filepath.Join(ce.root, "backups", "cbt01-1")
	r1, err := ce.c.BackupChunked(ctx, ce.vm, full, &vcb.ChunkedOptions{Store: ce.store})
	if err != nil {
		t.Fatal(err)
	}
	if d := r1.Disks[0]; d.Incremental || d.Transferred != size || d.Chunks != 256 || d.ChangeID == "" {
		t.Fatalf("full backup stats %+v", d)
	}

	changed := ce.change(t, size, 0.01, 1)
	inc := filepath.Join(ce.root, "backups", "cbt01-2")
	r2, err := ce.c.BackupChunked(ctx, ce.vm, inc, &vcb.ChunkedOptions{Store: ce.store, Parent: full})
	if err != nil {
		t.Fatal(err)
	}
	d := r2.Disks[0]
	t.Logf("full: %d bytes; incremental: %d bytes in %d extents, %d HTTP requests, %d of %d chunks rewritten (%.2f%% of the disk changed)",
		r1.Transferred, r2.Transferred, d.Extents, d.Requests, d.Changed, d.Chunks, 100*float64(changed)/size)
	if !d.Incremental || d.ParentChange != r1.Disks[0].ChangeID {
		t.Fatalf("not incremental: %+v", d)
	}
	// Exactly the changed bytes move: CBT extents are read with range
	// requests and overlaid on the parent's chunks.
	if r2.Transferred != changed {
		t.Fatalf("incremental moved %d bytes, %d changed", r2.Transferred, changed)
	}
	if d.Requests >= d.Extents {
		t.Errorf("%d requests for %d extents: multi-range requests not used", d.Requests, d.Extents)
	}
	if r2.Transferred > size/50 {
		t.Fatalf("incremental moved %d bytes, more than 2%% of %d", r2.Transferred, size)
	}
	assertNoSnapshots(t, ce.env, ce.vm.MoRef)

	// No change: nothing moves, same recipe.
	r3, err := ce.c.BackupChunked(ctx, ce.vm, filepath.Join(ce.root, "backups", "cbt01-3"), &vcb.ChunkedOptions{Store: ce.store, Parent: inc})
	if err != nil {
		t.Fatal(err)
	}
	if r3.Transferred != 0 || r3.Disks[0].Changed != 0 || !r3.Disks[0].Incremental {
		t.Fatalf("unchanged disk: %+v", r3.Disks[0])
	}

	for _, dir := range []string{full, inc} {
		if _, err := vcb.VerifyChunked(dir, ce.store); err != nil {
			t.Fatal(err)
		}
	}

	// Restoring the latest rebuilds the changed disk byte for byte, and the
	// first backup still rebuilds the original one.
	latest := localSum(t, diskFile)
	for _, c := range []struct{ dir, name, want string }{{inc, "cbt01-latest", latest}, {full, "cbt01-first", orig}} {
		res, err := ce.c.RestoreChunked(ctx, c.dir, ce.store, &vcb.RestoreOptions{Name: c.name})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Verified {
			t.Fatalf("restore %s not verified", c.name)
		}
		if got := datastoreSum(t, ce.env, vcbtest.DiskPath(c.name, 0)); got != c.want {
			t.Fatalf("restored %s: sha256 %s, want %s", c.name, got, c.want)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(ce.root, "backups")); len(ents) != 3 {
		t.Fatalf("backup directory holds %d entries, want the 3 backups only", len(ents))
	}
}

func TestBackupChunkedDedupAcrossVMs(t *testing.T) {
	const size = 8 << 20
	ce := newCBTEnv(t, "dedup01", size)
	ctx := context.Background()
	if _, err := ce.c.BackupChunked(ctx, ce.vm, filepath.Join(ce.root, "a"), &vcb.ChunkedOptions{Store: ce.store}); err != nil {
		t.Fatal(err)
	}
	// A second VM with the same disk content: every chunk is known.
	if _, err := vcbtest.CreateVM(ctx, ce.c.Vim(), vcbtest.VMSpec{Name: "dedup02", DiskSizes: []int64{size}, Seed: 7, Direct: true}); err != nil {
		t.Fatal(err)
	}
	vm2, err := ce.c.Find(ctx, vcb.Selector{Kind: vcb.SelectName, Value: "dedup02"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := ce.c.BackupChunked(ctx, vm2, filepath.Join(ce.root, "b"), &vcb.ChunkedOptions{Store: ce.store})
	if err != nil {
		t.Fatal(err)
	}
	if d := r.Disks[0]; d.NewChunks != 0 || d.Chunks != 32 {
		t.Fatalf("second VM stored %d new chunks of %d, want 0", d.NewChunks, d.Chunks)
	}
	// Without change tracking on dedup02, a parent does not help: full.
	r2, err := ce.c.BackupChunked(ctx, vm2, filepath.Join(ce.root, "c"), &vcb.ChunkedOptions{Store: ce.store, Parent: filepath.Join(ce.root, "b")})
	if err != nil {
		t.Fatal(err)
	}
	if d := r2.Disks[0]; d.Incremental || d.Reason == "" {
		t.Fatalf("untracked VM: %+v", d)
	}
	t.Logf("fallback reason: %s", r2.Disks[0].Reason)
}

// A parent whose chunks are no longer all in the store cannot serve as
// the base of an incremental backup: the disk is backed up in full.
func TestBackupChunkedParentChunkMissing(t *testing.T) {
	const size = 4 << 20
	ce := newCBTEnv(t, "missing01", size)
	ctx := context.Background()
	full := filepath.Join(ce.root, "full")
	if _, err := ce.c.BackupChunked(ctx, ce.vm, full, &vcb.ChunkedOptions{Store: ce.store}); err != nil {
		t.Fatal(err)
	}
	var victim string
	_ = filepath.WalkDir(filepath.Join(ce.store.Dir(), "chunks"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && victim == "" {
			victim = p
		}
		return nil
	})
	if err := os.Remove(victim); err != nil {
		t.Fatal(err)
	}
	ce.change(t, size, 0.05, 11)
	inc := filepath.Join(ce.root, "inc")
	r, err := ce.c.BackupChunked(ctx, ce.vm, inc, &vcb.ChunkedOptions{Store: ce.store, Parent: full})
	if err != nil {
		t.Fatal(err)
	}
	if d := r.Disks[0]; d.Incremental || !strings.Contains(d.Reason, "missing from the store") || d.Transferred != size {
		t.Fatalf("parent with a missing chunk: %+v", d)
	}
	if _, err := vcb.VerifyChunked(inc, ce.store); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyChunkedDetectsCorruption(t *testing.T) {
	const size = 4 << 20
	ce := newCBTEnv(t, "corrupt01", size)
	ctx := context.Background()
	dir := filepath.Join(ce.root, "bk")
	if _, err := ce.c.BackupChunked(ctx, ce.vm, dir, &vcb.ChunkedOptions{Store: ce.store}); err != nil {
		t.Fatal(err)
	}
	// Damage one chunk file of the store.
	var victim string
	_ = filepath.WalkDir(filepath.Join(ce.store.Dir(), "chunks"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && victim == "" {
			victim = p
		}
		return nil
	})
	if err := os.WriteFile(victim, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := vcb.VerifyChunked(dir, ce.store); !errors.Is(err, vcb.ErrChecksum) {
		t.Fatalf("VerifyChunked: %v, want ErrChecksum", err)
	}
	if _, err := ce.c.RestoreChunked(ctx, dir, ce.store, &vcb.RestoreOptions{Name: "corrupt01-copy"}); !errors.Is(err, vcb.ErrChecksum) {
		t.Fatalf("RestoreChunked: %v, want ErrChecksum", err)
	}
}

// BenchmarkIncremental measures the full and the incremental chunked
// backup of a 1 GiB disk after 1% of it changed (64 KiB writes at random
// places), and checks that the restore of the incremental is exact.
// Reported: MB moved, percent of the disk moved, and the time of each
// backup; incr/full-% is the incremental's time as a percentage of the
// full backup's.
func BenchmarkIncremental(b *testing.B) {
	if testing.Short() {
		b.Skip("writes a 1 GiB disk; not in -short")
	}
	const size = 1 << 30
	ce := newCBTEnv(b, "bench-cbt", size)
	for _, cs := range []int64{256 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("chunk=%dKiB", cs>>10), func(b *testing.B) { benchIncremental(b, ce, size, cs) })
	}
}

func benchIncremental(b *testing.B, ce *cbtEnv, size, cs int64) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		root := filepath.Join(ce.root, fmt.Sprint(i))
		store, err := chunkstore.Open(filepath.Join(root, "store"))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		full := filepath.Join(root, "full")
		r1, err := ce.c.BackupChunked(ctx, ce.vm, full, &vcb.ChunkedOptions{Store: store, ChunkSize: cs})
		if err != nil {
			b.Fatal(err)
		}
		tFull := time.Since(start)
		b.StopTimer()
		changed := ce.change(b, size, 0.01, uint64(i)+100)
		b.StartTimer()
		start = time.Now()
		inc := filepath.Join(root, "inc")
		r2, err := ce.c.BackupChunked(ctx, ce.vm, inc, &vcb.ChunkedOptions{Store: store, Parent: full})
		if err != nil {
			b.Fatal(err)
		}
		tInc := time.Since(start)
		b.StopTimer()
		if !r2.Disks[0].Incremental || r2.Transferred != changed {
			b.Fatalf("incremental moved %d bytes, %d changed: %+v", r2.Transferred, changed, r2.Disks[0])
		}
		// Restore of the latest is byte-identical to the disk.
		dst := filepath.Join(root, "materialized")
		start = time.Now()
		m, err := vcb.Materialize(inc, store, dst)
		if err != nil {
			b.Fatal(err)
		}
		tMat := time.Since(start)
		diskFile, _ := ce.cbt.DiskFile(ce.ref, 0)
		if got, want := m.Disks()[0].RawSHA256, localSum(b, diskFile); got != want {
			b.Fatalf("materialized disk sha256 %s, disk %s", got, want)
		}
		b.ReportMetric(float64(r1.Transferred)/1e6, "full-MB")
		b.ReportMetric(float64(r2.Transferred)/1e6, "incr-MB")
		b.ReportMetric(100*float64(r2.Transferred)/float64(r1.Transferred), "incr/full-bytes-%")
		b.ReportMetric(tFull.Seconds()*1e3, "full-ms")
		b.ReportMetric(tInc.Seconds()*1e3, "incr-ms")
		b.ReportMetric(100*tInc.Seconds()/tFull.Seconds(), "incr/full-time-%")
		b.ReportMetric(tMat.Seconds()*1e3, "materialize-ms")
		_ = os.RemoveAll(root)
		b.StartTimer()
	}
}

// A cancelled chunked backup (full or incremental) leaves no snapshot and
// no directory that looks complete, and the chunk store stays usable.
func TestBackupChunkedCancelled(t *testing.T) {
	const size = 16 << 20
	ce := newCBTEnv(t, "cancel01", size)
	full := filepath.Join(ce.root, "bk", "full")
	if _, err := ce.c.BackupChunked(context.Background(), ce.vm, full, &vcb.ChunkedOptions{Store: ce.store}); err != nil {
		t.Fatal(err)
	}
	ce.change(t, size, 0.05, 9)
	for _, parent := range []string{"", full} {
		ctx, cancel := context.WithCancel(context.Background())
		prog := func(p vcb.Progress) {
			if p.Phase == "export" {
				cancel()
			}
		}
		dir := filepath.Join(ce.root, "bk", "cancelled")
		_, err := ce.c.BackupChunked(ctx, ce.vm, dir, &vcb.ChunkedOptions{Store: ce.store, Parent: parent, Backup: &vcb.BackupOptions{Progress: prog}})
		cancel()
		if err == nil || !errors.Is(err, context.Canceled) && !errors.Is(err, vcb.ErrTransfer) {
			t.Fatalf("parent %q: err %v, want a cancelled transfer", parent, err)
		}
		if ents, _ := os.ReadDir(filepath.Join(ce.root, "bk")); len(ents) != 1 {
			t.Fatalf("parent %q: left behind %v", parent, ents)
		}
		assertNoSnapshots(t, ce.env, ce.vm.MoRef)
	}
	// The chain continues from the good backup.
	r, err := ce.c.BackupChunked(context.Background(), ce.vm, filepath.Join(ce.root, "bk", "next"), &vcb.ChunkedOptions{Store: ce.store, Parent: full})
	if err != nil || !r.Disks[0].Incremental {
		t.Fatalf("after cancellation: %v %+v", err, r)
	}
	if _, err := vcb.VerifyChunked(filepath.Join(ce.root, "bk", "next"), ce.store); err != nil {
		t.Fatal(err)
	}
}

func TestPruneChunks(t *testing.T) {
	const size = 4 << 20
	ce := newCBTEnv(t, "prune01", size)
	ctx := context.Background()
	parent := filepath.Join(ce.root, "bk")
	if _, err := ce.c.BackupChunked(ctx, ce.vm, filepath.Join(parent, "1"), &vcb.ChunkedOptions{Store: ce.store}); err != nil {
		t.Fatal(err)
	}
	ce.change(t, size, 0.25, 3)
	if _, err := ce.c.BackupChunked(ctx, ce.vm, filepath.Join(parent, "2"), &vcb.ChunkedOptions{Store: ce.store, Parent: filepath.Join(parent, "1")}); err != nil {
		t.Fatal(err)
	}
	// Rotation removed the first backup; age every chunk past the grace.
	if err := os.RemoveAll(filepath.Join(parent, "1")); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * chunkstore.PruneGrace)
	_ = filepath.WalkDir(filepath.Join(ce.store.Dir(), "chunks"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			_ = os.Chtimes(p, old, old)
		}
		return nil
	})
	st, err := vcb.PruneChunks(ce.store, parent)
	if err != nil {
		t.Fatal(err)
	}
	if st.Removed == 0 || st.Kept != 16 {
		t.Fatalf("prune %+v, want the replaced chunks removed and 16 kept", st)
	}
	if _, err := vcb.VerifyChunked(filepath.Join(parent, "2"), ce.store); err != nil {
		t.Fatal(err)
	}
}
