package vcb

import "testing"

func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"bytes 0-99/1000", "bytes 5-5/*", "bytes -1-3/4", "bytes 9-3/10", "items 1-2/3", "bytes 1-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, b, err := parseContentRange(s)
		if err == nil && (a < 0 || b < a) {
			t.Fatalf("%q: accepted %d-%d", s, a, b)
		}
	})
}

func TestSplitByChunkAndBatches(t *testing.T) {
	areas := normalize([]Extent{{100, 50}, {0, 10}, {5, 10}, {4090, 20}, {1 << 20, 8192}}, 1<<20+4096)
	jobs := splitByChunk(areas, 4096)
	// {0,15} {100,50} in chunk 0; {4090,6} chunk 0; {4096,14} chunk 1; {1<<20, 4096} chunk 256 (clipped)
	if len(jobs) != 3 || len(jobs[0].pieces) != 3 || jobs[1].idx != 1 || jobs[2].idx != 256 || jobs[2].pieces[0].Length != 4096 {
		t.Fatalf("jobs %+v", jobs)
	}
	if b := batches(jobs, 4096); len(b) != 1 {
		t.Fatalf("batches %d", len(b))
	}
	if b := batches(jobs, 4<<20); len(b) != 2 {
		t.Fatalf("batches of 4 MiB chunks: %d, want 2", len(b))
	}
}
