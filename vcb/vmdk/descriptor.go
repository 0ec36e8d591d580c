package vmdk

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxExtents bounds the number of extent lines a descriptor may hold.
const MaxExtents = 4096

// Extent types found in descriptors.
const (
	ExtentSparse     = "SPARSE"     // hosted sparse extent (KDMV)
	ExtentFlat       = "FLAT"       // raw data in a file
	ExtentZero       = "ZERO"       // reads as zeros, no file
	ExtentVMFS       = "VMFS"       // ESX flat extent
	ExtentVMFSSparse = "VMFSSPARSE" // ESX delta (COWD), unsupported
	ExtentSESparse   = "SESPARSE"   // ESX space-efficient sparse, unsupported
)

// ExtentDesc is one extent line of a descriptor, e.g.
// `RW 2097152 FLAT "disk-flat.vmdk" 0`.
type ExtentDesc struct {
	Access   string // RW, RDONLY or NOACCESS
	Sectors  uint64 // size of the extent in sectors
	Type     string // SPARSE, FLAT, ZERO, VMFS, ...
	FileName string // file relative to the descriptor ("" for ZERO)
	Offset   uint64 // sectors into FileName where the extent starts (FLAT/VMFS)
}

// Descriptor is a parsed VMDK text descriptor.
type Descriptor struct {
	Version            int
	CID                uint32
	ParentCID          uint32
	CreateType         string
	ParentFileNameHint string
	Extents            []ExtentDesc
	// DDB holds the disk database entries (ddb.*) without quotes.
	DDB map[string]string
	// Other holds every other key=value line.
	Other map[string]string
}

// NoParentCID is the parentCID of a disk without parent.
const NoParentCID = 0xffffffff

// Sectors is the sum of all extent sizes.
func (d *Descriptor) Sectors() uint64 {
	var n uint64
	for _, e := range d.Extents {
		n += e.Sectors
	}
	return n
}

// ParseDescriptor parses descriptor text. Unknown keys are kept; lines that
// are neither comments, key=value pairs nor extent lines are errors.
func ParseDescriptor(text []byte) (*Descriptor, error) {
	if len(text) > maxDescriptor {
		return nil, corrupt(-1, "descriptor", "%d bytes exceeds the limit of %d", len(text), maxDescriptor)
	}
	// An embedded descriptor is padded with NUL bytes.
	if i := strings.IndexByte(string(text), 0); i >= 0 {
		text = text[:i]
	}
	d := &Descriptor{ParentCID: NoParentCID, DDB: map[string]string{}, Other: map[string]string{}}
	sawVersion := false
	for n, line := range strings.Split(string(text), "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || line[0] == '#' {
			continue
		}
		if f := strings.Fields(line); isAccess(f[0]) && len(f) >= 3 {
			e, err := parseExtent(line)
			if err != nil {
				return nil, corrupt(-1, "descriptor.extent", "line %d: %v", n+1, err)
			}
			if len(d.Extents) >= MaxExtents {
				return nil, unsupported(-1, "descriptor.extent", "more than %d extents", MaxExtents)
			}
			d.Extents = append(d.Extents, e)
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, corrupt(-1, "descriptor", "line %d: %q is neither key=value nor an extent", n+1, clip(line))
		}
		k = strings.TrimSpace(k)
		v = unquote(strings.TrimSpace(v))
		var err error
		switch strings.ToLower(k) {
		case "version":
			d.Version, err = strconv.Atoi(v)
			sawVersion = true
		case "cid":
			d.CID, err = parseCID(v)
		case "parentcid":
			d.ParentCID, err = parseCID(v)
		case "createtype":
			d.CreateType = v
		case "parentfilenamehint":
			d.ParentFileNameHint = v
		default:
			if strings.HasPrefix(k, "ddb.") {
				d.DDB[k] = v
			} else {
				d.Other[k] = v
			}
		}
		if err != nil {
			return nil, corrupt(-1, "descriptor."+k, "line %d: %v", n+1, err)
		}
	}
	if !sawVersion && d.CreateType == "" && len(d.Extents) == 0 {
		return nil, corrupt(-1, "descriptor", "no version, createType or extent: not a VMDK descriptor")
	}
	return d, nil
}

func isAccess(s string) bool { return s == "RW" || s == "RDONLY" || s == "NOACCESS" }

func parseCID(v string) (uint32, error) {
	u, err := strconv.ParseUint(v, 16, 32)
	return uint32(u), err
}

func unquote(v string) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// parseExtent parses `ACCESS SECTORS TYPE ["FILE" [OFFSET]]`; the file name
// may contain spaces inside its quotes.
func parseExtent(line string) (ExtentDesc, error) {
	var e ExtentDesc
	f := strings.Fields(line)
	e.Access = f[0]
	var err error
	if e.Sectors, err = strconv.ParseUint(f[1], 10, 64); err != nil {
		return e, fmt.Errorf("extent size %q: %v", f[1], err)
	}
	if e.Sectors > MaxCapacity {
		return e, fmt.Errorf("extent size %d sectors exceeds the limit", e.Sectors)
	}
	e.Type = strings.ToUpper(f[2])
	rest := line
	for range 3 { // skip the three fields
		rest = strings.TrimLeft(rest, " \t")
		i := strings.IndexAny(rest, " \t")
		if i < 0 {
			rest = ""
			break
		}
		rest = rest[i:]
	}
	rest = strings.TrimSpace(rest)
	if rest == "" {
		if e.Type != ExtentZero {
			return e, fmt.Errorf("%s extent without file name", e.Type)
		}
		return e, nil
	}
	if rest[0] != '"' {
		return e, fmt.Errorf("file name must be quoted: %q", clip(rest))
	}
	end := strings.IndexByte(rest[1:], '"')
	if end < 0 {
		return e, fmt.Errorf("unterminated file name")
	}
	e.FileName = rest[1 : 1+end]
	if e.FileName == "" && e.Type != ExtentZero {
		return e, fmt.Errorf("%s extent with an empty file name", e.Type)
	}
	rest = strings.TrimSpace(rest[2+end:])
	if rest != "" {
		// ESX may append a partition UUID or offset; only a number matters.
		g := strings.Fields(rest)
		if e.Offset, err = strconv.ParseUint(g[0], 10, 64); err != nil {
			return e, fmt.Errorf("extent offset %q: %v", g[0], err)
		}
		if e.Offset > MaxCapacity {
			return e, fmt.Errorf("extent offset %d sectors exceeds the limit", e.Offset)
		}
	}
	return e, nil
}

// Marshal renders the descriptor as text in the layout VMware and qemu use.
func (d *Descriptor) Marshal() []byte {
	var b strings.Builder
	b.WriteString("# Disk DescriptorFile\n")
	fmt.Fprintf(&b, "version=%d\n", max(d.Version, 1))
	fmt.Fprintf(&b, "CID=%08x\n", d.CID)
	fmt.Fprintf(&b, "parentCID=%08x\n", d.ParentCID)
	fmt.Fprintf(&b, "createType=\"%s\"\n", d.CreateType)
	if d.ParentFileNameHint != "" {
		fmt.Fprintf(&b, "parentFileNameHint=\"%s\"\n", d.ParentFileNameHint)
	}
	b.WriteString("\n# Extent description\n")
	for _, e := range d.Extents {
		fmt.Fprintf(&b, "%s %d %s", e.Access, e.Sectors, e.Type)
		if e.FileName != "" {
			fmt.Fprintf(&b, " \"%s\"", e.FileName)
			if e.Type == ExtentFlat || e.Type == ExtentVMFS {
				fmt.Fprintf(&b, " %d", e.Offset)
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("\n# The Disk Data Base\n#DDB\n\n")
	for _, k := range sortedKeys(d.DDB) {
		fmt.Fprintf(&b, "%s = \"%s\"\n", k, d.DDB[k])
	}
	return []byte(b.String())
}
