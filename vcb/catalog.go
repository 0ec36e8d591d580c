package vcb

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// CatalogFile is the name of the catalog inside a backup directory.
const CatalogFile = "catalog"

// maxCatalogLine bounds one catalog line (a catalog is a few KiB).
const maxCatalogLine = 64 << 10

// Catalog is a VCB-style catalog: ordered "key= value" lines, values
// quoted when they hold spaces or quotes. vcbRestore reads it back, and an
// edited copy (vcbRestore -a) restores a VM under another name, folder,
// resource pool or datastore.
type Catalog struct {
	keys   []string
	values map[string]string
}

// Catalog keys written by Backup and read by Restore.
const (
	CatVersion      = "version"
	CatState        = "state"
	CatDisplayName  = "display_name"
	CatUUID         = "uuid"
	CatInstanceUUID = "instance_uuid"
	CatMoRef        = "moref"
	CatServer       = "server"
	CatDatacenter   = "datacenter"
	CatHost         = "host"
	CatFolder       = "folder"
	CatResourcePool = "resourcepool"
	CatDatastore    = "datastore"
	CatCfgFile      = "cfgFile"
	CatNvramFile    = "nvramFile"
	CatTimestamp    = "timestamp"
	CatCompression  = "compression"
	CatDiskCount    = "disk.count"
)

// NewCatalog returns an empty catalog.
func NewCatalog() *Catalog { return &Catalog{values: map[string]string{}} }

// Set sets key to value, keeping the key's first position.
func (c *Catalog) Set(key, value string) {
	if c.values == nil {
		c.values = map[string]string{}
	}
	if _, ok := c.values[key]; !ok {
		c.keys = append(c.keys, key)
	}
	c.values[key] = value
}

// Get returns the value of key, "" when absent.
func (c *Catalog) Get(key string) string { return c.values[key] }

// Lookup returns the value of key and whether it is present.
func (c *Catalog) Lookup(key string) (string, bool) {
	v, ok := c.values[key]
	return v, ok
}

// Keys returns the keys in file order.
func (c *Catalog) Keys() []string { return append([]string(nil), c.keys...) }

// WriteTo writes the catalog as "key= value" lines.
func (c *Catalog) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	for _, k := range c.keys {
		b.WriteString(k)
		b.WriteString("= ")
		b.WriteString(quoteValue(c.values[k]))
		b.WriteByte('\n')
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

func quoteValue(v string) string {
	if v == "" || strings.ContainsAny(v, " \t\"\\#=\r\n") || v != strings.TrimSpace(v) {
		return strconv.Quote(v)
	}
	return v
}

// ParseCatalog reads a catalog. Blank lines and lines starting with '#'
// are skipped; every other line must be "key= value" (spaces around '='
// are optional). Values in double quotes are unquoted with Go/C escapes.
// A key given twice is an error. It never panics.
func ParseCatalog(r io.Reader) (*Catalog, error) {
	c := NewCatalog()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxCatalogLine)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return nil, errf("catalog", "", ErrCatalog, "line %d: no '=' in %q", line, clip(s))
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if k == "" || strings.ContainsAny(k, " \t\"") {
			return nil, errf("catalog", "", ErrCatalog, "line %d: invalid key %q", line, clip(k))
		}
		if strings.HasPrefix(v, "\"") {
			u, err := strconv.Unquote(v)
			if err != nil {
				return nil, errf("catalog", "", ErrCatalog, "line %d: bad quoted value for %s: %v", line, k, err)
			}
			v = u
		}
		if _, dup := c.values[k]; dup {
			return nil, errf("catalog", "", ErrCatalog, "line %d: key %s given twice", line, k)
		}
		c.Set(k, v)
	}
	if err := sc.Err(); err != nil {
		return nil, errf("catalog", "", ErrCatalog, "line %d: %v", line+1, err)
	}
	return c, nil
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// diskKey returns the catalog key for attribute attr of disk i.
func diskKey(i int, attr string) string { return fmt.Sprintf("disk.%d.%s", i, attr) }
