package stack

import (
	"time"

	"gopkg.in/yaml.v3"

	"github.com/simplydone/lab/internal/yamlcheck"
)

// Lifecycle hook transitions and results, in the API's words.
const (
	LaunchingTransition   = "autoscaling:EC2_INSTANCE_LAUNCHING"
	TerminatingTransition = "autoscaling:EC2_INSTANCE_TERMINATING"
)

var (
	hookTransitions = []string{LaunchingTransition, TerminatingTransition}
	hookResults     = []string{"ABANDON", "CONTINUE"}
)

// LifecycleHook pauses the group's instances as they launch or terminate
// (aws-behaviour.md 2.5): a slow bootstrap, or a connection drain before
// the instance ends. With nobody to complete the action, each instance
// waits the heartbeat timeout and the default result decides.
type LifecycleHook struct {
	Name                string
	LifecycleTransition string
	HeartbeatTimeout    time.Duration // AWS default 3600s; 30s-7200s
	DefaultResult       string        // ABANDON (AWS default) or CONTINUE
}

// ScheduledAction sets the group's size at a time. The lab's runs are
// short: At is an offset from the start of the run and Recurrence a period
// (AWS takes a start time and a cron expression).
type ScheduledAction struct {
	Name                              string
	At                                time.Duration
	Recurrence                        time.Duration // 0: once
	MinSize, MaxSize, DesiredCapacity *int
}

// lifecycleHooks reads auto_scaling_group.lifecycle_hooks.
func (p *parser) lifecycleHooks(m map[string]*yaml.Node, g *AutoScalingGroup) {
	const path = "auto_scaling_group.lifecycle_hooks"
	for i, n := range p.List(m["lifecycle_hooks"], path) {
		ipath := yamlcheck.Index(path, i)
		hm := p.Mapping(n, ipath, "name", "lifecycle_transition", "heartbeat_timeout", "default_result")
		h := LifecycleHook{HeartbeatTimeout: time.Hour, DefaultResult: "ABANDON"}
		p.Str(hm, ipath, "name", &h.Name)
		p.Str(hm, ipath, "lifecycle_transition", &h.LifecycleTransition)
		p.Dur(hm, ipath, "heartbeat_timeout", &h.HeartbeatTimeout, false)
		p.Str(hm, ipath, "default_result", &h.DefaultResult)
		g.LifecycleHooks = append(g.LifecycleHooks, h)
	}
}

func (p *parser) validateHooks(hooks []LifecycleHook) {
	const path = "auto_scaling_group.lifecycle_hooks"
	names := map[string]bool{}
	for i, h := range hooks {
		ipath := yamlcheck.Index(path, i)
		switch {
		case !p.Has(ipath + ".name"):
			p.Errf(ipath+".name", "missing; name the hook")
		case names[h.Name]:
			p.Errf(ipath+".name", "%s is already the name of a hook; hook names must be unique", h.Name)
		}
		names[h.Name] = true
		if !p.Has(ipath + ".lifecycle_transition") {
			p.Errf(ipath+".lifecycle_transition", "missing; use %s or %s", LaunchingTransition, TerminatingTransition)
		} else {
			p.OneOf(ipath+".lifecycle_transition", h.LifecycleTransition, hookTransitions)
		}
		p.durRange(ipath+".heartbeat_timeout", h.HeartbeatTimeout, 30*time.Second, 7200*time.Second)
		p.OneOf(ipath+".default_result", h.DefaultResult, hookResults)
	}
}

// scheduledActions reads the top-level scheduled_actions.
func (p *parser) scheduledActions(n *yaml.Node, s *Stack) {
	const path = "scheduled_actions"
	for i, an := range p.List(n, path) {
		ipath := yamlcheck.Index(path, i)
		am := p.Mapping(an, ipath, "name", "at", "recurrence", "min_size", "max_size", "desired_capacity")
		var a ScheduledAction
		p.Str(am, ipath, "name", &a.Name)
		p.Dur(am, ipath, "at", &a.At, true)
		p.Dur(am, ipath, "recurrence", &a.Recurrence, true)
		a.MinSize = p.optInt(am, ipath, "min_size")
		a.MaxSize = p.optInt(am, ipath, "max_size")
		a.DesiredCapacity = p.optInt(am, ipath, "desired_capacity")
		s.ScheduledActions = append(s.ScheduledActions, a)
	}
}

func (p *parser) optInt(m map[string]*yaml.Node, path, key string) *int {
	if m[key] == nil {
		return nil
	}
	var v int
	p.Int(m, path, key, &v)
	return &v
}

func (p *parser) validateScheduled(actions []ScheduledAction) {
	const path = "scheduled_actions"
	names := map[string]bool{}
	for i, a := range actions {
		ipath := yamlcheck.Index(path, i)
		switch {
		case !p.Has(ipath + ".name"):
			p.Errf(ipath+".name", "missing; name the scheduled action")
		case names[a.Name]:
			p.Errf(ipath+".name", "%s is already the name of a scheduled action; names must be unique", a.Name)
		}
		names[a.Name] = true
		switch {
		case !p.Has(ipath + ".at"):
			p.Errf(ipath+".at", "missing; give when the action runs, as an offset from the start of the run, such as 10m")
		case a.At < 0:
			p.Errf(ipath+".at", "%s is negative; give an offset from the start of the run, such as 10m", fmtDur(a.At))
		}
		if p.Has(ipath+".recurrence") && a.Recurrence < time.Minute {
			p.Errf(ipath+".recurrence", "%s is below a minute; a recurrence repeats at most every minute (AWS's cron granularity)", fmtDur(a.Recurrence))
		}
		if a.MinSize == nil && a.MaxSize == nil && a.DesiredCapacity == nil {
			p.Errf(ipath, "sets nothing; give at least one of min_size, max_size and desired_capacity")
		}
		for _, f := range []struct {
			key string
			v   *int
		}{{"min_size", a.MinSize}, {"max_size", a.MaxSize}, {"desired_capacity", a.DesiredCapacity}} {
			if f.v != nil && *f.v < 0 {
				p.Errf(ipath+"."+f.key, "%d is negative; use 0 or more", *f.v)
			}
		}
		if a.MinSize != nil && a.MaxSize != nil && *a.MinSize > *a.MaxSize {
			p.Errf(ipath+".min_size", "%d is above max_size (%d)", *a.MinSize, *a.MaxSize)
		}
		if a.DesiredCapacity != nil && (a.MinSize != nil && *a.DesiredCapacity < *a.MinSize || a.MaxSize != nil && *a.DesiredCapacity > *a.MaxSize) {
			p.Errf(ipath+".desired_capacity", "%d is outside the action's min_size and max_size", *a.DesiredCapacity)
		}
	}
}
