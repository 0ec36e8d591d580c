package vmount

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzMountinfo: any mountinfo text gives a source or "\x00", no panic;
// a line built for the directory is found.
func FuzzMountinfo(f *testing.F) {
	f.Add("36 35 98:0 /mnt1 /mnt/a\\040b rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n", "/mnt/a b")
	f.Add("1 2 3:4 / /x rw - fuse vmmount-fs ro\n1 2 3:4 / /x rw - ext4 /dev/loop3 ro\n", "/x")
	f.Add("- - - - - - - - - -\n", "-")
	f.Fuzz(func(t *testing.T, table, dir string) {
		parseMountSource(strings.NewReader(table), dir)
		unescape(table)
		if dir == "" || strings.ContainsAny(dir, " \t\n\\") {
			return // the kernel escapes these
		}
		line := "10 1 0:5 / " + dir + " rw - fuse " + TreeFSName + " ro\n"
		if got := parseMountSource(strings.NewReader(line), dir); got != TreeFSName {
			t.Errorf("source of %q = %q", line, got)
		}
	})
}

// FuzzLoadState: any state file content loads or fails with an error, and
// Unmount refuses a state whose FUSE directory is not its own.
func FuzzLoadState(f *testing.F) {
	good, _ := json.Marshal(&State{Dir: "/mnt/x", FuseDir: "/", Mode: ModeFUSE, FusePID: 1})
	f.Add(good)
	f.Add([]byte(`{"dir":"/mnt/x","fusePid":-5,"loopDev":"/dev/sda"}`))
	f.Add([]byte("not json"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m := &Manager{StateDir: t.TempDir()}
		dir := "/nonexistent/vmount-fuzz/mnt"
		if err := os.WriteFile(m.statePath(dir), b, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := m.Load(dir)
		if err != nil {
			return
		}
		if s.Dir == dir && s.FuseDir != filepath.Join(m.StateDir, key(dir)+".fuse") {
			if err := m.Unmount(dir); err == nil {
				t.Errorf("Unmount accepted FUSE directory %q", s.FuseDir)
			}
		}
	})
}
