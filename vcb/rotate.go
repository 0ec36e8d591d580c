package vcb

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Backups lists the complete backups (directories holding a valid
// manifest, not temporary ".partial-" ones) directly under parent, newest
// first.
func Backups(parent string) ([]string, []*Manifest, error) {
	ents, err := os.ReadDir(parent)
	if err != nil {
		return nil, nil, newErr("list-backups", "", ErrWrite, err)
	}
	type item struct {
		dir string
		m   *Manifest
	}
	var items []item
	for _, e := range ents {
		if !e.IsDir() || strings.Contains(e.Name(), ".partial-") {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		m, err := ReadManifest(dir)
		if err != nil {
			continue
		}
		items = append(items, item{dir, m})
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].m.Created.After(items[j].m.Created) })
	dirs := make([]string, len(items))
	mans := make([]*Manifest, len(items))
	for i, it := range items {
		dirs[i], mans[i] = it.dir, it.m
	}
	return dirs, mans, nil
}

// sameVM reports whether two manifests' VMs are the same VM: same
// instance UUID when both have one, else same moref and name.
func sameVM(a, b VMInfo) bool {
	if a.InstanceUUID != "" && b.InstanceUUID != "" {
		return strings.EqualFold(a.InstanceUUID, b.InstanceUUID)
	}
	return a.MoRef == b.MoRef && a.Name == b.Name
}

// Rotate keeps the newest keep complete backups of vm under parent and
// removes the older ones, returning the removed directories: Forget with
// a keep-last policy.
func Rotate(parent string, vm VMInfo, keep int) ([]string, error) {
	if keep <= 0 {
		return nil, nil
	}
	return Forget(context.Background(), parent, vm, RetentionPolicy{Last: keep})
}
