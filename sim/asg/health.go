package asg

import "time"

// Health statuses of an instance, in the ASG's words.
const (
	Healthy   = "Healthy"
	Unhealthy = "Unhealthy"
)

// Why an instance is unhealthy, in the words of AWS's scaling activity causes.
const (
	causeNotRunning = "an EC2 health check indicating it has been terminated or stopped"
	causeELB        = "an ELB system health check failure"
)

// healthInput is what one health check of one instance looks at.
type healthInput struct {
	running    bool      // EC2: the runtime says the instance is running
	elbState   string    // the target group's view: healthy, unhealthy, initial, ...
	healthType string    // EC2 or ELB
	inService  time.Time // when the grace period started
	grace      time.Duration
	now        time.Time
}

// healthCheck decides whether an instance is unhealthy and why, as AWS does:
// an instance that is no longer running is unhealthy at once, even inside
// the grace period; an ELB failure counts only with health check type ELB
// and only after the grace period.
func healthCheck(in healthInput) (unhealthy bool, cause string) {
	if !in.running {
		return true, causeNotRunning
	}
	if in.healthType == "ELB" && in.elbState == "unhealthy" && !in.now.Before(in.inService.Add(in.grace)) {
		return true, causeELB
	}
	return false, ""
}

// launchFirstAllowance is how many unhealthy instances may be replaced by
// launching first, as the instance maintenance policy allows: with
// MaxHealthyPercentage above 100, up to that share of desired above it (at
// least one); without a policy, or at 100, none: terminate and launch
// (aws-behaviour.md 2.9). g.mu must be held.
func (g *Group) launchFirstAllowance() int {
	mp := g.cfg.MaintenancePolicy
	if mp == nil || mp.MaxHealthyPercentage <= 100 {
		return 0
	}
	return max(1, g.desired*mp.MaxHealthyPercentage/100-g.desired)
}

// healthyOthers counts the live instances that are not waiting to be
// replaced, in service, healthy behind the load balancer and warmed up:
// what counts toward the maintenance policy's healthy percentage.
func healthyOthers(g *Group, now time.Time) int {
	n := 0
	for _, in := range g.instances {
		if live(in) && !in.replacing && in.State == InService && g.cfg.Targets.State(in.ID) == "healthy" && !now.Before(in.WarmUntil) {
			n++
		}
	}
	return n
}
