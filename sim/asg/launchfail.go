package asg

import (
	"context"
	"fmt"
	"strings"

	"github.com/simplydone/lab/sim/az"
)

// ActivityFailed is a scaling activity's StatusCode for a launch that did
// not produce a working instance (DescribeScalingActivities: "If an attempt
// to launch instances failed, the StatusCode value is Failed").
const ActivityFailed = "Failed"

// ExitCauser is a Fleet that can say why an instance is no longer running:
// ok is true, with the cause in a few words (what its program last said),
// when it stopped on its own; false when it was stopped or killed on purpose
// (chaos, a person) or the fleet cannot tell. Optional: without it, an
// instance that stops is only ever a health-check replacement.
type ExitCauser interface {
	ExitCause(id az.InstanceID) (cause string, ok bool)
}

// instanceShutdown is the status reason AWS gives for a launch whose
// instance stopped before it was in service, and EC2's state reason for an
// instance that shut itself down.
const instanceShutdown = "Instance became unhealthy while waiting for instance to be in InService state. Termination Reason: Client.InstanceInitiatedShutdown: Instance initiated shutdown"

// checkLaunches finds cold launches whose instance stopped on its own
// before it ever served (its program could not start: a port taken, a bad
// argument, a crash at boot). AWS has such a launch fail: the activity that
// launched it ends Failed, with the status reason, and the group launches
// again. An instance whose target has been healthy once has launched; its
// later death is a health-check replacement (checkHealth).
func (g *Group) checkLaunches(ctx context.Context) {
	ec, ok := g.cfg.Fleet.(ExitCauser)
	if !ok {
		return
	}
	g.mu.Lock()
	var watch []*Instance
	for _, in := range sortedInstances(g.instances) {
		if in.coldBooted && !in.served && !in.replacing && (in.State == Pending || in.State == InService) {
			watch = append(watch, in)
		}
	}
	g.mu.Unlock()
	for _, in := range watch {
		if g.cfg.Targets.State(in.ID) == "healthy" {
			g.mu.Lock()
			in.served = true
			g.mu.Unlock()
			continue
		}
		if g.cfg.Fleet.Running(in.ID) {
			continue
		}
		cause, ok := ec.ExitCause(in.ID)
		if !ok {
			continue
		}
		g.mu.Lock()
		from := in.State
		ours := !g.closed && (from == Pending || from == InService)
		if ours {
			in.State, in.Health = Terminating, Unhealthy
			if w := g.hookWaits[in.ID]; w != nil && from == Pending {
				select { // held by a launch hook: the launch is abandoned now, not at its heartbeat timeout
				case w.result <- Abandon:
				default:
				}
			}
		}
		g.mu.Unlock()
		if !ours {
			continue
		}
		g.launchFailed(in, instanceShutdown, cause)
		g.lifecycle(in, from, Terminating)
		g.terminateAsync(ctx, in)
		g.poke()
	}
}

// launchFailed publishes the failed activity of in's launch, as
// DescribeScalingActivities shows it: "Launching a new EC2 instance: i-...
// Status Reason: ... Launching EC2 instance failed", StatusCode Failed, the
// launch's own cause; detail is what the lab knows beyond AWS's words (the
// program's last output), shown after them.
func (g *Group) launchFailed(in *Instance, reason, detail string) {
	msg := strings.TrimSuffix(strings.TrimSpace(reason), ".")
	if detail != "" {
		msg += " (" + detail + ")"
	}
	cause := in.launchCause
	if cause == "" {
		cause = fmt.Sprintf("At %s an instance was started in response to a difference between desired and actual capacity.", stamp(in.Launched))
	}
	desc := fmt.Sprintf("Launching a new EC2 instance: %s. Status Reason: %s. Launching EC2 instance failed", in.ID, msg)
	if in.ID == "" { // RunInstances itself failed: there is no instance to name
		desc = fmt.Sprintf("Launching a new EC2 instance. Status Reason: %s. Launching EC2 instance failed", msg)
	}
	g.cfg.Events.Publish(ScalingActivity{Group: g.cfg.Name, Instance: string(in.ID), Zone: in.Zone, Action: "Launch", Status: ActivityFailed,
		StatusMessage: msg, Description: desc, Cause: cause})
}
