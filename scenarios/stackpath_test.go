package scenarios

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A scenario's stack: stays inside the scenario's directory, and a file
// that is not a stack is never printed back.
func TestStackPathContained(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "scen")
	write := func(file, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(root, "secret.yaml"), stackFile) // a valid stack, but outside
	write(filepath.Join(dir, "sub", "web.yaml"), stackFile)
	write(filepath.Join(dir, "shadow"), "root:$6$hunter2:19000:0:99999:7:::\n")
	write(filepath.Join(dir, "creds.yaml"), "aws_secret_access_key: hunter2\n")
	if err := os.Symlink(filepath.Join(root, "secret.yaml"), filepath.Join(dir, "link.yaml")); err != nil {
		t.Fatal(err)
	}
	scen := filepath.Join(dir, "s.yaml")
	parse := func(stackPath string) (*Scenario, error) {
		return Parse(scen, []byte("name: s\nstack: "+stackPath+"\n"+phases+slos))
	}

	for _, p := range []string{"../secret.yaml", "sub/../../secret.yaml", filepath.Join(root, "secret.yaml"), "/etc/passwd"} {
		_, err := parse(p)
		want := scen + `:2:8: stack: "` + p + `" is outside the scenario's directory ` + dir + "; give a built-in stack"
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("stack: %s: %v\nwant %s...", p, err, want)
		}
	}
	if _, err := parse("link.yaml"); err == nil || !strings.Contains(err.Error(), `stack: "link.yaml" leads outside the scenario's directory `+dir+" through a symbolic link") {
		t.Errorf("stack: link.yaml: %v, want refused (a symbolic link out)", err)
	}
	for _, p := range []string{"sub/web.yaml", "./sub/web.yaml", filepath.Join(dir, "sub", "web.yaml"), "simplydone"} {
		s, err := parse(p)
		if err != nil {
			t.Errorf("stack: %s: %v", p, err)
			continue
		}
		if _, err := s.ResolveStack(); err != nil {
			t.Errorf("stack: %s: ResolveStack: %v", p, err)
		}
	}

	// ResolveStack refuses too, for a scenario not made by Parse.
	s := &Scenario{File: scen, Stack: "../secret.yaml"}
	if _, err := s.ResolveStack(); err == nil || !strings.Contains(err.Error(), "is outside the scenario's directory") {
		t.Errorf("ResolveStack(../secret.yaml) = %v", err)
	}

	// Files that are not stacks: refused without their content.
	for _, p := range []string{"shadow", "creds.yaml"} {
		s, err := parse(p)
		if err != nil {
			t.Fatalf("stack: %s: %v", p, err)
		}
		_, err = s.ResolveStack()
		if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "not a stack file") {
			t.Errorf("stack: %s: %v; want 'not a stack file' and no content", p, err)
		}
	}
}
