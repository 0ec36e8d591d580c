package vcb

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/vmware/govmomi/vim25/types"
)

// ManifestFile is the name of the JSON manifest inside a backup directory.
// Its presence in a directory without a ".partial" name means the backup
// completed: Backup writes it last and renames the directory into place
// only afterwards.
const ManifestFile = "manifest.json"

// ManifestVersion is the format version Backup writes.
const ManifestVersion = 1

// File kinds in a manifest.
const (
	KindDisk    = "disk"
	KindVMX     = "vmx"
	KindNVRAM   = "nvram"
	KindConfig  = "config"
	KindCatalog = "catalog"
)

// Manifest describes a complete backup.
type Manifest struct {
	Version     int       `json:"version"`
	Created     time.Time `json:"created"`
	Server      string    `json:"server,omitempty"`
	Datacenter  string    `json:"datacenter,omitempty"`
	VM          VMInfo    `json:"vm"`
	Snapshot    string    `json:"snapshot"`
	Quiesced    bool      `json:"quiesced"`
	Memory      bool      `json:"memory"`
	Compression string    `json:"compression,omitempty"` // "" or "zstd"
	Files       []File    `json:"files"`
	// Config is the VM's configuration at snapshot time, in vSphere's
	// JSON encoding (types.NewJSONEncoder); see Manifest.VMConfig.
	Config json.RawMessage `json:"config"`
}

// File is one file of a backup.
type File struct {
	Name   string `json:"name"` // relative to the backup directory
	Kind   string `json:"kind"` // disk, vmx, nvram, config, catalog
	Size   int64  `json:"size"` // bytes as stored
	SHA256 string `json:"sha256"`
	// RawSize and RawSHA256 describe the content before compression; equal
	// to Size/SHA256 when the file is not compressed.
	RawSize     int64  `json:"rawSize"`
	RawSHA256   string `json:"rawSha256"`
	Compression string `json:"compression,omitempty"`
	Source      string `json:"source,omitempty"` // "[ds] dir/file" it came from
	Slot        string `json:"slot,omitempty"`   // disks: "scsi0:0"
	DeviceKey   int32  `json:"deviceKey,omitempty"`
	Capacity    int64  `json:"capacityBytes,omitempty"`
	// ChangeID is the disk's CBT change id at snapshot time (disks only,
	// when change tracking is enabled on the VM).
	ChangeID string `json:"changeId,omitempty"`
	// Format is FormatFlat for a disk whose content was read from the
	// flat extents of a text descriptor; "" for the stream as served.
	Format string `json:"format,omitempty"`
}

// VMConfig decodes the saved VM configuration.
func (m *Manifest) VMConfig() (*types.VirtualMachineConfigInfo, error) {
	var ci types.VirtualMachineConfigInfo
	if len(m.Config) == 0 {
		return nil, errf("manifest", m.VM.Name, ErrManifest, "no VM configuration")
	}
	if err := types.NewJSONDecoder(bytes.NewReader(m.Config)).Decode(&ci); err != nil {
		return nil, errf("manifest", m.VM.Name, ErrManifest, "VM configuration: %v", err)
	}
	return &ci, nil
}

func encodeConfig(ci *types.VirtualMachineConfigInfo) (json.RawMessage, error) {
	var b bytes.Buffer
	if err := types.NewJSONEncoder(&b).Encode(ci); err != nil {
		return nil, err
	}
	return json.RawMessage(bytes.TrimSpace(b.Bytes())), nil
}

// ReadManifest reads dir/manifest.json.
func ReadManifest(dir string) (*Manifest, error) {
	f, err := os.Open(filepath.Join(dir, ManifestFile))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, newErr("manifest", dir, ErrIncomplete, err)
		}
		return nil, newErr("manifest", dir, ErrManifest, err)
	}
	defer f.Close()
	return DecodeManifest(f)
}

// DecodeManifest parses a manifest and checks it for consistency. It never
// panics on bad input.
func DecodeManifest(r io.Reader) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(io.LimitReader(r, 64<<20))
	if err := dec.Decode(&m); err != nil {
		return nil, newErr("manifest", "", ErrManifest, err)
	}
	if m.Version != ManifestVersion {
		return nil, errf("manifest", m.VM.Name, ErrManifest, "unsupported version %d", m.Version)
	}
	seen := map[string]bool{}
	for _, f := range m.Files {
		if f.Name == "" || f.Name != filepath.Base(f.Name) || f.Name == "." || f.Name == ".." || f.Name == ManifestFile {
			return nil, errf("manifest", m.VM.Name, ErrManifest, "invalid file name %q", f.Name)
		}
		if seen[f.Name] {
			return nil, errf("manifest", m.VM.Name, ErrManifest, "file %q listed twice", f.Name)
		}
		seen[f.Name] = true
		if f.Size < 0 || f.RawSize < 0 || len(f.SHA256) != 64 || len(f.RawSHA256) != 64 {
			return nil, errf("manifest", m.VM.Name, ErrManifest, "file %q: bad size or checksum", f.Name)
		}
		if f.Compression != "" && f.Compression != CompressionZstd {
			return nil, errf("manifest", m.VM.Name, ErrManifest, "file %q: unknown compression %q", f.Name, f.Compression)
		}
	}
	return &m, nil
}

// Disks returns the disk entries of the manifest in order.
func (m *Manifest) Disks() []File {
	var out []File
	for _, f := range m.Files {
		if f.Kind == KindDisk {
			out = append(out, f)
		}
	}
	return out
}

// FileOf returns the first file of the given kind.
func (m *Manifest) FileOf(kind string) (File, bool) {
	for _, f := range m.Files {
		if f.Kind == kind {
			return f, true
		}
	}
	return File{}, false
}
