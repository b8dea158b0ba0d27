package main

import "runtime/debug"

// buildVersion is v when the build set it (make, make release: git
// describe). Otherwise it is what the go command recorded: the module's
// version for `go install ...@vX.Y.Z`, or the commit of a build in a git
// checkout (with "+dirty" when the tree had changes) — never a bare "dev"
// that says nothing about what runs.
func buildVersion(v string) string {
	if v != "dev" {
		return v
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if mv := bi.Main.Version; mv != "" && mv != "(devel)" {
		return mv
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev == "" {
		return v
	}
	return "dev-" + rev[:min(12, len(rev))] + dirty
}
