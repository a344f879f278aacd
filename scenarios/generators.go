package scenarios

import (
	"fmt"
	"slices"
	"strings"

	"github.com/simplydone/lab/internal/yamlcheck"
	"github.com/simplydone/lab/stack"
)

// Load from several hosts (issue 20): load.generators names where the
// load is sent from. "controller" is this host (the lab's own generator,
// as without the field); a zone's name is the agent that runs that zone
// (stack zones: with agent:), which sends a share from its host. The
// profile is split evenly among them (load.Split: rates divided, users
// whole), every share starts at one wall instant, and their raw results
// merge into the run's one Result (histograms and counts, never averaged
// percentiles).
//
//	load:
//	  generators: [controller, us-east-1b]

// Controller names the controller's own generator in load.generators.
const Controller = "controller"

// GeneratorZones is the zones of load.generators (without the
// controller), in file order; LocalShare says whether the controller
// sends a share too (true when the field is absent).
func (l LoadProfile) GeneratorZones() []string {
	var out []string
	for _, g := range l.Generators {
		if g != Controller {
			out = append(out, g)
		}
	}
	return out
}

// LocalShare reports whether the controller sends a share of the load.
func (l LoadProfile) LocalShare() bool {
	return len(l.Generators) == 0 || slices.Contains(l.Generators, Controller)
}

// validateGenerators checks load.generators: not empty, no repeats, and
// each either the controller or a zone of the stack that runs on an
// agent.
func (p parser) validateGenerators(s *Scenario) {
	const path = "load.generators"
	if !p.Has(path) || p.Bad(path) || p.anyBad(path) {
		return
	}
	if len(s.Load.Generators) == 0 {
		p.Errf(path, "empty; give %s and/or zones whose agent sends a share of the load, such as [%s, us-east-1b], or leave it out (the controller alone)", Controller, Controller)
		return
	}
	var st *stack.Stack
	if !p.Bad("stack") && len(s.Load.GeneratorZones()) > 0 {
		var err error
		if st, err = s.ResolveStack(); err != nil {
			return // the stack's own problem is reported where it is used
		}
	}
	seen := map[string]int{}
	for i, g := range s.Load.Generators {
		at := yamlcheck.Index(path, i)
		if j, dup := seen[g]; dup {
			p.Errf(at, "%s is already %s; each generator once", g, yamlcheck.Index(path, j))
			continue
		}
		seen[g] = i
		if g == Controller || st == nil {
			continue
		}
		if msg := generatorZoneProblem(st, g); msg != "" {
			p.Errf(at, "%s", msg)
		}
	}
}

// generatorZoneProblem says why zone cannot send a share with st, or "".
func generatorZoneProblem(st *stack.Stack, zone string) string {
	var agents []string
	for _, z := range st.Zones {
		if st.ZoneAgent(z) != "" {
			agents = append(agents, z)
		}
	}
	allowed := Controller
	if len(agents) > 0 {
		allowed += ", or a zone on an agent: " + strings.Join(agents, ", ")
	}
	if !slices.Contains(st.Zones, zone) {
		return fmt.Sprintf("%q is not a zone of stack %s; allowed: %s", zone, st.Name, allowed)
	}
	if st.ZoneAgent(zone) == "" {
		return fmt.Sprintf("zone %s of stack %s runs on this host (no agent: in the stack's zones:), so it has no generator of its own; allowed: %s", zone, st.Name, allowed)
	}
	return ""
}

// GeneratorsProblem says why st cannot send s's load from the generators
// it names (a stack given apart from the scenario's file, as --stack
// does, is not checked at parse time), or "".
func (s *Scenario) GeneratorsProblem(st *stack.Stack) string {
	for _, z := range s.Load.GeneratorZones() {
		if msg := generatorZoneProblem(st, z); msg != "" {
			return fmt.Sprintf("load.generators[%d]: %s", slices.Index(s.Load.Generators, z), msg)
		}
	}
	return ""
}
