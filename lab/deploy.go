package lab

import (
	"context"
	"fmt"

	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/sim/asg"
	"github.com/simplydone/lab/stack"
)

// maintenancePolicy is the stack's instance maintenance policy as the group takes it.
func maintenancePolicy(mp *stack.InstanceMaintenancePolicy) *asg.MaintenancePolicy {
	if mp == nil {
		return nil
	}
	return &asg.MaintenancePolicy{MinHealthyPercentage: mp.MinHealthyPercentage, MaxHealthyPercentage: mp.MaxHealthyPercentage}
}

// runActions plays the scenario's operator timeline (deploys) from the
// start of the load until ctx ends.
func (l *Lab) runActions(ctx context.Context, actions []scenarios.OperatorAction) {
	start := l.Clock.Now()
	for i, a := range actions {
		if wait := a.At - l.Clock.Now().Sub(start); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-l.Clock.After(wait):
			}
		}
		if a.Action == scenarios.BlueGreen {
			l.blueGreen(ctx, a, i) // until it completes or rolls back (bluegreen.go)
			continue
		}
		l.Bus.Publish(l.deploy(ctx, a))
	}
}

// deploy carries out one deploy and says how it went.
func (l *Lab) deploy(ctx context.Context, a scenarios.OperatorAction) DeployStarted {
	e := DeployStarted{Version: a.Version, Strategy: a.Strategy, Service: a.Service}
	g := l.Group
	for _, sv := range l.services {
		if a.Service != "" && sv.name == a.Service {
			g = sv.group // the service's own group (services.go)
		}
	}
	if a.Strategy == scenarios.StrategyReplace {
		if err := g.Redeploy(ctx, a.Version); err != nil {
			e.Error = err.Error()
		}
		return e
	}
	id, err := g.StartInstanceRefresh(a.Version, asg.RefreshPreferences{
		MinHealthyPercentage: a.MinHealthyPercentage, MaxHealthyPercentage: a.MaxHealthyPercentage,
		InstanceWarmup: a.InstanceWarmup, CheckpointPercentages: a.CheckpointPercentages, CheckpointDelay: a.CheckpointDelay,
		SkipMatching: a.SkipMatching, AutoRollback: a.AutoRollback,
	})
	e.RefreshID = id
	if err != nil {
		e.Error = err.Error()
	}
	return e
}

// DeployStarted marks an operator's deploy in the journal.
type DeployStarted struct {
	Version   int    `json:"version"`
	Strategy  string `json:"strategy"`
	RefreshID string `json:"instance_refresh_id,omitempty"`
	Service   string `json:"service,omitempty"` // the service whose group it refreshes, on a stack with several
	Error     string `json:"error,omitempty"`
}

func (DeployStarted) Kind() string { return "deploy" }
func (e DeployStarted) Message() string {
	how := "rolling: StartInstanceRefresh " + e.RefreshID
	if e.Strategy == scenarios.StrategyReplace {
		how = "replace: stop every instance, replace, start"
	}
	if e.Error != "" {
		return fmt.Sprintf("Deploy of launch template version %d (%s) failed: %s", e.Version, e.Strategy, e.Error)
	}
	return fmt.Sprintf("Deploy of launch template version %d (%s)", e.Version, how)
}

// sloBreached is the reason a run that breached an SLO gives.
const sloBreached = "an SLO was breached"

// AsExpected says whether a run's verdict is what its scenario expects: PASS
// for most; FAIL, from breached SLOs and nothing else, for a scenario that
// demonstrates a failure (expect: FAIL).
func AsExpected(sc *scenarios.Scenario, sum *Summary) bool {
	if sc.ExpectsFail() {
		return sum.Verdict == Fail && sum.Reason == sloBreached
	}
	return sum.Verdict == Pass
}

// lifecycleHooks are the stack's hooks as the group takes them.
func lifecycleHooks(hs []stack.LifecycleHook) []asg.LifecycleHook {
	var out []asg.LifecycleHook
	for _, h := range hs {
		out = append(out, asg.LifecycleHook{Name: h.Name, Transition: h.LifecycleTransition, HeartbeatTimeout: h.HeartbeatTimeout, DefaultResult: h.DefaultResult})
	}
	return out
}

// scheduledActions are the stack's scheduled actions as the group takes them.
func scheduledActions(as []stack.ScheduledAction) []asg.ScheduledAction {
	var out []asg.ScheduledAction
	for _, a := range as {
		out = append(out, asg.ScheduledAction{Name: a.Name, At: a.At, Recurrence: a.Recurrence, MinSize: a.MinSize, MaxSize: a.MaxSize, Desired: a.DesiredCapacity})
	}
	return out
}
