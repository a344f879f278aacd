package scenarios

import (
	"fmt"
	"slices"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/internal/compare"
	"github.com/simplydone/lab/internal/yamlcheck"
	"github.com/simplydone/lab/stack"
)

// BlueGreen shifts a weighted forward from one target group to another in
// steps, watching an alarm and rolling back on a breach, as CodeDeploy's
// blue/green deployments with an ALB do (traffic shifting by listener rule
// weights; automatic rollback when a deployment alarm goes to ALARM):
//
//	actions:
//	  - at: 1m
//	    action: blue-green
//	    from: v1                  # target groups (services) of the stack
//	    to: v2
//	    rule: default             # the listener rule whose forward is weighted: default or a priority
//	    steps: [10, 50, 100]      # percent of the traffic on `to`, in order
//	    step_interval: 2m         # how long each step is watched
//	    rollback_alarm: {metric_name: HTTPCode_Target_5XX_Count, statistic: Sum, comparison_operator: GreaterThanThreshold, threshold: 0, period: 60s, evaluation_periods: 1}
//
// The alarm is on AWS/ApplicationELB, on the `to` target group
// (LoadBalancer, TargetGroup); missing data is not breaching.
const BlueGreen = "blue-green"

// DefaultBlueGreenSteps are the steps when a blue-green action gives none.
var DefaultBlueGreenSteps = []int{10, 50, 100}

// DefaultStepInterval is how long each step is watched by default.
const DefaultStepInterval = 2 * time.Minute

// RollbackAlarm is a blue-green action's deployment alarm.
type RollbackAlarm struct {
	MetricName         string
	Statistic          string
	ComparisonOperator string
	Threshold          float64
	Period             time.Duration
	EvaluationPeriods  int
}

var blueGreenKeys = []string{"from", "to", "rule", "steps", "step_interval", "rollback_alarm"}

// blueGreen reads a blue-green action's own keys from m.
func (p parser) blueGreen(m map[string]*yaml.Node, path string, a *OperatorAction) {
	p.Str(m, path, "from", &a.From)
	p.Str(m, path, "to", &a.To)
	if n := m["rule"]; n != nil {
		if n.Kind == yaml.ScalarNode && n.Value == "default" {
			a.Rule = 0
		} else {
			p.Int(m, path, "rule", &a.Rule)
		}
	}
	a.Steps = slices.Clone(DefaultBlueGreenSteps)
	if m["steps"] != nil {
		a.Steps = nil
		spath := yamlcheck.Sub(path, "steps")
		for i, c := range p.List(m["steps"], spath) {
			var v int
			if c.Kind != yaml.ScalarNode || c.Tag != "!!int" || c.Decode(&v) != nil {
				p.ErrAt(c, yamlcheck.Index(spath, i), "%s is not a percentage; use a whole number 1-100", yamlcheck.Describe(c))
				continue
			}
			a.Steps = append(a.Steps, v)
		}
	}
	a.StepInterval = DefaultStepInterval
	p.Dur(m, path, "step_interval", &a.StepInterval, true)
	if m["rollback_alarm"] != nil {
		apath := yamlcheck.Sub(path, "rollback_alarm")
		am := p.Mapping(m["rollback_alarm"], apath, "metric_name", "statistic", "comparison_operator", "threshold", "period", "evaluation_periods")
		al := &RollbackAlarm{Statistic: "Sum", Period: time.Minute, EvaluationPeriods: 1}
		p.Str(am, apath, "metric_name", &al.MetricName)
		p.Str(am, apath, "statistic", &al.Statistic)
		p.Str(am, apath, "comparison_operator", &al.ComparisonOperator)
		p.Float(am, apath, "threshold", &al.Threshold)
		p.Dur(am, apath, "period", &al.Period, false)
		p.Int(am, apath, "evaluation_periods", &al.EvaluationPeriods)
		a.RollbackAlarm = al
	}
}

// validateBlueGreen checks a blue-green action; groups are the stack's
// target groups (nil when the stack could not be read).
func (p parser) validateBlueGreen(path string, a OperatorAction, groups []string) {
	for _, f := range []string{"version", "strategy", "min_healthy_percentage", "max_healthy_percentage", "instance_warmup", "checkpoint_percentages", "checkpoint_delay", "skip_matching", "auto_rollback", "service"} {
		if p.Has(path + "." + f) {
			p.Errf(path+"."+f, "not allowed with blue-green (it shifts traffic between target groups; each runs its own version); remove it")
		}
	}
	for _, f := range []struct{ key, v string }{{"from", a.From}, {"to", a.To}} {
		switch {
		case !p.Has(path + "." + f.key):
			p.Errf(path+"."+f.key, "missing; name a target group (a service) of the stack")
		case groups != nil && !slices.Contains(groups, f.v):
			p.Errf(path+"."+f.key, "%q is not a target group of the stack; use one of %v", f.v, groups)
		}
	}
	if a.From != "" && a.From == a.To {
		p.Errf(path+".to", "%q is also from; shift to another target group", a.To)
	}
	if a.Rule < 0 || a.Rule > 50000 {
		p.Errf(path+".rule", "%d is not allowed; use default or a rule priority 1-50000", a.Rule)
	}
	if len(a.Steps) == 0 || !slices.IsSorted(a.Steps) || len(slices.Compact(slices.Clone(a.Steps))) != len(a.Steps) ||
		slices.ContainsFunc(a.Steps, func(v int) bool { return v < 1 || v > 100 }) || a.Steps[len(a.Steps)-1] != 100 {
		p.Errf(path+".steps", "%v: want ascending percentages from 1 to 100, ending at 100", a.Steps)
	}
	if a.StepInterval <= 0 {
		p.Errf(path+".step_interval", "%s: give how long each step is watched, such as 2m", clock.Short(a.StepInterval))
	}
	if al := a.RollbackAlarm; al != nil {
		apath := path + ".rollback_alarm"
		if al.MetricName == "" {
			p.Errf(apath+".metric_name", "missing; give an AWS/ApplicationELB metric of the target group, such as HTTPCode_Target_5XX_Count")
		} else {
			p.OneOf(apath+".metric_name", al.MetricName, stack.TargetGroupALBMetrics)
		}
		p.OneOf(apath+".statistic", al.Statistic, []string{"Average", "Sum", "Minimum", "Maximum", "SampleCount"})
		p.OneOf(apath+".comparison_operator", al.ComparisonOperator, compare.CloudWatchNames())
		if al.Period < time.Minute || al.Period%time.Minute != 0 {
			p.Errf(apath+".period", "%s: the load balancer publishes every minute; use a multiple of 60s", clock.Short(al.Period))
		}
		if al.EvaluationPeriods < 1 {
			p.Errf(apath+".evaluation_periods", "%d: use 1 or more", al.EvaluationPeriods)
		}
	}
}

// blueGreenString is a blue-green action in a line.
func (a OperatorAction) blueGreenString() string {
	return fmt.Sprintf("blue-green %s to %s in steps %v at %s", a.From, a.To, a.Steps, clock.Short(a.At))
}
