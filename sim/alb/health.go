package alb

import "fmt"

// State is a target's health state in AWS's words.
type State string

const (
	StateInitial   State = "initial"
	StateHealthy   State = "healthy"
	StateUnhealthy State = "unhealthy"
	StateDraining  State = "draining"
	StateUnused    State = "unused"
)

// Reason is an AWS target-health reason code.
type Reason string

const (
	ReasonNone                   Reason = ""
	ReasonRegistrationInProgress Reason = "Elb.RegistrationInProgress"
	ReasonInitialHealthChecking  Reason = "Elb.InitialHealthChecking"
	ReasonResponseCodeMismatch   Reason = "Target.ResponseCodeMismatch"
	ReasonTimeout                Reason = "Target.Timeout"
	ReasonFailedHealthChecks     Reason = "Target.FailedHealthChecks"
	ReasonDeregistration         Reason = "Target.DeregistrationInProgress"
	ReasonNotRegistered          Reason = "Target.NotRegistered"
)

// Thresholds are the target group's health-check counts.
type Thresholds struct {
	Healthy   int // HealthyThresholdCount, AWS default 5
	Unhealthy int // UnhealthyThresholdCount, AWS default 2
}

// Result is the outcome of one health check.
type Result struct {
	OK     bool
	Reason Reason // why it failed: Timeout, ResponseCodeMismatch or FailedHealthChecks
	Detail string // e.g. "Health checks failed with these codes: [503]"
}

// Health is one node's view of one target. The zero value is not valid: use
// NewHealth.
type Health struct {
	State       State
	Reason      Reason
	Description string
	passes      int // consecutive passing checks
	fails       int // consecutive failing checks
}

// NewHealth is a freshly registered target: initial, registration in progress.
func NewHealth() Health {
	return Health{State: StateInitial, Reason: ReasonRegistrationInProgress, Description: "Target registration is in progress"}
}

// Checking marks that the first health checks have started.
func (h Health) Checking() Health {
	if h.State == StateInitial && h.Reason == ReasonRegistrationInProgress {
		h.Reason, h.Description = ReasonInitialHealthChecking, "Initial health checks in progress"
	}
	return h
}

// Observe applies one health-check result, as AWS does:
//   - initial goes healthy on its first pass, unhealthy after Unhealthy
//     consecutive failures;
//   - healthy goes unhealthy after Unhealthy consecutive failures;
//   - unhealthy comes back after Healthy consecutive passes;
//   - draining and unused ignore checks.
func (h Health) Observe(r Result, th Thresholds) Health {
	switch h.State {
	case StateDraining, StateUnused:
		return h
	}
	if r.OK {
		h.passes++
		h.fails = 0
	} else {
		h.fails++
		h.passes = 0
	}
	switch h.State {
	case StateInitial:
		if r.OK {
			return healthy(h)
		}
		if h.fails >= th.Unhealthy {
			return unhealthy(h, r)
		}
	case StateHealthy:
		if !r.OK && h.fails >= th.Unhealthy {
			return unhealthy(h, r)
		}
	case StateUnhealthy:
		if r.OK && h.passes >= th.Healthy {
			return healthy(h)
		}
		if !r.OK {
			return unhealthy(h, r) // keep the latest reason, as DescribeTargetHealth does
		}
	}
	return h
}

// Drain is the state of a deregistered target until the delay ends.
func (h Health) Drain() Health {
	return Health{State: StateDraining, Reason: ReasonDeregistration, Description: "Target deregistration is in progress"}
}

// Unused is the state once a target has left the target group.
func Unused() Health {
	return Health{State: StateUnused, Reason: ReasonNotRegistered, Description: "Target is not registered to the target group"}
}

func healthy(h Health) Health {
	h.State, h.Reason, h.Description = StateHealthy, ReasonNone, ""
	return h
}

func unhealthy(h Health, r Result) Health {
	h.State, h.Reason, h.Description = StateUnhealthy, r.Reason, r.Detail
	if h.Reason == ReasonNone {
		h.Reason = ReasonFailedHealthChecks
	}
	if h.Description == "" {
		h.Description = describe(h.Reason)
	}
	return h
}

func describe(r Reason) string {
	switch r {
	case ReasonTimeout:
		return "Request timed out"
	case ReasonFailedHealthChecks:
		return "Health checks failed"
	}
	return string(r)
}

// String is how the lab prints a health: "unhealthy (Target.Timeout: Request timed out)".
func (h Health) String() string {
	if h.Reason == ReasonNone {
		return string(h.State)
	}
	return fmt.Sprintf("%s (%s: %s)", h.State, h.Reason, h.Description)
}
