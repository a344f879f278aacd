package buildinfo

import (
	"debug/elf"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Module is the lab's module path, for go install.
const Module = "github.com/simplydone/lab"

// Info is what a binary says about its own build.
type Info struct {
	Path      string // the main package (github.com/simplydone/lab/cmd/lab)
	Version   string // the main module's version: v1.2.3 from go install, a pseudo-version or (devel) from a checkout
	Commit    string // vcs.revision; "" when not stamped
	Time      string // vcs.time
	Modified  bool   // vcs.modified: built from a tree with uncommitted changes
	GoVersion string
	CGO       string // CGO_ENABLED as built ("0", "1", or "" when not recorded)
}

// Read is the running binary's build information.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: "(unknown)", GoVersion: runtime.Version()}
	}
	return FromBuildInfo(bi)
}

// FromBuildInfo is Info from what debug.ReadBuildInfo returned.
func FromBuildInfo(bi *debug.BuildInfo) Info {
	in := Info{Path: bi.Path, Version: bi.Main.Version, GoVersion: bi.GoVersion}
	if in.Version == "" {
		in.Version = "(devel)"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			in.Commit = s.Value
		case "vcs.time":
			in.Time = s.Value
		case "vcs.modified":
			in.Modified = s.Value == "true"
		case "CGO_ENABLED":
			in.CGO = s.Value
		}
	}
	return in
}

// String is the one line `lab version` prints.
func (in Info) String() string {
	commit := in.Commit
	switch {
	case commit == "":
		commit = "unknown"
	case len(commit) > 12:
		commit = commit[:12]
	}
	if in.Modified {
		commit += " (modified)"
	}
	s := fmt.Sprintf("lab %s, commit %s, built with %s", in.Version, commit, in.GoVersion)
	if in.Time != "" {
		s += ", committed " + in.Time
	}
	if in.CGO != "" {
		s += ", CGO_ENABLED=" + in.CGO
	}
	return s
}

// Released says whether the version names a published module version that
// go install can fetch again: not (devel), not a dirty build.
func (in Info) Released() bool {
	v := in.Version
	return strings.HasPrefix(v, "v") && !strings.Contains(v, "+dirty") && !strings.Contains(v, "(devel)")
}

// StaticHint says exactly how to get a static build of this lab: the same
// version through go install with cgo off, or, for a build from a checkout,
// go build (or make build) there with cgo off.
func (in Info) StaticHint() string {
	if in.Released() {
		return fmt.Sprintf("CGO_ENABLED=0 go install %s/cmd/lab@%s", Module, in.Version)
	}
	return "CGO_ENABLED=0 go build -o lab ./cmd/lab (or make build, which sets it) in your checkout of " + Module +
		", or CGO_ENABLED=0 go install " + Module + "/cmd/lab@latest"
}

// Dynamic says whether the executable at path is a dynamically linked ELF
// binary (it names a program interpreter): an image FROM scratch has no
// loader and no libc for it. A file that is not ELF is an error.
func Dynamic(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, fmt.Errorf("%s: not an ELF executable: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return true, nil
		}
	}
	return false, nil
}
