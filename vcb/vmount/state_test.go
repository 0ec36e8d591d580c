package vmount

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestStateRoundTrip(t *testing.T) {
	m := &Manager{StateDir: t.TempDir()}
	dir := filepath.Join(t.TempDir(), "mnt")
	s, err := m.NewState(dir, "/x/disk.vmdk")
	if err != nil {
		t.Fatal(err)
	}
	s.LoopDev, s.FusePID = "/dev/loop9", 12345
	if err := m.Save(s); err != nil {
		t.Fatal(err)
	}
	got, err := m.Load(dir)
	if err != nil || got.LoopDev != "/dev/loop9" || got.FusePID != 12345 || got.Dir != dir {
		t.Fatalf("Load = %+v, %v", got, err)
	}
	if _, err := m.NewState(dir, "/y.vmdk"); err == nil {
		t.Error("second mount on the same directory accepted")
	}
	if l, _ := m.List(); len(l) != 1 {
		t.Errorf("List = %v", l)
	}
	if _, err := m.Load(t.TempDir()); !errors.Is(err, ErrNotMounted) {
		t.Errorf("Load of unknown dir: %v", err)
	}
}

func TestMountinfo(t *testing.T) {
	if unescape(`/a\040b\134c`) != `/a b\c` {
		t.Error(unescape(`/a\040b\134c`))
	}
	if !IsMountpoint("/proc") {
		t.Error("/proc is not a mount point?")
	}
	if IsMountpoint(t.TempDir()) {
		t.Error("temp dir is a mount point?")
	}
}
