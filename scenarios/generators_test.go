package scenarios

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// load.generators: the controller and zones on agents are accepted; a
// zone on this host, a name that is no zone, a repeat and an empty list
// are refused at their line, with the value and what is allowed.
func TestLoadGenerators(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hosts.yaml"), []byte(agentsStack), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "sale.yaml")
	scenario := func(gens string) string {
		return "name: sale\nstack: hosts.yaml\nload:\n  generators: " + gens + "\n" + strings.TrimPrefix(phases, "load:\n") + slos
	}
	s, err := Parse(file, []byte(scenario("[controller, us-east-1a]")))
	if err != nil {
		t.Fatalf("controller and a zone on an agent: %v", err)
	}
	if !s.Load.LocalShare() || !slices.Equal(s.Load.GeneratorZones(), []string{"us-east-1a"}) {
		t.Errorf("generators %v: local %v, zones %v", s.Load.Generators, s.Load.LocalShare(), s.Load.GeneratorZones())
	}
	if s, err := Parse(file, []byte(scenario("[us-east-1a]"))); err != nil || s.Load.LocalShare() {
		t.Errorf("the agent alone: %v, local share %v", err, s != nil && s.Load.LocalShare())
	}
	if s, err := Parse(file, []byte("name: sale\nstack: hosts.yaml\n"+phases+slos)); err != nil || !s.Load.LocalShare() || len(s.Load.GeneratorZones()) != 0 {
		t.Errorf("no generators: the controller alone: %v", err)
	}

	_, err = Parse(file, []byte(scenario("[controller, us-east-1b, us-east-1z, controller]")))
	if err == nil {
		t.Fatal("bad generators accepted")
	}
	for _, want := range []string{
		file + `:4:28: load.generators[1]: zone us-east-1b of stack hosts runs on this host (no agent: in the stack's zones:), so it has no generator of its own; allowed: controller, or a zone on an agent: us-east-1a`,
		file + `:4:40: load.generators[2]: "us-east-1z" is not a zone of stack hosts; allowed: controller, or a zone on an agent: us-east-1a`,
		file + `:4:52: load.generators[3]: controller is already load.generators[0]; each generator once`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error:\n%v\nwant a line:\n%s", err, want)
		}
	}
	if _, err := Parse(file, []byte(scenario("[]"))); err == nil || !strings.Contains(err.Error(), "load.generators: empty") {
		t.Errorf("an empty list: %v", err)
	}
}
