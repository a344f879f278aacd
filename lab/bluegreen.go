package lab

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/cloudwatch"
)

// Blue/green by weighted target groups (issue 16, item 4), as CodeDeploy
// shifts an ALB's traffic: the listener rule's forward moves from one
// target group (a service of the stack, running one version) to another
// in steps; each step is watched for its interval, and when the
// deployment's alarm (on the new target group) goes to ALARM, all traffic
// goes back to the old one. Beside the instance refresh (deploy.go), which
// replaces instances inside one group.

// watchEvery is how often a step looks at its alarm, in AWS time: the
// alarm itself is evaluated once a minute.
const watchEvery = 5 * time.Second

// blueGreen carries out one blue-green action until it completes, rolls
// back or ctx ends.
func (l *Lab) blueGreen(ctx context.Context, a scenarios.OperatorAction, n int) {
	var alarm *cloudwatch.Alarm
	if ra := a.RollbackAlarm; ra != nil {
		var err error
		alarm, err = l.CloudWatch.AddAlarm(cloudwatch.AlarmConfig{
			Name: fmt.Sprintf("BlueGreen-%s-%d-%s", a.To, n, ra.MetricName), Namespace: alb.Namespace, MetricName: ra.MetricName,
			Dimensions: cloudwatch.Dims(alb.DimLoadBalancer, l.opts.Stack.Name, alb.DimTargetGroup, a.To), Statistic: ra.Statistic,
			Period: ra.Period, EvaluationPeriods: ra.EvaluationPeriods, ComparisonOperator: ra.ComparisonOperator, Threshold: ra.Threshold,
			TreatMissingData: "notBreaching", // a target group without errors publishes no error count
		})
		if err != nil {
			l.Bus.Publish(BlueGreenRolledBack{From: a.From, To: a.To, Reason: "could not create the deployment alarm: " + err.Error()})
			return
		}
	}
	// the forward as it was: what a rollback puts back (other target
	// groups of the forward keep their weights through the steps)
	orig := l.LB.ForwardWeights(a.Rule)
	shift := func(p int) error {
		ws := l.LB.ForwardWeights(a.Rule)
		var out []alb.WeightedGroup
		seen := map[string]bool{}
		for _, w := range ws {
			switch w.Name {
			case a.From:
				w.Weight = 100 - p
			case a.To:
				w.Weight = p
			}
			seen[w.Name] = true
			out = append(out, w)
		}
		for name, weight := range map[string]int{a.From: 100 - p, a.To: p} {
			if !seen[name] {
				out = append(out, alb.WeightedGroup{Name: name, Weight: weight})
			}
		}
		return l.LB.SetForwardWeights(a.Rule, out)
	}
	rollback := func(p int, why string) {
		if err := l.LB.SetForwardWeights(a.Rule, orig); err != nil {
			why += "; the rollback failed: " + err.Error()
		}
		l.Bus.Publish(BlueGreenRolledBack{From: a.From, To: a.To, Percent: p, Reason: why, Weights: weightsText(l.LB.ForwardWeights(a.Rule))})
	}
	for _, p := range a.Steps {
		if err := shift(p); err != nil {
			rollback(p, err.Error())
			return
		}
		l.Bus.Publish(TrafficShifted{From: a.From, To: a.To, Percent: p, Rule: ruleName(a.Rule), Weights: weightsText(l.LB.ForwardWeights(a.Rule))})
		if why := l.watchStep(ctx, alarm, a.StepInterval); why != "" {
			rollback(p, why)
			return
		}
		if ctx.Err() != nil {
			return
		}
	}
	l.Bus.Publish(BlueGreenCompleted{From: a.From, To: a.To})
}

// watchStep watches one step for d (AWS time): the reason the alarm gave
// when it went to ALARM, or "" when the step held (or ctx ended).
func (l *Lab) watchStep(ctx context.Context, alarm *cloudwatch.Alarm, d time.Duration) string {
	end := l.Clock.After(d)
	tk := l.Clock.NewTicker(watchEvery)
	defer tk.Stop()
	for {
		if why := breached(alarm); why != "" {
			return why
		}
		select {
		case <-ctx.Done():
			return ""
		case <-end:
			return breached(alarm) // a breach in the step's last moments counts
		case <-tk.C():
		}
	}
}

// breached is why alarm is in ALARM, or "" (also without an alarm).
func breached(alarm *cloudwatch.Alarm) string {
	if alarm == nil || alarm.State() != cloudwatch.StateAlarm {
		return ""
	}
	r, _ := alarm.StateReason()
	return fmt.Sprintf("alarm %q is in ALARM: %s", alarm.Name(), r.Text)
}

func ruleName(prio int) string {
	if prio == 0 {
		return "default"
	}
	return fmt.Sprint(prio)
}

func weightsText(ws []alb.WeightedGroup) string {
	var parts []string
	for _, w := range ws {
		parts = append(parts, fmt.Sprintf("%s %d", w.Name, w.Weight))
	}
	return strings.Join(parts, ", ")
}

// TrafficShifted is one step of a blue-green deploy: the forward's new weights.
type TrafficShifted struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Percent int    `json:"percent"` // on To
	Rule    string `json:"rule"`    // default or a priority
	Weights string `json:"weights"` // every target group's weight now
}

func (TrafficShifted) Kind() string { return "deploy" }
func (e TrafficShifted) Message() string {
	return fmt.Sprintf("Blue/green: shifted %d%% of the traffic from target group %s to %s (rule %s: %s)", e.Percent, e.From, e.To, e.Rule, e.Weights)
}

// BlueGreenRolledBack is a blue-green deploy sending all traffic back.
type BlueGreenRolledBack struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Percent int    `json:"percent"` // the step it stopped at
	Reason  string `json:"reason"`
	Weights string `json:"weights,omitempty"` // every target group's weight after the rollback
}

func (BlueGreenRolledBack) Kind() string { return "deploy" }
func (e BlueGreenRolledBack) Message() string {
	return fmt.Sprintf("Blue/green: rolled back from %s to %s at %d%%: %s", e.To, e.From, e.Percent, e.Reason)
}

// BlueGreenCompleted is a blue-green deploy whose last step held.
type BlueGreenCompleted struct {
	From string `json:"from"`
	To   string `json:"to"`
}

func (BlueGreenCompleted) Kind() string { return "deploy" }
func (e BlueGreenCompleted) Message() string {
	return fmt.Sprintf("Blue/green: all traffic on target group %s; %s takes none", e.To, e.From)
}

func init() {
	events.Register(TrafficShifted{}, BlueGreenRolledBack{}, BlueGreenCompleted{})
}
