package lab

import (
	"testing"

	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/sim/alb"
)

// TestQuietForRun: the console keeps a node failing open over real targets
// and drops the "0 of 0 targets" lines of the run's end (the journal keeps
// both).
func TestQuietForRun(t *testing.T) {
	for _, c := range []struct {
		name  string
		event events.Event
		quiet bool
	}{
		{"fail open over real targets", alb.TargetGroupHealthChanged{Node: "us-east-1a", Action: "routing", Unhealthy: true, Healthy: 0, Total: 2}, false},
		{"out of DNS over real targets", alb.TargetGroupHealthChanged{Node: "us-east-1a", Action: "dns", Unhealthy: true, Healthy: 0, Total: 2}, false},
		{"every target deregistered", alb.TargetGroupHealthChanged{Node: "us-east-1a", Action: "dns", Unhealthy: true, Healthy: 0, Total: 0}, true},
		{"target marked unhealthy", alb.TargetHealthChanged{From: alb.StateHealthy, To: alb.StateUnhealthy}, false},
		{"initial to healthy", alb.TargetHealthChanged{From: alb.StateInitial, To: alb.StateHealthy}, true},
	} {
		if got := quietForRun(events.Envelope{Event: c.event}); got != c.quiet {
			t.Errorf("%s: quiet = %v, want %v", c.name, got, c.quiet)
		}
	}
}
