package asg

import (
	"fmt"
	"strings"
	"time"
)

// ScheduledAction sets the group's minimum, maximum and desired capacity at
// a time (aws-behaviour.md 2.6 "Scheduled scaling"). The lab's runs are
// short, so the time is an offset from the group's start and a recurrence
// is a period (AWS takes a date and a cron expression).
type ScheduledAction struct {
	Name                      string
	At                        time.Duration // after the group starts
	Recurrence                time.Duration // 0: once
	MinSize, MaxSize, Desired *int          // nil: left as it is
}

func checkScheduled(actions []ScheduledAction) error {
	for _, a := range actions {
		switch {
		case a.MinSize == nil && a.MaxSize == nil && a.Desired == nil:
			return fmt.Errorf("scheduled action %s: set at least one of min size, max size and desired capacity", a.Name)
		case a.At < 0 || a.Recurrence < 0:
			return fmt.Errorf("scheduled action %s: negative time", a.Name)
		case a.MinSize != nil && a.MaxSize != nil && *a.MinSize > *a.MaxSize:
			return fmt.Errorf("scheduled action %s: min size %d is above max size %d", a.Name, *a.MinSize, *a.MaxSize)
		}
	}
	return nil
}

func firstRuns(start time.Time, actions []ScheduledAction) []time.Time {
	out := make([]time.Time, len(actions))
	for i, a := range actions {
		out[i] = start.Add(a.At)
	}
	return out
}

// runScheduled runs the scheduled actions that are due. Like AWS it ignores
// cooldowns; a missed recurrence runs once, not once per miss.
func (g *Group) runScheduled() {
	now := g.now()
	for i, a := range g.cfg.ScheduledActions {
		g.mu.Lock()
		due := !g.nextRun[i].IsZero() && !now.Before(g.nextRun[i])
		if due {
			if a.Recurrence > 0 {
				for !g.nextRun[i].After(now) {
					g.nextRun[i] = g.nextRun[i].Add(a.Recurrence)
				}
			} else {
				g.nextRun[i] = time.Time{}
			}
		}
		g.mu.Unlock()
		if due {
			g.applyScheduled(a, now)
		}
	}
}

// applyScheduled updates min, max and desired as PutScheduledUpdateGroupAction
// does: a new minimum above desired raises it, a new maximum below lowers it.
func (g *Group) applyScheduled(a ScheduledAction, now time.Time) {
	g.mu.Lock()
	mn, mx, d := g.min, g.max, g.desired
	if a.MinSize != nil {
		mn = *a.MinSize
	}
	if a.MaxSize != nil {
		mx = *a.MaxSize
	}
	if a.Desired != nil {
		d = *a.Desired
	}
	d = clamp(d, mn, mx)
	from := g.desired
	e := ScheduledActionExecuted{Group: g.cfg.Name, Action: a.Name, Min: mn, Max: mx, Desired: d, From: from, Time: now}
	if mn > mx {
		g.mu.Unlock()
		e.Error = fmt.Sprintf("min size %d is above max size %d", mn, mx)
		g.cfg.Events.Publish(e)
		return
	}
	g.min, g.max, g.desired = mn, mx, d
	g.mu.Unlock()
	g.cfg.Events.Publish(e)
	if d != from {
		g.poke()
	}
}

// Limits are the group's current minimum and maximum size.
func (g *Group) Limits() (minSize, maxSize int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.min, g.max
}

// ScheduledActionExecuted is published when a scheduled action runs.
type ScheduledActionExecuted struct {
	Group   string    `json:"group"`
	Action  string    `json:"scheduled_action"`
	Min     int       `json:"min_size"`
	Max     int       `json:"max_size"`
	Desired int       `json:"desired_capacity"`
	From    int       `json:"from"`
	Time    time.Time `json:"time"`
	Error   string    `json:"error,omitempty"`
}

func (ScheduledActionExecuted) Kind() string { return "scaling" }
func (e ScheduledActionExecuted) Message() string {
	var b strings.Builder
	if e.Error != "" {
		fmt.Fprintf(&b, "Scheduled action %s failed: %s", e.Action, e.Error)
		return b.String()
	}
	fmt.Fprintf(&b, "At %s a scheduled action update of AutoScalingGroup constraints to min: %d, max: %d, desired: %d", stamp(e.Time), e.Min, e.Max, e.Desired)
	if e.Desired != e.From {
		fmt.Fprintf(&b, " changing the desired capacity from %d to %d", e.From, e.Desired)
	}
	b.WriteString(" (scheduled action " + e.Action + ")")
	return b.String()
}
