package vmdk

import (
	"encoding/binary"
	"io"
	"slices"
	"sort"
)

// Recovery reports a streamOptimized extent whose footer was missing or
// unusable (an NFC export cut short, a writer that never wrote the
// footer): its grain index was rebuilt by scanning the stream's markers
// from the header's overhead onwards, as the VMware Virtual Disk Format 5.0
// describes them (grain markers carry the grain's LBA; GT, GD, footer and
// end-of-stream markers carry metadata).
//
// Reads of such an extent follow this rule:
//   - a grain found by the scan reads as stored;
//   - a grain the scan did not find reads as zeros if it lies below
//     KnownBytes (the writer skipped it: an all-zero grain);
//   - otherwise the read fails with a *FormatError wrapping ErrTruncated
//     (and so ErrCorrupt): the grain may have been in the missing part.
//
// Allocated reports [KnownBytes, size) as "may hold data", so Verify and
// CopyAllocated fail on a truncated extent instead of silently restoring
// zeros; copy [0, KnownBytes) to salvage what was recovered.
type Recovery struct {
	Extent    int   // index of the extent in the descriptor (0 for a monolithic file)
	FooterErr error // why the footer could not be used
	Grains    int64 // grains found by the scan
	// Complete is true when the scan reached the end of the grain stream
	// (a GD, footer or end-of-stream marker): every grain is known and the
	// whole extent reads exactly. A file zero-filled after the cut point
	// looks like an end-of-stream marker at the cut and cannot be told apart.
	Complete bool
	// KnownBytes is the prefix of the extent's virtual bytes that reads
	// exactly (the extent's size when Complete).
	KnownBytes int64
	// StopOffset is the file offset where the scan stopped.
	StopOffset int64
	// StopErr says why the scan stopped before the end of the stream: nil
	// when Complete, else a *FormatError wrapping ErrTruncated (the file
	// ends inside a marker or grain) or ErrCorrupt (an invalid marker).
	StopErr error
}

// scanIndex is the grain index of a scanned extent: found grains sorted by
// grain number, with their sectors, 12 bytes per grain. Its size is
// bounded by the number of markers in the file (one per 512 bytes at most)
// and by twice the extent's grain count (capacity/grainSize, from the
// validated header); nothing is allocated from the capacity up front.
type scanIndex struct {
	grains []uint64 // sorted grain numbers
	secs   []uint32 // sector of each grain's marker
	known  int64    // grains below this number that were not found are zero
	rec    Recovery
}

// lookup returns the grain table entry for grain g, or an ErrTruncated
// error when g is unknown.
func (s *scanIndex) lookup(g int64, gb int64) (uint32, error) {
	i, ok := slices.BinarySearch(s.grains, uint64(g))
	if ok {
		return s.secs[i], nil
	}
	if g < s.known {
		return 0, nil
	}
	return 0, &FormatError{Offset: -1, Field: "stream",
		Msg: sprintf("grain %d (virtual byte %d) lies in the part of the stream that is missing (scan stopped at file offset %d)",
			g, g*gb, s.rec.StopOffset), Kind: ErrTruncated}
}

// scanStream rebuilds the grain index of a streamOptimized extent from
// its markers. h is the (validated) header; footerErr why the footer was
// not used.
func scanStream(r io.ReaderAt, fileSize int64, h *Header, footerErr error) (*scanIndex, error) {
	gb := h.GrainBytes()
	numGrains := int64((h.Capacity + h.GrainSize - 1) / h.GrainSize) // capacity <= 2^41: no overflow
	start := int64(h.OverHead) * SectorSize
	if h.OverHead == 0 {
		// Grains can only start after the header and descriptor.
		start = int64(max(1, min(h.DescriptorOffset+h.DescriptorSize, uint64(fileSize)/SectorSize))) * SectorSize
	}
	if h.OverHead > uint64(fileSize)/SectorSize {
		start = fileSize // cut before the first grain: nothing to scan
	}
	s := &scanIndex{rec: Recovery{FooterErr: footerErr}}
	maxComp := 2*gb + 1024
	gtSectors := (int64(h.NumGTEsPerGT)*4 + SectorSize - 1) / SectorSize
	var (
		buf      [16]byte
		ordered  = true
		gtKnown  int64 // grains covered by the grain tables seen
		complete bool
		stopErr  error
		off      = start
	)
	stop := func(kind error, field, format string, args ...any) {
		stopErr = &FormatError{Offset: off, Field: field, Msg: sprintf(format, args...), Kind: kind}
	}
scan:
	for {
		if off >= fileSize {
			stop(ErrTruncated, "stream", "file ends after %d grains without an end-of-stream marker (overhead %d sectors)", len(s.grains), h.OverHead)
			break
		}
		n, err := r.ReadAt(buf[:], off)
		if err != nil && err != io.EOF {
			return nil, err
		}
		if n < 12 {
			stop(ErrTruncated, "stream.marker", "file ends inside a marker")
			break
		}
		val := binary.LittleEndian.Uint64(buf[0:])
		size := int64(binary.LittleEndian.Uint32(buf[8:]))
		if size != 0 { // grain marker: val is the grain's first sector
			switch {
			case val%h.GrainSize != 0 || val >= h.Capacity:
				stop(ErrCorrupt, "grainMarker.lba", "sector %d is not a grain of a %d-sector disk", val, h.Capacity)
				break scan
			case size > maxComp:
				stop(ErrCorrupt, "grainMarker.size", "compressed size %d exceeds %d", size, maxComp)
				break scan
			case off+12+size > fileSize:
				stop(ErrTruncated, "grainMarker.size", "file ends inside the grain at sector %d", val)
				break scan
			case off/SectorSize > 0xffffffff:
				stop(ErrUnsupported, "stream", "grain beyond 2 TiB of file")
				break scan
			case int64(len(s.grains)) >= 2*numGrains:
				// The index never holds more than twice the disk's grains.
				stop(ErrCorrupt, "grainMarker", "more than %d grain markers for %d grains", 2*numGrains, numGrains)
				break scan
			}
			g := val / h.GrainSize
			if k := len(s.grains); k > 0 && g <= s.grains[k-1] {
				ordered = false
			}
			s.grains = append(s.grains, g)
			s.secs = append(s.secs, uint32(off/SectorSize))
			off = (off + 12 + size + SectorSize - 1) / SectorSize * SectorSize
			continue
		}
		if n < 16 {
			stop(ErrTruncated, "stream.marker", "file ends inside a marker")
			break
		}
		typ := binary.LittleEndian.Uint32(buf[12:])
		body := off + SectorSize
		if val > uint64(fileSize)/SectorSize {
			stop(ErrTruncated, "stream.marker", "marker type %d announces %d sectors beyond the file end", typ, val)
			break
		}
		next := body + int64(val)*SectorSize
		switch typ {
		case MarkerEOS:
			complete = true
			break scan
		case MarkerGT:
			if int64(val) != gtSectors {
				stop(ErrCorrupt, "gtMarker.numSectors", "%d sectors, want %d", val, gtSectors)
				break scan
			}
			if next > fileSize {
				stop(ErrTruncated, "gtMarker", "file ends inside a grain table")
				break scan
			}
			if ordered {
				if k, err := s.gtCoverage(r, body, h); err != nil {
					return nil, err
				} else {
					gtKnown = max(gtKnown, k)
				}
			}
		case MarkerGD, MarkerFooter:
			// The grain stream is over: only metadata follows.
			complete = true
			break scan
		default:
			stop(ErrCorrupt, "stream.marker", "unknown marker type %d", typ)
			break scan
		}
		off = next
	}
	if !ordered {
		// Later copies of a grain win (a rewritten grain).
		idx := make([]int, len(s.grains))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return s.grains[idx[a]] < s.grains[idx[b]] })
		grains, secs := make([]uint64, 0, len(idx)), make([]uint32, 0, len(idx))
		for _, i := range idx {
			if k := len(grains); k > 0 && grains[k-1] == s.grains[i] {
				secs[k-1] = s.secs[i]
				continue
			}
			grains, secs = append(grains, s.grains[i]), append(secs, s.secs[i])
		}
		s.grains, s.secs = grains, secs
	}
	switch {
	case complete:
		s.known = numGrains
	case ordered && len(s.grains) > 0:
		s.known = max(int64(s.grains[len(s.grains)-1])+1, gtKnown)
	case ordered:
		s.known = gtKnown
	}
	s.known = min(s.known, numGrains)
	s.rec.Grains = int64(len(s.grains))
	s.rec.Complete = complete
	s.rec.KnownBytes = min(s.known*gb, int64(h.Capacity)*SectorSize)
	s.rec.StopOffset = off
	if !complete {
		s.rec.StopErr = stopErr
	}
	return s, nil
}

// gtCoverage reads the grain table at off and returns the number of grains
// that are final once it is written: the end of the table the entries
// belong to (0 if that cannot be told). Writers emit a grain table after
// all of its grains.
func (s *scanIndex) gtCoverage(r io.ReaderAt, off int64, h *Header) (int64, error) {
	raw := make([]byte, int64(h.NumGTEsPerGT)*4)
	if _, err := readFullAt(r, raw, off); err != nil {
		return 0, err
	}
	per := int64(h.NumGTEsPerGT)
	for j := range per {
		sec := binary.LittleEndian.Uint32(raw[j*4:])
		if sec <= 1 {
			continue
		}
		// s.secs is increasing: grains were appended in file order.
		i, ok := slices.BinarySearch(s.secs, sec)
		if !ok || int64(s.grains[i])%per != j {
			return 0, nil // does not match the grains seen: ignore
		}
		return (int64(s.grains[i])/per + 1) * per, nil
	}
	return 0, nil
}

// allocated calls fn for runs of found grains below the known prefix and
// for the unknown tail [known, size), which may hold data.
func (s *scanIndex) allocated(gb, size int64, fn func(off, n int64) error) error {
	tail := min(s.known*gb, size)
	runStart, runEnd := int64(-1), int64(-1)
	for _, g := range s.grains {
		off := int64(g) * gb
		if off >= tail {
			break
		}
		if off == runEnd {
			runEnd += gb
			continue
		}
		if runStart >= 0 {
			if err := fn(runStart, runEnd-runStart); err != nil {
				return err
			}
		}
		runStart, runEnd = off, off+gb
	}
	if runStart >= 0 && runEnd >= tail && tail < size {
		return fn(runStart, size-runStart) // the last run touches the tail
	}
	if runStart >= 0 {
		if err := fn(runStart, min(runEnd, size)-runStart); err != nil {
			return err
		}
	}
	if tail < size {
		return fn(tail, size-tail)
	}
	return nil
}
