package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/lab"
	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/sim/asg"
	"github.com/simplydone/lab/stack"
)

// TestFailedLaunchIsInTheLog: a launch that failed reaches the live view's
// event log as the console shows it, status first, with its reason.
func TestFailedLaunchIsInTheLog(t *testing.T) {
	a := NewAggregator(&scenarios.Scenario{Name: "s", Speed: 10}, &stack.Stack{Name: "st"}, 0)
	var o lab.RunOptions
	a.hook(&o)
	act := asg.ScalingActivity{Group: "st", Instance: "i-1", Zone: "us-east-1a", Action: "Launch", Status: asg.ActivityFailed,
		StatusMessage: "Instance became unhealthy (its program exited on its own: simplydone: bind: address already in use)",
		Description:   "Launching a new EC2 instance: i-1. Status Reason: Instance became unhealthy (its program exited on its own: simplydone: bind: address already in use). Launching EC2 instance failed",
		Cause:         "At 2026-12-05T21:00:00Z an instance was started in response to a difference between desired and actual capacity, increasing the capacity from 0 to 1."}
	o.Subscribers[0](events.Envelope{Time: time.Unix(1000, 0), Kind: act.Kind(), Event: act})
	evs := a.Snapshot().Events
	if len(evs) != 1 || evs[0].Class != ClassScaling || !strings.HasPrefix(evs[0].Text, "Failed: Launching a new EC2 instance: i-1. Status Reason:") ||
		!strings.Contains(evs[0].Text, "address already in use") {
		t.Fatalf("log entries %+v", evs)
	}
}
