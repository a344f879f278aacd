package scenarios

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/internal/yamlcheck"
)

// Defaults for what a scenario file leaves out.
const (
	DefaultSpeed  = 10
	DefaultSeed   = 1
	DefaultMaxLag = 250 * time.Millisecond
	// DefaultThinkTime is a virtual user's mean pause between an answer
	// and its next request (AWS time) when the scenario gives none: the
	// lab's choice, not AWS's, a person reading a page for a few seconds
	// before the next click (k6's examples sleep 1 to 5 s between
	// requests). Each pause is drawn uniformly within +-50% of it.
	DefaultThinkTime = 5 * time.Second
)

// DefaultMix is the request mix of a scenario that gives none.
var DefaultMix = Mix{List: 50, Create: 20, Get: 20, Done: 10}

// Parse reads a scenario file, fills in the defaults and validates it.
// filename is used in error messages and to find a stack given by relative
// path (a chaos zone is checked against the stack when the stack can be
// loaded). On any problem it returns *yamlcheck.Errors listing them all
// (stack.Errors is the same type).
func Parse(filename string, data []byte) (*Scenario, error) {
	root, err := yamlcheck.Document(filename, data, "scenario", "name, stack, load.phases and slos")
	if err != nil {
		return nil, err
	}
	if err := yamlcheck.NotA(filename, root, "scenario", topKeys...); err != nil {
		return nil, err
	}
	p := parser{yamlcheck.NewParser(filename)}
	s := &Scenario{Speed: DefaultSpeed, Seed: DefaultSeed, MaxLag: DefaultMaxLag, File: filename, Expect: ExpectPass, CapacityScale: 1}
	s.Load.Mix = DefaultMix
	s.Load.Client = DefaultClient
	if p.decode(root, s) {
		p.validate(s)
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	s.Source = data
	return s, nil
}

// Load reads and parses the scenario file at path.
func Load(path string) (*Scenario, error) {
	data, err := yamlcheck.ReadFile(path, "scenario")
	var errs *yamlcheck.Errors
	if errors.As(err, &errs) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	return Parse(path, data)
}

// parser decodes and validates one scenario file.
type parser struct {
	*yamlcheck.Parser
}

// topKeys are the keys a scenario file may have at its top level.
var topKeys = []string{"name", "description", "stack", "speed", "seed", "max_lag",
	"load", "chaos", "slos", "stop_conditions", "actions", "expect", "max_down_instances", "max_down_zones", "capacity_scale",
	"stack_without_postgresql"}

// decode reads the file into s over its defaults. It reports false when the
// file is not a mapping at all, so there is nothing to validate.
func (p parser) decode(root *yaml.Node, s *Scenario) bool {
	m := p.Mapping(root, "", topKeys...)
	if m == nil {
		return false
	}
	p.Str(m, "", "name", &s.Name)
	p.Str(m, "", "description", &s.Description)
	p.Str(m, "", "stack", &s.Stack)
	if n := m["stack"]; n != nil {
		s.stackAt = yamlcheck.Error{File: s.File, Line: n.Line, Col: n.Column, Field: "stack"}
	}
	p.Str(m, "", "stack_without_postgresql", &s.StackWithoutPostgreSQL)
	if n := m["stack_without_postgresql"]; n != nil {
		s.fallbackAt = yamlcheck.Error{File: s.File, Line: n.Line, Col: n.Column, Field: "stack_without_postgresql"}
	}
	p.Float(m, "", "speed", &s.Speed)
	p.Float(m, "", "capacity_scale", &s.CapacityScale)
	p.seed(m["seed"], &s.Seed)
	p.Dur(m, "", "max_lag", &s.MaxLag, true)
	p.load(m["load"], &s.Load)
	p.Int(m, "", "max_down_instances", &s.MaxDownInstances)
	p.Int(m, "", "max_down_zones", &s.MaxDownZones)
	for i, n := range p.List(m["chaos"], "chaos") {
		s.Chaos = append(s.Chaos, p.chaos(n, yamlcheck.Index("chaos", i)))
	}
	s.SLOs = p.slos(m["slos"], "slos", false)
	s.StopConditions = p.slos(m["stop_conditions"], "stop_conditions", true)
	for i, n := range p.List(m["actions"], "actions") {
		s.Actions = append(s.Actions, p.operatorAction(n, yamlcheck.Index("actions", i)))
	}
	p.Str(m, "", "expect", &s.Expect)
	return true
}

func (p parser) seed(n *yaml.Node, dst *uint64) {
	if n == nil {
		return
	}
	var v uint64
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&v) != nil {
		p.ErrAt(n, "seed", "%s is not a seed; use a whole number 0 or more", yamlcheck.Describe(n))
		return
	}
	*dst = v
}

func (p parser) load(n *yaml.Node, l *LoadProfile) {
	m := p.Mapping(n, "load", "mix", "phases", "client", "think_time", "users", "generators")
	p.Int(m, "load", "users", &l.Users)
	p.StrList(m, "load", "generators", &l.Generators)
	p.Str(m, "load", "client", &l.Client)
	l.ThinkTime = DefaultThinkTime
	p.Dur(m, "load", "think_time", &l.ThinkTime, true)
	if mix := p.Mapping(m["mix"], "load.mix", "list", "create", "get", "done", "cart", "add_to_cart"); mix != nil {
		l.Mix = Mix{}
		p.Int(mix, "load.mix", "list", &l.Mix.List)
		p.Int(mix, "load.mix", "create", &l.Mix.Create)
		p.Int(mix, "load.mix", "get", &l.Mix.Get)
		p.Int(mix, "load.mix", "done", &l.Mix.Done)
		p.Int(mix, "load.mix", "cart", &l.Mix.Cart)
		p.Int(mix, "load.mix", "add_to_cart", &l.Mix.AddToCart)
	}
	for i, pn := range p.List(m["phases"], "load.phases") {
		path := yamlcheck.Index("load.phases", i)
		ph := p.Mapping(pn, path, "name", "duration", "rate", "from", "to", "users", "think_time")
		phase := Phase{Name: fmt.Sprintf("phase-%d", i+1)}
		p.Str(ph, path, "name", &phase.Name)
		p.Dur(ph, path, "duration", &phase.Duration, true)
		if ph["users"] != nil {
			p.users(ph["users"], yamlcheck.Sub(path, "users"), &phase)
			phase.ThinkTime = l.ThinkTime
			p.Dur(ph, path, "think_time", &phase.ThinkTime, true)
		} else if ph["rate"] != nil {
			p.Float(ph, path, "rate", &phase.From)
			phase.To = phase.From
		} else {
			p.Float(ph, path, "from", &phase.From)
			p.Float(ph, path, "to", &phase.To)
		}
		l.Phases = append(l.Phases, phase)
	}
}

// users reads a phase's users: a count (a steady phase) or {from, to} (a
// ramp).
func (p parser) users(n *yaml.Node, path string, ph *Phase) {
	ph.Users = true
	if n.Kind == yaml.MappingNode {
		m := p.Mapping(n, path, "from", "to")
		for _, key := range []string{"from", "to"} {
			if m != nil && m[key] == nil {
				p.ErrAt(n, yamlcheck.Sub(path, key), "missing; a ramp of users needs from and to, such as {from: 100, to: 10000}")
			}
		}
		var from, to int
		p.Int(m, path, "from", &from)
		p.Int(m, path, "to", &to)
		ph.From, ph.To = float64(from), float64(to)
		return
	}
	var v int
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&v) != nil {
		p.ErrAt(n, path, "%s is not a number of users; give a whole number such as 500, or {from: 100, to: 10000} for a ramp", yamlcheck.Describe(n))
		return
	}
	ph.From, ph.To = float64(v), float64(v)
}

func (p parser) chaos(n *yaml.Node, path string) ChaosAction {
	var a ChaosAction
	m := p.Mapping(n, path, "at", "action", "zone", "duration", "percent", "status", "latency", "jitter",
		"after", "every", "every_jitter", "repeat", "target", "count", "bandwidth", "blackhole_for", "lb_node", "mean_gap", "min_gap", "db_instance", "connections")
	p.Dur(m, path, "at", &a.At, true)
	p.Str(m, path, "action", &a.Action)
	p.Str(m, path, "zone", &a.Zone)
	p.Str(m, path, "db_instance", &a.DBInstance)
	p.Int(m, path, "connections", &a.Connections)
	p.Dur(m, path, "duration", &a.Duration, true)
	p.Float(m, path, "percent", &a.Percent)
	p.Int(m, path, "status", &a.Status)
	p.Dur(m, path, "latency", &a.Latency, true)
	p.Dur(m, path, "jitter", &a.Jitter, true)
	p.chaosTimeline(m, path, &a)
	if m["percent"] == nil {
		a.Percent = 100
	}
	if a.Action == chaos.HTTPError && m["status"] == nil {
		a.Status = DefaultStatus
	}
	return a
}

// slos reads a list of SLO expressions, reporting each bad one at its place.
// Live ones (stop conditions) are evaluated during the run, so they cannot
// use what is only known at its end.
func (p parser) slos(n *yaml.Node, path string, live bool) []SLO {
	var out []SLO
	for i, item := range p.List(n, path) {
		field := yamlcheck.Index(path, i)
		if item.Kind != yaml.ScalarNode {
			p.ErrAt(item, field, "want an expression such as p99 <= 500ms, got %s", yamlcheck.Describe(item))
			continue
		}
		expr, window, ok := p.window(item, field, live)
		if !ok {
			continue
		}
		slo, err := ParseSLO(expr)
		if err != nil {
			p.ErrAt(item, field, "%v", err)
			continue
		}
		if window > 0 {
			slo.Expr, slo.For = strings.TrimSpace(item.Value), window
		}
		if live && (slo.Metric == LostWrites || slo.Metric == LostSessionState || slo.Metric == StaleReads || slo.Metric == DBErrorWindow) {
			p.ErrAt(item, field, "%s is counted at the end of the run, so it cannot stop a run early; use it in slos", slo.Metric)
			continue
		}
		out = append(out, slo)
	}
	return out
}
