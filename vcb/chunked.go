package vcb

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"path/filepath"
	"sort"
	"sync"

	"github.com/bulletproof-labs/wsvcb/vcb/chunkstore"
	"github.com/bulletproof-labs/wsvcb/vcb/vmdk"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// KindRecipe is the manifest kind of a chunked disk: a chunkstore recipe
// listing the disk's chunks in the chunk store.
const KindRecipe = "recipe"

// ChunkedOptions tune BackupChunked.
type ChunkedOptions struct {
	// Backup holds the snapshot options shared with Backup (hooks,
	// quiesce, memory, progress, rotation); Compression is ignored.
	Backup *BackupOptions
	// Store is the chunk store the disks' data goes to (required). One
	// store can serve every VM: identical chunks are stored once.
	Store *chunkstore.Store
	// Parent is the directory of the previous chunked backup of the VM.
	// When set, each disk whose recorded change ID the server still
	// accepts is backed up incrementally: QueryChangedDiskAreas for the
	// extents changed since, and HTTP range reads of those only. Empty
	// means a full backup.
	Parent string
	// ChunkSize is the chunk size of full backups (default 256 KiB: smaller chunks
	// rewrite less around scattered changes, larger ones mean fewer files);
	// incremental backups keep the parent's.
	ChunkSize int64
}

// DiskStats describes how one disk was backed up.
type DiskStats struct {
	Slot         string `json:"slot"`
	Incremental  bool   `json:"incremental"`
	Reason       string `json:"reason,omitempty"` // why a full backup when a parent was given
	ChangeID     string `json:"changeId,omitempty"`
	ParentChange string `json:"parentChangeId,omitempty"`
	Extents      int    `json:"extents"`     // changed areas reported
	Transferred  int64  `json:"transferred"` // bytes read from the server
	Requests     int    `json:"requests"`    // HTTP requests for disk data
	Chunks       int    `json:"chunks"`      // chunks in the disk
	Changed      int    `json:"changed"`     // chunks rewritten
	NewChunks    int    `json:"newChunks"`   // chunks added to the store
}

// ChunkedBackup is the result of BackupChunked.
type ChunkedBackup struct {
	Manifest *Manifest
	Disks    []DiskStats
	// Transferred is the disk bytes read from the server, all disks.
	Transferred int64
}

// BackupChunked backs up vm into dir like Backup (same hooks, snapshot,
// temporary directory, manifest and cleanup guarantees), but stores the
// disks' content in a content-addressed chunk store and writes one
// recipe per disk (kind "recipe") in dir, recording the disk's change ID
// (changed block tracking). With opts.Parent it transfers only the
// extents QueryChangedDiskAreas reports as changed since the parent.
//
// Every backup of a chain is self-contained (its recipes list all
// chunks): RestoreChunked and VerifyChunked work on any of them, and
// deleting one never breaks another.
func (c *Client) BackupChunked(ctx context.Context, vm VMInfo, dir string, opts *ChunkedOptions) (*ChunkedBackup, error) {
	if opts == nil || opts.Store == nil {
		return nil, errf("backup", vm.MoRef, ErrConfig, "a chunk store is required")
	}
	o := opts.Backup.withDefaults()
	o.Compression = ""
	cs := opts.ChunkSize
	if cs == 0 {
		cs = chunkstore.DefaultChunkSize
	}
	if cs < chunkstore.MinChunkSize || cs > chunkstore.MaxChunkSize {
		return nil, errf("backup", vm.MoRef, ErrConfig, "chunk size %d outside [%d, %d]", cs, chunkstore.MinChunkSize, chunkstore.MaxChunkSize)
	}
	var parent *Manifest
	if opts.Parent != "" {
		m, err := Verify(opts.Parent)
		if err != nil {
			return nil, err
		}
		parent = m
	}
	b := &backup{c: c, o: o, dir: filepath.Clean(dir), m: &meter{op: "backup", fn: o.Progress}}
	cb := &chunkedBackup{b: b, store: opts.Store, parentDir: opts.Parent, parent: parent, chunkSize: cs, res: &ChunkedBackup{}}
	b.disks = cb.disks
	b.m.report(true)
	// The store's shared lock keeps a prune from removing this backup's
	// pending chunks (or chunks it deduplicates against) while it runs.
	release, err := opts.Store.Acquire()
	if err != nil {
		kind := ErrWrite
		if errors.Is(err, chunkstore.ErrBusy) {
			kind = ErrLocked
		}
		return nil, newErr("backup", vm.MoRef, kind, err)
	}
	man, err := b.run(ctx, vm)
	if err != nil {
		// No recipe will refer to the chunks not yet synced: remove them
		// now rather than leave them in the store's tmp/.
		if derr := opts.Store.Discard(); derr != nil {
			err = errors.Join(err, newErr("backup", vm.MoRef, ErrWrite, derr))
		}
		release()
		return nil, err
	}
	release()
	cb.res.Manifest = man
	if err := o.retire(ctx, filepath.Dir(b.dir), man.VM); err != nil {
		return cb.res, err
	}
	return cb.res, nil
}

type chunkedBackup struct {
	b         *backup
	store     *chunkstore.Store
	parentDir string
	parent    *Manifest
	chunkSize int64
	res       *ChunkedBackup
}

func (cb *chunkedBackup) disks(ctx context.Context, snap types.ManagedObjectReference, disks []Disk) error {
	b := cb.b
	b.m.setPhase("export", "")
	type done struct {
		d      Disk
		recipe *chunkstore.Recipe
	}
	var out []done
	for _, d := range disks {
		st := DiskStats{Slot: d.Slot, ChangeID: d.ChangeID}
		r, err := cb.disk(ctx, snap, d, &st)
		if err != nil {
			return err
		}
		r.ChangeID = st.ChangeID
		st.Chunks = len(r.Chunks)
		cb.res.Disks = append(cb.res.Disks, st)
		cb.res.Transferred += st.Transferred
		out = append(out, done{d, r})
	}
	// The chunks must be durable before a recipe refers to them, that
	// is before the backup is renamed into place: the store flushes
	// while the configuration and the metadata are written.
	b.flushInBackground(cb.store.Sync)
	for _, o := range out {
		txt, err := o.recipe.MarshalText()
		if err != nil {
			return b.fail(ErrWrite, err)
		}
		f, err := b.writeFile(ctx, diskFileName(o.d)+".recipe", KindRecipe, bytes.NewReader(txt), "")
		if err != nil {
			return err
		}
		f.Source, f.Slot, f.DeviceKey, f.Capacity, f.ChangeID = o.d.File, o.d.Slot, o.d.Key, o.d.CapacityBytes, o.d.ChangeID
		b.files = append(b.files, f)
	}
	return nil
}

// disk backs up one disk, incrementally when the parent allows it.
func (cb *chunkedBackup) disk(ctx context.Context, snap types.ManagedObjectReference, d Disk, st *DiskStats) (*chunkstore.Recipe, error) {
	u, desc, err := cb.diskSource(ctx, d)
	if err != nil {
		return nil, err
	}
	if cb.parent != nil {
		prev, reason := cb.parentRecipe(d)
		if prev != nil && desc != nil {
			prev, reason = nil, "the disk is not one flat extent"
		}
		if prev != nil && st.ChangeID == "" {
			prev, reason = nil, "the snapshot's disk has no change ID (changed block tracking off)"
		}
		if prev != nil {
			// Checking that every parent chunk is still stored costs one
			// stat per chunk: overlap it with the query and the transfer.
			missing := make(chan string, 1)
			go func() { missing <- cb.missingChunk(prev) }()
			r, why, err := cb.tryIncremental(ctx, snap, u, d, prev, missing, st)
			if why == "" {
				return r, err
			}
			reason = why
		}
		st.Reason = reason
	}
	return cb.full(ctx, u, desc, d, st)
}

// tryIncremental backs up d incrementally from prev. It returns why not
// (and the stats reset) when the server refuses the parent's change ID or
// missing reports a chunk of prev gone from the store.
func (cb *chunkedBackup) tryIncremental(ctx context.Context, snap types.ManagedObjectReference, u *url.URL, d Disk, prev *chunkstore.Recipe, missing <-chan string, st *DiskStats) (*chunkstore.Recipe, string, error) {
	b := cb.b
	st.ParentChange = prev.ChangeID
	areas, err := b.c.changedAreas(ctx, b.obj.Reference(), snap, d, prev.ChangeID)
	var r *chunkstore.Recipe
	switch {
	case err == nil:
		st.Incremental = true
		r, err = cb.incremental(ctx, u, d, prev, areas, st)
	case errors.Is(err, ErrTransfer) || ctx.Err() != nil:
		<-missing
		return nil, "", b.fail(ErrTransfer, err)
	default:
		<-missing
		// e.g. a reset change ID after a storage migration
		return nil, "QueryChangedDiskAreas: " + err.Error(), nil
	}
	// A missing parent chunk makes the incremental unusable (its recipe
	// would refer to it) and may also be why it failed: back up in full.
	if why := <-missing; why != "" && ctx.Err() == nil {
		*st = DiskStats{Slot: st.Slot, ChangeID: st.ChangeID}
		return nil, why, nil
	}
	return r, "", err
}

// missingChunk reports the first chunk of r missing from the store.
func (cb *chunkedBackup) missingChunk(r *chunkstore.Recipe) string {
	sum, missing, err := cb.store.Missing(r.Chunks)
	switch {
	case err != nil:
		return "checking the parent's chunks: " + err.Error()
	case missing:
		return "chunk " + sum.String() + " of the parent is missing from the store"
	}
	return ""
}

// parentRecipe returns the parent's recipe of the same disk when it can
// serve as the base of an incremental backup, or why not. It does not
// check that the recipe's chunks are still in the store (missingChunk).
func (cb *chunkedBackup) parentRecipe(d Disk) (*chunkstore.Recipe, string) {
	for _, f := range cb.parent.Files {
		if f.Kind != KindRecipe || f.DeviceKey != d.Key {
			continue
		}
		r, err := readRecipe(cb.parentDir, f)
		if err != nil {
			return nil, err.Error()
		}
		switch {
		case r.ChangeID == "":
			return nil, "the parent recorded no change ID"
		case r.Size != d.CapacityBytes:
			return nil, fmt.Sprintf("the disk was resized (%d -> %d bytes)", r.Size, d.CapacityBytes)
		}
		return r, ""
	}
	return nil, "the parent has no such disk"
}

func readRecipe(dir string, f File) (*chunkstore.Recipe, error) {
	rc, err := openContent(dir, f)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return chunkstore.ParseRecipe(io.LimitReader(rc, 1<<30))
}

// full reads the whole disk as one stream and chunks it: from u, or,
// when desc is set, from the extents it names.
func (cb *chunkedBackup) full(ctx context.Context, u *url.URL, desc *vmdk.Descriptor, d Disk, st *DiskStats) (*chunkstore.Recipe, error) {
	b := cb.b
	b.m.setPhase("export", diskFileName(d))
	var body io.ReadCloser
	if desc != nil {
		er, err := b.newExtentReader(ctx, d, desc)
		if err != nil {
			return nil, err
		}
		body = er
	} else {
		rc, _, err := b.c.get(ctx, u)
		if err != nil {
			return nil, b.fail(ErrTransfer, fmt.Errorf("disk %s: %w", d.Slot, err))
		}
		body = rc
	}
	defer body.Close()
	ch := chunkstore.NewChunker(cb.store, cb.chunkSize)
	src := io.LimitReader(&countingReader{ctx: ctx, r: body, m: b.m}, d.CapacityBytes)
	abort := func() {}
	if desc == nil {
		abort = func() { _ = body.Close() }
	}
	n, err := copyPipelined(ch, src, abort)
	if err != nil {
		var we *writeError
		var dse *DiskSizeError
		switch {
		case errors.As(err, &we):
			return nil, b.fail(ErrWrite, fmt.Errorf("disk %s: %w", d.Slot, we.err))
		case errors.As(err, &dse):
			dse.Capacity = d.CapacityBytes
			return nil, b.fail(ErrIncomplete, dse)
		}
		return nil, b.fail(ErrTransfer, fmt.Errorf("disk %s: %w", d.Slot, err))
	}
	st.Transferred, st.Requests = n, 1
	// The invariant: the content read covers exactly the capacity.
	if n < d.CapacityBytes {
		return nil, b.fail(ErrIncomplete, &DiskSizeError{Disk: d.Slot + " " + d.File, Capacity: d.CapacityBytes, Got: n})
	}
	var one [1]byte
	if m, _ := io.ReadFull(body, one[:]); m > 0 {
		return nil, b.fail(ErrIncomplete, &DiskSizeError{Disk: d.Slot + " " + d.File, Capacity: d.CapacityBytes, Got: n + 1, Detail: "the disk's data is longer than its capacity"})
	}
	r, err := ch.Close()
	if err != nil {
		return nil, b.fail(ErrWrite, err)
	}
	st.Changed, st.NewChunks = len(r.Chunks), ch.New
	return r, nil
}

// diskSource finds where the content of disk d is, for reads by offset:
// the disk's file itself when it holds raw data, or, when it is a VMDK
// text descriptor (how vcsim and ESXi datastores keep disks), its one
// flat extent. A descriptor with several extents, or others than flat
// ones, is returned for whole reads through its extents. The size of
// the raw data, when the server tells it, must be the capacity.
func (cb *chunkedBackup) diskSource(ctx context.Context, d Disk) (*url.URL, *vmdk.Descriptor, error) {
	b := cb.b
	var p object.DatastorePath
	if !p.FromString(d.File) {
		return nil, nil, b.fail(ErrTransfer, fmt.Errorf("disk %s: cannot parse path %q", d.Slot, d.File))
	}
	ds, err := b.c.datastore(ctx, p.Datastore)
	if err != nil {
		return nil, nil, b.fail(ErrNotFound, fmt.Errorf("datastore %s: %w", p.Datastore, err))
	}
	u := datastoreURL(ds, p.Path)
	body, size, err := b.c.get(ctx, u)
	if err != nil {
		return nil, nil, b.fail(ErrTransfer, fmt.Errorf("disk %s: %w", d.Slot, err))
	}
	var desc *vmdk.Descriptor
	if size < 0 || size <= maxDescriptor {
		desc = leaseDescriptor(bufio.NewReaderSize(body, maxDescriptor))
	}
	_ = body.Close()
	if desc == nil {
		if size >= 0 && size != d.CapacityBytes {
			return nil, nil, b.fail(ErrIncomplete, &DiskSizeError{Disk: d.Slot + " " + d.File, Capacity: d.CapacityBytes, Got: size})
		}
		return u, nil, nil
	}
	if len(desc.Extents) != 1 || desc.ParentFileNameHint != "" {
		return u, desc, nil
	}
	e := desc.Extents[0]
	if (e.Type != vmdk.ExtentFlat && e.Type != vmdk.ExtentVMFS) || e.Offset != 0 || e.FileName == "" {
		return u, desc, nil
	}
	if int64(e.Sectors)*512 != d.CapacityBytes {
		return nil, nil, b.fail(ErrIncomplete, &DiskSizeError{Disk: d.Slot + " " + d.File, Capacity: d.CapacityBytes, Got: int64(e.Sectors) * 512, Detail: "the descriptor's extents"})
	}
	ext := path.Join(path.Dir(p.Path), e.FileName)
	xu := datastoreURL(ds, ext)
	body, size, err = b.c.get(ctx, xu)
	if err != nil {
		return nil, nil, b.fail(ErrTransfer, fmt.Errorf("disk %s: extent %s: %w", d.Slot, ds.Path(ext), err))
	}
	_ = body.Close()
	if size >= 0 && size < d.CapacityBytes {
		return nil, nil, b.fail(ErrIncomplete, &DiskSizeError{Disk: d.Slot + " " + d.File, Capacity: d.CapacityBytes, Got: size, Detail: fmt.Sprintf("extent %s ends %d bytes early", e.FileName, d.CapacityBytes-size)})
	}
	return xu, nil, nil
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// Extent is a byte range of a disk.
type Extent struct{ Start, Length int64 }

// changedAreas asks QueryChangedDiskAreas, in as many calls as the server
// needs, for the extents of disk d changed between changeID and snap. The
// result is sorted, merged and clipped to the disk.
func (c *Client) changedAreas(ctx context.Context, vm, snap types.ManagedObjectReference, d Disk, changeID string) ([]Extent, error) {
	var out []Extent
	for off := int64(0); off < d.CapacityBytes; {
		res, err := methods.QueryChangedDiskAreas(ctx, c.vim, &types.QueryChangedDiskAreas{
			This: vm, Snapshot: &snap, DeviceKey: d.Key, StartOffset: off, ChangeId: changeID,
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil, newErr("backup", vm.Value, ErrTransfer, ctx.Err())
			}
			return nil, err
		}
		info := res.Returnval
		if info.Length <= 0 || info.StartOffset != off {
			return nil, fmt.Errorf("QueryChangedDiskAreas at %d answered for [%d, +%d)", off, info.StartOffset, info.Length)
		}
		for _, a := range info.ChangedArea {
			if a.Start < 0 || a.Length < 0 {
				return nil, fmt.Errorf("QueryChangedDiskAreas: bad extent %d+%d", a.Start, a.Length)
			}
			out = append(out, Extent{a.Start, a.Length})
		}
		off = info.StartOffset + info.Length
	}
	return normalize(out, d.CapacityBytes), nil
}

// normalize sorts, merges and clips extents to [0, size).
func normalize(in []Extent, size int64) []Extent {
	sort.Slice(in, func(i, j int) bool { return in[i].Start < in[j].Start })
	var out []Extent
	for _, e := range in {
		s, end := max(e.Start, 0), min(e.Start+e.Length, size)
		if e.Length <= 0 || s >= end {
			continue
		}
		if n := len(out); n > 0 && s <= out[n-1].Start+out[n-1].Length {
			out[n-1].Length = max(out[n-1].Length, end-out[n-1].Start)
			continue
		}
		out = append(out, Extent{s, end - s})
	}
	return out
}

// incrementalWorkers is how many batches of chunks an incremental backup
// rebuilds at once, overlapping range requests with hashing and writing.
var incrementalWorkers = 4

// chunkJob is one chunk to rebuild and the changed extents inside it.
type chunkJob struct {
	idx    int64
	pieces []Extent
}

// incremental starts from the parent's chunks and rewrites the chunks the
// changed extents touch: the old chunk from the store, overlaid with the
// changed bytes read with HTTP range requests.
func (cb *chunkedBackup) incremental(ctx context.Context, u *url.URL, d Disk, prev *chunkstore.Recipe, areas []Extent, st *DiskStats) (*chunkstore.Recipe, error) {
	b := cb.b
	b.m.setPhase("export", diskFileName(d))
	st.Extents = len(areas)
	r := &chunkstore.Recipe{Size: prev.Size, ChunkSize: prev.ChunkSize, Chunks: append([]chunkstore.Sum(nil), prev.Chunks...)}
	jobs := batches(splitByChunk(areas, r.ChunkSize), r.ChunkSize)

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		next = make(chan []chunkJob)
	)
	for range min(incrementalWorkers, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var bufs [][]byte
			multi := true
			for batch := range next {
				for len(bufs) < len(batch) {
					bufs = append(bufs, make([]byte, r.ChunkSize))
				}
				sums, added, reqs, moved, err := cb.rebuildChunks(ctx, u, d, prev, batch, bufs, &multi)
				if err != nil {
					cancel(err)
					continue
				}
				mu.Lock()
				for k, j := range batch {
					r.Chunks[j.idx] = sums[k]
					st.Changed++
				}
				st.Transferred += moved
				st.NewChunks += added
				st.Requests += reqs
				b.m.report(false)
				mu.Unlock()
			}
		}()
	}
feed:
	for _, j := range jobs {
		select {
		case next <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		var e *Error
		if errors.As(err, &e) {
			return nil, err
		}
		return nil, b.fail(ErrTransfer, err)
	}
	return r, nil
}

// splitByChunk cuts sorted, merged extents at chunk boundaries and groups
// them by chunk.
func splitByChunk(areas []Extent, cs int64) []chunkJob {
	var jobs []chunkJob
	for _, a := range areas {
		for s, end := a.Start, a.Start+a.Length; s < end; {
			idx := s / cs
			e := min(end, (idx+1)*cs)
			if n := len(jobs); n > 0 && jobs[n-1].idx == idx {
				jobs[n-1].pieces = append(jobs[n-1].pieces, Extent{s, e - s})
			} else {
				jobs = append(jobs, chunkJob{idx: idx, pieces: []Extent{{s, e - s}}})
			}
			s = e
		}
	}
	return jobs
}

// batches groups chunk jobs so that one multi-range request serves
// several chunks: at most maxRangesPerRequest ranges and 8 MiB of chunk
// buffers per batch, and small enough batches (down to 4 chunks) that
// every worker gets about two: one batch left over at the end would
// leave the other workers idle.
func batches(jobs []chunkJob, cs int64) [][]chunkJob {
	limit := max(1, int((8<<20)/cs))
	even := (len(jobs) + 2*incrementalWorkers - 1) / (2 * incrementalWorkers)
	maxChunks := min(limit, max(even, 4))
	var out [][]chunkJob
	var cur []chunkJob
	ranges := 0
	for _, j := range jobs {
		if len(cur) > 0 && (len(cur) >= maxChunks || ranges+len(j.pieces) > maxRangesPerRequest) {
			out = append(out, cur)
			cur, ranges = nil, 0
		}
		cur = append(cur, j)
		ranges += len(j.pieces)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// rebuildChunks rebuilds a batch of chunks: the parent's content with
// the changed pieces read from the server in one multi-range request.
func (cb *chunkedBackup) rebuildChunks(ctx context.Context, u *url.URL, d Disk, prev *chunkstore.Recipe, batch []chunkJob, bufs [][]byte, multi *bool) (sums []chunkstore.Sum, added, requests int, moved int64, err error) {
	b := cb.b
	var (
		pieces []Extent
		dst    [][]byte
		datas  = make([][]byte, len(batch))
	)
	for k, j := range batch {
		data, err := cb.store.Get(prev.Chunks[j.idx], bufs[k])
		if err != nil {
			return nil, 0, 0, 0, b.fail(ErrWrite, fmt.Errorf("disk %s: parent chunk %d: %w", d.Slot, j.idx, err))
		}
		if want := prev.ChunkLen(int(j.idx)); int64(len(data)) != want {
			return nil, 0, 0, 0, b.fail(ErrWrite, fmt.Errorf("disk %s: parent chunk %d has %d bytes, want %d", d.Slot, j.idx, len(data), want))
		}
		datas[k] = data
		start := j.idx * prev.ChunkSize
		for _, p := range j.pieces {
			pieces = append(pieces, p)
			dst = append(dst, data[p.Start-start:p.Start-start+p.Length])
			moved += p.Length
		}
	}
	requests, err = b.c.getRanges(ctx, u, pieces, dst, multi)
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
			err = cause
		}
		return nil, 0, 0, 0, b.fail(ErrTransfer, fmt.Errorf("disk %s: %w", d.Slot, err))
	}
	b.m.done.Add(moved)
	for _, data := range datas {
		sum, isNew, err := cb.store.Put(data)
		if err != nil {
			return nil, 0, 0, 0, b.fail(ErrWrite, err)
		}
		sums = append(sums, sum)
		if isNew {
			added++
		}
	}
	return sums, added, requests, moved, nil
}

// getRange reads len(p) bytes at off of u with an HTTP range request.
func (c *Client) getRange(ctx context.Context, u *url.URL, off int64, p []byte) error {
	if len(p) == 0 {
		return nil
	}
	res, err := c.vim.DownloadRequest(ctx, u, &soap.Download{
		Method:  http.MethodGet,
		Headers: map[string]string{"Range": fmt.Sprintf("bytes=%d-%d", off, off+int64(len(p))-1)},
	})
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusPartialContent {
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
		return &HTTPStatusError{Method: http.MethodGet, URL: redact(u), Status: res.StatusCode}
	}
	if _, err := io.ReadFull(res.Body, p); err != nil {
		return fmt.Errorf("range %d+%d: %w", off, len(p), err)
	}
	return nil
}
