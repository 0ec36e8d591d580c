package vmdk_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/bulletproof-labs/wsvcb/internal/testenv"
	"github.com/bulletproof-labs/wsvcb/vcb/vmdk"
)

// streamMarker is one marker of a streamOptimized image, found by walking
// a known-good image (the test's own reference walk).
type streamMarker struct {
	off, end int64 // file range of the marker and what it announces
	grain    int64 // grain number, -1 for metadata markers
	typ      uint32
}

func walkStream(t testing.TB, img []byte) (markers []streamMarker, grainSectors uint64) {
	t.Helper()
	h, err := vmdk.ParseHeader(img)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	for off := int64(h.OverHead) * 512; off+16 <= int64(len(img)); {
		val, size := le.Uint64(img[off:]), int64(le.Uint32(img[off+8:]))
		if size != 0 {
			end := off + 12 + size
			markers = append(markers, streamMarker{off, end, int64(val / h.GrainSize), 0})
			off = (end + 511) / 512 * 512
			continue
		}
		typ := le.Uint32(img[off+12:])
		end := off + 512 + int64(val)*512
		markers = append(markers, streamMarker{off, end, -1, typ})
		if typ == vmdk.MarkerEOS {
			break
		}
		off = end
	}
	return markers, h.GrainSize
}

// checkCut opens img cut to c bytes and checks the recovery against the
// source disk raw and the reference walk: the grains wholly inside the cut
// are found; the known prefix ends after the last grain found or the last
// grain table written (library images), or covers the disk once the cut
// passes the GD or end-of-stream marker; every unfound grain of the prefix
// is zero in the source; unknown grains fail with ErrTruncated. With full,
// every grain is read and compared and Verify is run (inflating every
// grain is what makes a cut expensive).
func checkCut(t *testing.T, img, raw []byte, markers []streamMarker, grainSectors uint64, c int64, full bool) {
	t.Helper()
	cut := img[:c]
	d, err := vmdk.NewSparseReader(bytes.NewReader(cut), c)
	if err != nil {
		t.Fatalf("cut at %d: open: %v", c, err)
	}
	rec := d.Recovered()
	if len(rec) != 1 {
		t.Fatalf("cut at %d: Recovered = %+v, want one", c, rec)
	}
	r := rec[0]
	gb := int64(grainSectors) * 512
	numGrains := (d.Size() + gb - 1) / gb
	const per = 512 // grain table entries of both writers
	found := map[int64]bool{}
	complete, known, lastGrain := false, int64(0), int64(-1)
	for _, m := range markers {
		switch {
		case m.off+16 > c && !(m.grain >= 0 && m.end <= c):
		case m.grain >= 0:
			if m.end <= c {
				found[m.grain] = true
				known = max(known, m.grain+1)
			}
			lastGrain = m.grain
		case m.typ == vmdk.MarkerGT:
			if m.end <= c && lastGrain >= 0 {
				known = max(known, (lastGrain/per+1)*per)
			}
		default:
			complete = true
		}
	}
	if complete {
		known = numGrains
		for _, m := range markers {
			if m.grain >= 0 {
				found[m.grain] = true
			}
		}
	}
	known = min(known, numGrains)
	if r.Grains != int64(len(found)) || r.Complete != complete || r.KnownBytes != min(known*gb, d.Size()) {
		t.Fatalf("cut at %d: %d grains complete=%v known=%d, want %d, %v, %d (%+v)", c, r.Grains, r.Complete, r.KnownBytes, len(found), complete, known*gb, r)
	}
	if complete != (r.StopErr == nil) || !complete && !errors.Is(r.StopErr, vmdk.ErrCorrupt) {
		t.Fatalf("cut at %d: StopErr %v with complete=%v", c, r.StopErr, complete)
	}
	buf := make([]byte, gb)
	firstUnknown := true
	for g := int64(0); g < numGrains; g++ {
		off := g * gb
		n := min(gb, d.Size()-off)
		if !full && found[g] && g != known-1 {
			continue
		}
		if !full && g >= known && !firstUnknown {
			break
		}
		_, err := d.ReadAt(buf[:n], off)
		switch {
		case err == nil:
			if !bytes.Equal(buf[:n], raw[off:off+n]) {
				t.Fatalf("cut at %d: grain %d differs from the source (known %d)", c, g, known)
			}
			if g >= known && !found[g] {
				t.Fatalf("cut at %d: unknown grain %d read", c, g)
			}
		case errors.Is(err, vmdk.ErrTruncated) && errors.Is(err, vmdk.ErrCorrupt):
			if g < known || found[g] {
				t.Fatalf("cut at %d: grain %d (known %d, found %v): %v", c, g, known, found[g], err)
			}
			firstUnknown = false
		default:
			t.Fatalf("cut at %d: grain %d: %v", c, g, err)
		}
	}
	if full {
		_, err = d.Verify(context.Background(), nil)
		if (err == nil) != (r.KnownBytes == d.Size()) || err != nil && !errors.Is(err, vmdk.ErrTruncated) {
			t.Fatalf("cut at %d: Verify = %v with KnownBytes %d of %d", c, err, r.KnownBytes, d.Size())
		}
	}
}

// cutPoints picks cut offsets: every marker start and a few bytes around
// it (first marker bytes, first data bytes), plus random offsets.
func cutPoints(markers []streamMarker, size int64, start int64, random, every int, seed uint64) []int64 {
	var cuts []int64
	for i, m := range markers {
		if m.grain >= 0 && i%every != 0 && i < len(markers)-4 {
			continue // a sample of the grains, every metadata marker
		}
		for _, c := range []int64{m.off, m.off + 1, m.off + 12, m.off + 15, m.off + 16, m.end - 1, m.end} {
			if c >= start && c <= size {
				cuts = append(cuts, c)
			}
		}
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	for range random {
		cuts = append(cuts, start+rng.Int64N(size-start+1))
	}
	return cuts
}

// TestScanLibraryCuts: images written by WriteStreamOptimized (512-byte
// grains, so several grain tables) cut at many offsets.
func TestScanLibraryCuts(t *testing.T) {
	raw := make([]byte, 600<<10+1536) // three grain tables, the last one partial
	rng := rand.New(rand.NewPCG(3, 4))
	for off := 0; off < len(raw); off += 512 {
		if rng.IntN(3) != 0 {
			for i := off; i < off+512; i += 8 {
				binary.LittleEndian.PutUint64(raw[i:], rng.Uint64()&0x0f0f0f0f0f0f0f0f)
			}
		}
	}
	clear(raw[509*512 : 512*512]) // the first grain table ends with zero grains
	var b bytes.Buffer
	if _, err := vmdk.WriteStreamOptimized(context.Background(), &b, bytes.NewReader(raw), int64(len(raw)), &vmdk.WriteOptions{GrainSize: 1}); err != nil {
		t.Fatal(err)
	}
	img := b.Bytes()
	markers, gs := walkStream(t, img)
	h, _ := vmdk.ParseHeader(img)
	cuts := cutPoints(markers, int64(len(img))-1, int64(h.OverHead)*512, 20, 100, 1)
	for i, c := range cuts {
		checkCut(t, img, raw, markers, gs, c, i%100 == 0)
	}
	// Cut before the first grain (inside the descriptor or the padding up
	// to the overhead): a typed error, or nothing known.
	for _, c := range []int64{100, 600, int64(h.OverHead)*512 - 1} {
		if c >= int64(h.OverHead)*512 {
			t.Fatalf("overhead %d sectors", h.OverHead)
		}
		d, err := vmdk.NewSparseReader(bytes.NewReader(img[:c]), c)
		if err != nil {
			checkErr(t, err)
			continue
		}
		if r := d.Recovered(); len(r) != 1 || r[0].Complete || r[0].Grains != 0 || r[0].KnownBytes != 0 || !errors.Is(r[0].StopErr, vmdk.ErrTruncated) {
			t.Fatalf("cut at %d: %+v", c, r)
		}
	}
	// Cut right after the first grain table: its zero grains 509-511 are
	// known from it, though the last grain seen is 508.
	for _, m := range markers {
		if m.typ == vmdk.MarkerGT && m.grain < 0 {
			d, err := vmdk.NewSparseReader(bytes.NewReader(img[:m.end]), m.end)
			if err != nil || d.Recovered()[0].KnownBytes != 512*512 {
				t.Fatalf("cut after the first grain table: %v, %+v", err, d.Recovered())
			}
			break
		}
	}
}

// TestScanDamagedFooter: a footer that is present but damaged is not
// trusted; the scan recovers the whole disk and says why.
func TestScanDamagedFooter(t *testing.T) {
	raw := sampleDisk()
	img := streamImage(t)
	mut := func(f func(b []byte)) []byte { b := append([]byte(nil), img...); f(b); return b }
	n := len(img)
	for _, c := range []struct {
		name, field string
		img         []byte
	}{
		{"no EOS", "footer.marker", img[:n-512]},
		{"footer magic", "footer.magic", mut(func(b []byte) { b[n-1024] = 0 })},
		{"footer marker", "footer.marker", mut(func(b []byte) { b[n-1536+12] = 7 })},
		{"gd outside", "footer.gdOffset", mut(func(b []byte) { binary.LittleEndian.PutUint64(b[n-1024+56:], 1<<30) })},
		{"footer says at end", "footer.gdOffset", mut(func(b []byte) { binary.LittleEndian.PutUint64(b[n-1024+56:], vmdk.GDAtEnd) })},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := vmdk.NewSparseReader(bytes.NewReader(c.img), int64(len(c.img)))
			if err != nil {
				t.Fatal(err)
			}
			rec := d.Recovered()
			var fe *vmdk.FormatError
			if len(rec) != 1 || !rec[0].Complete || !errors.As(rec[0].FooterErr, &fe) || fe.Field != c.field {
				t.Fatalf("Recovered = %+v, want complete, footer error in %s", rec, c.field)
			}
			got, err := io.ReadAll(io.NewSectionReader(d, 0, d.Size()))
			if err != nil || !bytes.Equal(got, raw) {
				t.Fatalf("read back: %v, equal=%v", err, bytes.Equal(got, raw))
			}
		})
	}
	// An intact image is not scanned.
	d, err := vmdk.NewSparseReader(bytes.NewReader(img), int64(len(img)))
	if err != nil || d.Recovered() != nil {
		t.Fatalf("intact image: %v, %+v", err, d.Recovered())
	}
}

// TestScanOutOfOrder: grains stored out of LBA order are all found when
// the stream is complete; when it is cut, only the grains found read.
func TestScanOutOfOrder(t *testing.T) {
	raw := sampleDisk()
	img := streamImage(t)
	markers, _ := walkStream(t, img)
	var grains []streamMarker
	for _, m := range markers {
		if m.grain >= 0 {
			grains = append(grains, m)
		}
	}
	if len(grains) < 3 {
		t.Fatalf("%d grains", len(grains))
	}
	// Swap the first two grains' file ranges (sector-padded) in place.
	a, b := grains[0], grains[1]
	aLen, bLen := (a.end-a.off+511)/512*512, (b.end-b.off+511)/512*512
	if a.off+aLen != b.off {
		t.Fatal("grains not adjacent")
	}
	sw := append([]byte(nil), img...)
	copy(sw[a.off:], img[b.off:b.off+bLen])
	copy(sw[a.off+bLen:], img[a.off:a.off+aLen])
	// Drop the footer: the stream ends at the GD marker.
	cut := sw[:len(sw)-1024]
	d, err := vmdk.NewSparseReader(bytes.NewReader(cut), int64(len(cut)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(io.NewSectionReader(d, 0, d.Size()))
	if err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("complete out-of-order stream: %v, equal=%v", err, bytes.Equal(got, raw))
	}
	// Cut after the third grain: nothing unseen is known.
	cut = sw[:grains[2].end]
	d, err = vmdk.NewSparseReader(bytes.NewReader(cut), int64(len(cut)))
	if err != nil {
		t.Fatal(err)
	}
	if r := d.Recovered()[0]; r.KnownBytes != 0 || r.Grains != 3 || r.Complete {
		t.Fatalf("Recovery = %+v", r)
	}
	gb := int64(1024) // streamImage uses 2-sector grains
	for _, g := range []int64{grains[0].grain, grains[2].grain} {
		buf := make([]byte, gb)
		if _, err := d.ReadAt(buf, g*gb); err != nil || !bytes.Equal(buf, raw[g*gb:(g+1)*gb]) {
			t.Fatalf("grain %d: %v", g, err)
		}
	}
	if _, err := d.ReadAt(make([]byte, 1), d.Size()-1); !errors.Is(err, vmdk.ErrTruncated) {
		t.Fatalf("unseen grain: %v", err)
	}
}

// qemuStream converts a raw disk with
// `qemu-img convert -f raw -O vmdk -o subformat=streamOptimized src.raw img.vmdk`
// and checks `qemu-img compare -f raw -F vmdk src.raw img.vmdk`. qemu keeps
// the grain directory at the start and writes no footer.
func qemuStream(t *testing.T, size int64) (raw, img []byte) {
	qemu := testenv.RequireTool(t, "qemu-img")
	dir := t.TempDir()
	rawPath := makeRaw(t, dir, size, 11)
	imgPath := filepath.Join(dir, "img.vmdk")
	run(t, qemu, "convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", rawPath, imgPath)
	run(t, qemu, "compare", "-f", "raw", "-F", "vmdk", rawPath, imgPath)
	var err error
	if raw, err = os.ReadFile(rawPath); err != nil {
		t.Fatal(err)
	}
	if img, err = os.ReadFile(imgPath); err != nil {
		t.Fatal(err)
	}
	return raw, img
}

// TestScanQemuStream: a qemu-img streamOptimized image whose header is
// changed to "grain directory at end" (as VMware writes it) has no footer:
// the scan recovers it byte for byte; cut at many offsets, the recovered
// prefix matches the source.
func TestScanQemuStream(t *testing.T) {
	raw, img := qemuStream(t, 1<<20+4096)
	h, err := vmdk.ParseHeader(img)
	if err != nil || h.GDOffset == vmdk.GDAtEnd || !h.Markers() {
		t.Fatalf("qemu header %+v, %v", h, err)
	}
	binary.LittleEndian.PutUint64(img[56:], vmdk.GDAtEnd)
	markers, gs := walkStream(t, img)
	checkCut(t, img, raw, markers, gs, int64(len(img)), true)
	for i, c := range cutPoints(markers, int64(len(img)), int64(h.OverHead)*512, 10, 5, 2) {
		checkCut(t, img, raw, markers, gs, c, i%10 == 0)
	}
}

// TestQemuStreamTruncated: qemu's own layout (grain directory and tables
// at the start, no footer) cut at many offsets needs no scan: grains
// inside the file read exactly, grains beyond give ErrTruncated.
func TestQemuStreamTruncated(t *testing.T) {
	raw, img := qemuStream(t, 1<<20+4096)
	h, _ := vmdk.ParseHeader(img)
	markers, gs := walkStream(t, img)
	gb := int64(gs) * 512
	for i, c := range cutPoints(markers, int64(len(img)), int64(h.OverHead)*512, 10, 5, 3) {
		d, err := vmdk.NewSparseReader(bytes.NewReader(img[:c]), c)
		if err != nil {
			t.Fatalf("cut at %d: %v", c, err)
		}
		if d.Recovered() != nil {
			t.Fatalf("cut at %d: scanned a qemu image", c)
		}
		inside := map[int64]bool{}
		for _, m := range markers {
			if m.grain >= 0 && m.end <= c {
				inside[m.grain] = true
			}
		}
		buf := make([]byte, gb)
		for g := int64(0); g*gb < d.Size(); g++ {
			if i%10 != 0 && inside[g] && inside[g+1] {
				continue // every grain is read for a tenth of the cuts
			}
			n := min(gb, d.Size()-g*gb)
			_, err := d.ReadAt(buf[:n], g*gb)
			switch {
			case err == nil:
				if !bytes.Equal(buf[:n], raw[g*gb:g*gb+n]) {
					t.Fatalf("cut at %d: grain %d differs", c, g)
				}
			case errors.Is(err, vmdk.ErrTruncated):
				if inside[g] {
					t.Fatalf("cut at %d: grain %d is inside the file: %v", c, g, err)
				}
			default:
				t.Fatalf("cut at %d: grain %d: %v", c, g, err)
			}
		}
	}
}

// allocGuard fails the test if fn allocates more than limit bytes in
// total (process-wide, so fuzz bodies must not run in parallel).
func allocGuard(t *testing.T, limit uint64, fn func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > limit {
		t.Fatalf("allocated %d bytes, limit %d", got, limit)
	}
}

// FuzzScan feeds arbitrary marker streams behind a valid streamOptimized
// header (grain directory at the end), so the scan path runs on every
// input: typed errors only, consistent Recovery, bounded allocation.
func FuzzScan(f *testing.F) {
	img := streamImage(f)
	h, err := vmdk.ParseHeader(img)
	if err != nil {
		f.Fatal(err)
	}
	head := img[:h.OverHead*512]
	stream := img[len(head):]
	f.Add(stream)
	f.Add(stream[:len(stream)-1536]) // no footer
	f.Add(stream[:len(stream)/2])    // cut inside the grains
	f.Add(stream[:700])
	le := binary.LittleEndian
	meta := func(val uint64, typ uint32) []byte {
		b := make([]byte, 512)
		le.PutUint64(b, val)
		le.PutUint32(b[12:], typ)
		return b
	}
	f.Add(meta(0, vmdk.MarkerEOS))
	f.Add(append(meta(4, vmdk.MarkerGT), make([]byte, 2048)...))
	f.Add(meta(1<<40, vmdk.MarkerGD))
	f.Add(meta(0, 9))
	grain := make([]byte, 512)
	le.PutUint64(grain, 6)
	le.PutUint32(grain[8:], 400)
	f.Add(grain)
	f.Fuzz(func(t *testing.T, s []byte) {
		b := append(append([]byte(nil), head...), s...)
		allocGuard(t, 64<<20+uint64(len(b))*8, func() { checkScanned(t, b) })
	})
}

func checkScanned(t *testing.T, b []byte) {
	d, err := vmdk.NewSparseReader(bytes.NewReader(b), int64(len(b)))
	checkErr(t, err)
	if err != nil {
		return
	}
	for _, r := range d.Recovered() {
		if r.KnownBytes < 0 || r.KnownBytes > d.Size() || r.Complete && (r.KnownBytes != d.Size() || r.StopErr != nil) ||
			!r.Complete && r.StopErr == nil || r.FooterErr == nil || r.Grains < 0 || r.Grains > int64(len(b)/512) {
			t.Fatalf("inconsistent recovery %+v (size %d)", r, d.Size())
		}
		if r.StopErr != nil {
			checkErr(t, r.StopErr)
		}
	}
	// The first 64 KiB (the header's disk) and a few places further on
	// (a footer may declare a larger disk).
	buf := make([]byte, 4096)
	for i := int64(0); i < 12; i++ {
		off := i * 8192
		if i >= 8 {
			off = d.Size() / 4 * (i - 8)
		}
		if off >= d.Size() {
			continue
		}
		if _, err := d.ReadAt(buf, off); err != io.EOF {
			checkErr(t, err)
		}
	}
	last, count := int64(-1), 0
	err = d.Allocated(func(off, n int64) error {
		if off <= last || n <= 0 || off+n > d.Size() {
			t.Fatalf("allocated range %d+%d after %d, disk of %d", off, n, last, d.Size())
		}
		last = off + n
		if count++; count > 1000 {
			return io.EOF
		}
		return nil
	})
	if err != io.EOF {
		checkErr(t, err)
	}
}

// TestScanRepeatedGrain: a stream repeating one grain marker is cut off
// at twice the disk's grain count, and the last copy wins.
func TestScanRepeatedGrain(t *testing.T) {
	img := streamImage(t)
	markers, _ := walkStream(t, img)
	h, _ := vmdk.ParseHeader(img)
	g := markers[0]
	if g.grain < 0 {
		t.Fatal("first marker is not a grain")
	}
	rec := img[g.off : (g.end+511)/512*512]
	b := append([]byte(nil), img[:h.OverHead*512]...)
	numGrains := int(h.Capacity / h.GrainSize)
	for range 2*numGrains + 5 {
		b = append(b, rec...)
	}
	d, err := vmdk.NewSparseReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	r := d.Recovered()[0]
	var fe *vmdk.FormatError
	if r.Grains != 1 || r.Complete || !errors.As(r.StopErr, &fe) || fe.Field != "grainMarker" {
		t.Fatalf("Recovery = %+v", r)
	}
}
