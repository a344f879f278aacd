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
