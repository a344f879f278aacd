package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simplydone/lab/sim/az/docker"
	"github.com/simplydone/lab/stack"
)

// TestDoctorEngines: doctor asks the engine of every zone on a Docker
// context, through the real client: a socket nobody serves fails doctor,
// saying where it looked and why; the host's own engine, when one answers,
// says its endpoint and version.
func TestDoctorEngines(t *testing.T) {
	ctx := context.Background()
	here, herr := docker.Probe(ctx, "")
	dead := "unix://" + filepath.Join(t.TempDir(), "none.sock")
	hosts := map[string]string{"nobody": dead, "here": here.Host}
	if herr != nil || !here.Local {
		hosts["here"] = dead
	}
	cfg := t.TempDir()
	for name, host := range hosts { // the CLI's documented format (internal/dockerctx tests it against the CLI)
		h := sha256.Sum256([]byte(name))
		d := filepath.Join(cfg, "contexts", "meta", hex.EncodeToString(h[:]))
		b, _ := json.Marshal(map[string]any{"Name": name, "Endpoints": map[string]any{"docker": map[string]any{"Host": host}}})
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "meta.json"), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("DOCKER_CONFIG", cfg)
	s, err := stack.Parse("web.yaml", []byte(`name: web
zones:
  - {name: us-east-1a}
  - {name: us-east-1b, docker_context: here}
  - {name: us-east-1c, docker_context: nobody}
target_group: {port: 8080}
launch_template: {command: [simplydone]}
auto_scaling_group: {min_size: 1, max_size: 2}
`))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if doctorEngines(ctx, s, &out) {
		t.Errorf("an engine that does not answer passed doctor:\n%s", out.String())
	}
	t.Logf("doctor:\n%s", out.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want a line per context zone, got:\n%s", out.String())
	}
	if want := "✗ engine us-east-1c      docker context nobody (" + dead + "): no engine answers at " + dead; !strings.HasPrefix(lines[1], want) {
		t.Errorf("line %q, want it to begin %q", lines[1], want)
	}
	if herr != nil || !here.Local {
		t.Logf("no local engine answers (%v): only the failing line checked", herr)
		return
	}
	if want := "✓ engine us-east-1b      docker context here: " + here.Host + " (on this host), engine " + here.Version + ", API "; !strings.HasPrefix(lines[0], want) {
		t.Errorf("line %q, want it to begin %q", lines[0], want)
	}
}
