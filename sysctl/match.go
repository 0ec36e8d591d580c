package sysctl

import "path"

// pathMatch matches one key component against a glob (path.Match syntax,
// which is what systemd-sysctl's fnmatch use amounts to within a component).
func pathMatch(pattern, name string) (bool, error) { return path.Match(pattern, name) }
