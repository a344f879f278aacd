package buildinfo

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestInfoFromBuildInfo(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Path: Module + "/cmd/lab", Main: debug.Module{Path: Module, Version: "v1.4.0"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "25631da6c2e13322fe8ca2af5e502e388b827b95"},
			{Key: "vcs.modified", Value: "true"}, {Key: "vcs.time", Value: "2026-12-05T20:25:59Z"}, {Key: "CGO_ENABLED", Value: "0"}}}
	in := FromBuildInfo(bi)
	want := "lab v1.4.0, commit 25631da6c2e1 (modified), built with go1.26.8, committed 2026-12-05T20:25:59Z, CGO_ENABLED=0"
	if got := in.String(); got != want {
		t.Fatalf("String\n got %q\nwant %q", got, want)
	}
	if !in.Released() || in.StaticHint() != "CGO_ENABLED=0 go install github.com/simplydone/lab/cmd/lab@v1.4.0" {
		t.Fatalf("released %v, hint %q", in.Released(), in.StaticHint())
	}
	dev := FromBuildInfo(&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: Module, Version: "(devel)"}})
	if dev.Released() || !strings.Contains(dev.StaticHint(), "CGO_ENABLED=0 go build -o lab ./cmd/lab") {
		t.Fatalf("a checkout build: released %v, hint %q", dev.Released(), dev.StaticHint())
	}
	if got := dev.String(); got != "lab (devel), commit unknown, built with go1.26.8" {
		t.Fatalf("String %q", got)
	}
	if dirty := FromBuildInfo(&debug.BuildInfo{Main: debug.Module{Version: "v1.4.1-0.20261205202559-25631da6c2e1+dirty"}}); dirty.Released() {
		t.Fatal("a dirty build is not a version go install can fetch")
	}
}

func TestDynamicReadsTheProgramInterpreter(t *testing.T) {
	dir := t.TempDir()
	notELF := filepath.Join(dir, "script")
	if err := os.WriteFile(notELF, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Dynamic(notELF); err == nil {
		t.Fatal("a shell script passed as an ELF executable")
	}
	sh, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		t.Skip("no /bin/sh")
	}
	if dyn, err := Dynamic(sh); err != nil || !dyn {
		t.Fatalf("/bin/sh (%s): dynamic %v, %v; want dynamically linked", sh, dyn, err)
	}
}
