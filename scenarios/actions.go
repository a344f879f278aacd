package scenarios

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/internal/yamlcheck"
	"github.com/simplydone/lab/stack"
)

// Operator actions: what a person does to the stack during a run (the
// chaos timeline is what happens to it).
const (
	Deploy = "deploy" // put a launch template version on every instance
)

// Deploy strategies.
const (
	// StrategyRolling is an instance refresh behind the load balancer:
	// batches deregistered, drained, replaced, checked healthy and warmed.
	StrategyRolling = "rolling"
	// StrategyReplace is the single-server way: stop every instance,
	// replace it, start the new one; nothing drains, nothing waits.
	StrategyReplace = "replace"
)

// Expected verdicts.
const (
	ExpectPass = "PASS"
	ExpectFail = "FAIL" // a demonstration of what goes wrong: its SLOs are meant to fail
)

var (
	operatorActions = []string{Deploy, BlueGreen}
	strategies      = []string{StrategyRolling, StrategyReplace}
	expectations    = []string{ExpectPass, ExpectFail}
)

// OperatorAction is one action on the operator timeline. The refresh
// preferences are StartInstanceRefresh's; nil takes AWS's default.
type OperatorAction struct {
	At       time.Duration // from the start of the load
	Action   string        // deploy
	Version  int           // the launch template version to deploy
	Strategy string        // rolling (default) or replace
	Service  string        // deploy: the service whose group is refreshed (stack services:); "": the first

	MinHealthyPercentage  *int
	MaxHealthyPercentage  *int
	InstanceWarmup        *time.Duration
	CheckpointPercentages []int
	CheckpointDelay       *time.Duration
	SkipMatching          bool
	AutoRollback          bool

	// blue-green (bluegreen.go)
	From, To      string // target groups
	Rule          int    // the listener rule's priority; 0: the default action
	Steps         []int  // percent on To, ascending, ending at 100
	StepInterval  time.Duration
	RollbackAlarm *RollbackAlarm
}

func (p parser) operatorAction(n *yaml.Node, path string) OperatorAction {
	a := OperatorAction{Strategy: StrategyRolling}
	m := p.Mapping(n, path, append([]string{"at", "action", "version", "strategy", "min_healthy_percentage", "max_healthy_percentage",
		"instance_warmup", "checkpoint_percentages", "checkpoint_delay", "skip_matching", "auto_rollback", "service"}, blueGreenKeys...)...)
	p.Dur(m, path, "at", &a.At, true)
	p.Str(m, path, "action", &a.Action)
	p.Int(m, path, "version", &a.Version)
	p.Str(m, path, "strategy", &a.Strategy)
	a.MinHealthyPercentage = p.optInt(m, path, "min_healthy_percentage")
	a.MaxHealthyPercentage = p.optInt(m, path, "max_healthy_percentage")
	a.InstanceWarmup = p.OptDur(m, path, "instance_warmup")
	a.CheckpointDelay = p.OptDur(m, path, "checkpoint_delay")
	cpath := yamlcheck.Sub(path, "checkpoint_percentages")
	for i, c := range p.List(m["checkpoint_percentages"], cpath) {
		var v int
		if c.Kind != yaml.ScalarNode || c.Tag != "!!int" || c.Decode(&v) != nil {
			p.ErrAt(c, yamlcheck.Index(cpath, i), "%s is not a percentage; use a whole number 1-100", yamlcheck.Describe(c))
			continue
		}
		a.CheckpointPercentages = append(a.CheckpointPercentages, v)
	}
	p.Bool(m, path, "skip_matching", &a.SkipMatching)
	p.Bool(m, path, "auto_rollback", &a.AutoRollback)
	p.Str(m, path, "service", &a.Service)
	if a.Action == BlueGreen {
		p.blueGreen(m, path, &a)
	} else {
		for _, k := range blueGreenKeys {
			if m[k] != nil {
				p.ErrAt(m[k], yamlcheck.Sub(path, k), "only for action blue-green; remove it")
			}
		}
	}
	return a
}

func (p parser) optInt(m map[string]*yaml.Node, path, key string) *int {
	if m[key] == nil {
		return nil
	}
	var v int
	p.Int(m, path, key, &v)
	return &v
}

// validateActions checks the operator timeline; a version is checked
// against the stack when the stack can be loaded.
func (p parser) validateActions(s *Scenario) {
	if p.Has("expect") {
		p.OneOf("expect", s.Expect, expectations)
	}
	total := s.TotalDuration()
	var hasVersion func(int) bool
	var groups []string
	var st *stack.Stack
	if len(s.Actions) > 0 && !p.Bad("stack") {
		if resolved, err := s.ResolveStack(); err == nil {
			st = resolved
			hasVersion = st.LaunchTemplate.HasVersion
			groups = st.TargetGroupNames()
		}
	}
	for i, a := range s.Actions {
		path := yamlcheck.Index("actions", i)
		switch {
		case !p.Has(path + ".at"):
			p.Errf(path+".at", "missing; give when the action happens, in AWS time from the start of the load, such as 3m")
		case a.At < 0:
			p.Errf(path+".at", "%s is negative; give a time from the start of the load, such as 3m", clock.Short(a.At))
		case total > 0 && a.At >= total:
			p.Errf(path+".at", "%s is not before the end of the load (%s); actions happen while the load runs", clock.Short(a.At), clock.Short(total))
		}
		if !p.Has(path + ".action") {
			p.Errf(path+".action", "missing; use one of %s", strings.Join(operatorActions, ", "))
		} else {
			p.OneOf(path+".action", a.Action, operatorActions)
		}
		if a.Action == BlueGreen {
			p.validateBlueGreen(path, a, groups)
			continue
		}
		hasVersion := hasVersion
		if a.Service != "" && st != nil { // a service's own launch template (stack services:)
			sv, _, ok := st.Service(a.Service)
			if !ok {
				p.Errf(path+".service", "%q is not a service of stack %s; use one of %v", a.Service, s.Stack, groups)
			} else {
				hasVersion = sv.LaunchTemplate.HasVersion
			}
		}
		switch {
		case !p.Has(path + ".version"):
			p.Errf(path+".version", "missing; give the launch template version to deploy, such as 2")
		case a.Version < 1:
			p.Errf(path+".version", "%d: versions start at 1", a.Version)
		case hasVersion != nil && !hasVersion(a.Version):
			p.Errf(path+".version", "%d is not a version of stack %s's launch template; add it under launch_template.versions", a.Version, s.Stack)
		}
		p.OneOf(path+".strategy", a.Strategy, strategies)
		if a.Strategy == StrategyReplace {
			for _, f := range []string{"min_healthy_percentage", "max_healthy_percentage", "instance_warmup", "checkpoint_percentages", "checkpoint_delay", "skip_matching", "auto_rollback"} {
				if p.Has(path + "." + f) {
					p.Errf(path+"."+f, "not allowed with strategy replace (stop, replace, start: no instance refresh); remove it, or use strategy rolling")
				}
			}
		}
		p.validateRefreshPrefs(path, a)
	}
}

func (p parser) validateRefreshPrefs(path string, a OperatorAction) {
	minH, maxH := 90, 100
	if a.MinHealthyPercentage != nil {
		minH = *a.MinHealthyPercentage
		if minH < 0 || minH > 100 {
			p.Errf(path+".min_healthy_percentage", "%d: allowed 0 to 100", minH)
		}
	}
	if a.MaxHealthyPercentage != nil {
		maxH = *a.MaxHealthyPercentage
		if maxH < 100 || maxH > 200 {
			p.Errf(path+".max_healthy_percentage", "%d: allowed 100 to 200", maxH)
		}
	}
	if maxH-minH > 100 {
		p.Errf(path+".max_healthy_percentage", "%d is more than 100 above min_healthy_percentage %d; AWS allows a difference of at most 100", maxH, minH)
	}
	if a.InstanceWarmup != nil && (*a.InstanceWarmup < 0 || *a.InstanceWarmup > time.Hour) {
		p.Errf(path+".instance_warmup", "%s: allowed 0s to 3600s", clock.Short(*a.InstanceWarmup))
	}
	if a.CheckpointDelay != nil && (*a.CheckpointDelay < 0 || *a.CheckpointDelay > 172800*time.Second) {
		p.Errf(path+".checkpoint_delay", "%s: allowed 0s to 172800s", clock.Short(*a.CheckpointDelay))
	}
	if !slices.IsSorted(a.CheckpointPercentages) || slices.ContainsFunc(a.CheckpointPercentages, func(v int) bool { return v < 1 || v > 100 }) ||
		len(slices.Compact(slices.Clone(a.CheckpointPercentages))) != len(a.CheckpointPercentages) {
		p.Errf(path+".checkpoint_percentages", "%v: want ascending whole numbers from 1 to 100", a.CheckpointPercentages)
	}
}

// ExpectsFail says whether the scenario demonstrates a failure: its FAIL
// verdict is the expected outcome.
func (s *Scenario) ExpectsFail() bool { return s.Expect == ExpectFail }

// DescribeAction is one operator action in a line, for the console.
func (a OperatorAction) String() string {
	if a.Action == BlueGreen {
		return a.blueGreenString()
	}
	return fmt.Sprintf("%s version %d (%s) at %s", a.Action, a.Version, a.Strategy, clock.Short(a.At))
}
