package stack

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// contextStore writes a Docker CLI context store in its documented format
// (internal/dockerctx tests it against the real CLI) and points
// DOCKER_CONFIG at it: "engine-b" on a unix socket, "remote" on tcp,
// "k8s" without a docker endpoint.
func contextStore(t *testing.T) string {
	dir := t.TempDir()
	for name, eps := range map[string]map[string]any{
		"engine-b": {"docker": map[string]any{"Host": "unix:///run/engine-b.sock"}},
		"remote":   {"docker": map[string]any{"Host": "tcp://10.0.0.3:2376"}},
		"k8s":      {"kubernetes": map[string]any{"Host": "https://10.0.0.9:6443"}},
	} {
		h := sha256.Sum256([]byte(name))
		d := filepath.Join(dir, "contexts", "meta", hex.EncodeToString(h[:]))
		b, _ := json.Marshal(map[string]any{"Name": name, "Metadata": map[string]any{}, "Endpoints": eps})
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "meta.json"), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("DOCKER_CONFIG", dir)
	return dir
}

// TestZonesOnDockerContexts: a zone's docker_context names the engine
// that runs it; zones without one use the run's own.
func TestZonesOnDockerContexts(t *testing.T) {
	contextStore(t)
	s, err := Parse("s.yaml", []byte(head+group+`zones:
  - {name: us-east-1a}
  - {name: us-east-1b, docker_context: engine-b}
  - {name: us-east-1c, docker_context: default}
`))
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"us-east-1b": "engine-b", "us-east-1c": "default"}; !reflect.DeepEqual(s.ZoneContexts, want) {
		t.Errorf("ZoneContexts = %v, want %v", s.ZoneContexts, want)
	}
	if s.ZoneContext("us-east-1a") != "" || s.ZoneContext("us-east-1b") != "engine-b" || s.HasAgents() {
		t.Errorf("ZoneContext(a) %q, (b) %q, HasAgents %v", s.ZoneContext("us-east-1a"), s.ZoneContext("us-east-1b"), s.HasAgents())
	}
}

// TestBadDockerContexts: every problem at once, each at its value: an
// unknown context lists the store's, a context without a docker endpoint,
// an engine on another host (an agent is the way), both agent and context.
func TestBadDockerContexts(t *testing.T) {
	dir := contextStore(t)
	_, err := Parse("s.yaml", []byte(head+group+`zones:
  - {name: a1, docker_context: nope}
  - {name: b1, docker_context: k8s}
  - {name: c1, docker_context: remote}
  - {name: d1, docker_context: engine-b, agent: "10.0.0.4:7450"}
`))
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Parse: got %v, want *Errors", err)
	}
	want := []string{
		`s.yaml:6:32: zones[0].docker_context: "nope" is not a Docker context of ` + dir + `; allowed: default, engine-b, k8s, remote (docker context ls; docker context create NAME --docker host=unix:///PATH)`,
		`s.yaml:7:32: zones[1].docker_context: "k8s" has no docker endpoint; allowed: a context with one (docker context create NAME --docker host=unix:///PATH)`,
		`s.yaml:8:32: zones[2].docker_context: "remote" names the engine tcp://10.0.0.3:2376, not a unix socket on this host: instances use the host's network and are reached at their zone's addresses here; for an engine on another host run ` + "`lab agent --docker-context remote`" + ` there and name it with agent: host:port`,
		`s.yaml:9:32: zones[3].docker_context: "engine-b" given with agent; use one: agent (the zone runs on that host; start it there with ` + "`lab agent --docker-context engine-b`" + ` to use that engine) or docker_context (an engine on this host)`,
	}
	if got := err.Error(); got != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}
