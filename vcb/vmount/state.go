package vmount

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// DefaultStateDir holds state files and FUSE mountpoints.
const DefaultStateDir = "/run/vmmount"

// ErrNotMounted means no state file exists for a directory.
var ErrNotMounted = errors.New("vmount: not mounted by vmmount")

// State records one mount, step by step, so that it can be undone after a
// crash. It is stored as JSON in the state directory.
type State struct {
	Dir       string    `json:"dir"`       // where the file system is mounted
	Disk      string    `json:"disk"`      // disk image path
	Partition int       `json:"partition"` // 0: whole disk
	Offset    int64     `json:"offset"`    // partition start in bytes
	Size      int64     `json:"size"`      // partition size in bytes
	FSType    string    `json:"fsType"`    // as vcb/browse names it: ext4, fat16, fat32
	Mode      string    `json:"mode"`      // ModeKernel ("" in old files) or ModeFUSE
	FuseDir   string    `json:"fuseDir"`   // FUSE mountpoint holding DiskFileName (ModeKernel); names the server in both modes
	FusePID   int       `json:"fusePid"`   // FUSE server process, 0 if in-process
	LoopDev   string    `json:"loopDev"`   // /dev/loopN once attached
	Mounted   bool      `json:"mounted"`   // Dir is mounted
	Started   time.Time `json:"started"`
}

// Manager keeps state files in StateDir (DefaultStateDir if empty).
type Manager struct {
	StateDir string
}

func (m *Manager) dir() string {
	if m == nil || m.StateDir == "" {
		return DefaultStateDir
	}
	if abs, err := filepath.Abs(m.StateDir); err == nil {
		return abs // the FUSE directory names the server process: one spelling
	}
	return m.StateDir
}

func key(dir string) string {
	sum := sha256.Sum256([]byte(dir))
	return hex.EncodeToString(sum[:8])
}

// NewState prepares the state of a mount on dir (made absolute) with its
// FUSE mountpoint inside the state directory, and saves it.
func (m *Manager) NewState(dir, disk string) (*State, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if old, err := m.Load(abs); err == nil {
		return nil, fmt.Errorf("vmount: %s is already mounted from %s (run vmmount -u %s)", abs, old.Disk, abs)
	}
	if err := os.MkdirAll(m.dir(), 0o700); err != nil {
		return nil, err
	}
	s := &State{Dir: abs, Disk: disk, FuseDir: filepath.Join(m.dir(), key(abs)+".fuse"), Started: time.Now().UTC()}
	if err := os.MkdirAll(s.FuseDir, 0o700); err != nil {
		return nil, err
	}
	return s, m.Save(s)
}

func (m *Manager) statePath(dir string) string {
	return filepath.Join(m.dir(), key(dir)+".json")
}

// Save writes the state atomically.
func (m *Manager) Save(s *State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	p := m.statePath(s.Dir)
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// Load reads the state of the mount on dir.
func (m *Manager) Load(dir string) (*State, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(m.statePath(abs))
	if os.IsNotExist(err) {
		return nil, fmt.Errorf("%w: %s", ErrNotMounted, abs)
	}
	if err != nil {
		return nil, err
	}
	s := &State{}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("vmount: state file %s: %w", m.statePath(abs), err)
	}
	return s, nil
}

// List returns the states of all recorded mounts.
func (m *Manager) List() ([]*State, error) {
	paths, err := filepath.Glob(filepath.Join(m.dir(), "*.json"))
	if err != nil {
		return nil, err
	}
	var out []*State
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := &State{}
		if json.Unmarshal(b, s) == nil {
			out = append(out, s)
		}
	}
	return out, nil
}
