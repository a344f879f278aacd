package docker

import (
	"context"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"

	"github.com/simplydone/lab/sim/az"
)

// watch follows the engine's die events for the run's containers until ctx
// ends, reconnecting when the stream breaks; it asks again from a moment
// before the last event it saw, so no death is missed (a replayed one is
// ignored by died). ready is closed once the first subscription is asked
// for; since covers the moments before the engine serves it.
func (r *Runtime) watch(ctx context.Context, since time.Time, ready chan struct{}) {
	defer r.wg.Done()
	args := filters.NewArgs(
		filters.Arg("type", string(events.ContainerEventType)),
		filters.Arg("event", string(events.ActionDie)),
		filters.Arg("label", LabelRun+"="+r.opts.RunID))
	for {
		msgs, errs := r.cli.Events(ctx, events.ListOptions{Since: unixNano(since), Filters: args})
		if ready != nil {
			close(ready)
			ready = nil
		}
	stream:
		for {
			select {
			case m := <-msgs:
				at := time.Unix(0, m.TimeNano)
				if at.After(since) {
					since = at
				}
				r.died(az.InstanceID(m.Actor.Attributes[LabelInstance]), at, m.Actor.Attributes["exitCode"])
			case err := <-errs:
				if ctx.Err() != nil {
					return
				}
				r.log.Warn("engine event stream broke; reconnecting", "err", err)
				break stream
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func unixNano(t time.Time) string {
	return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
}

// died handles a container's death at the engine's time at: unless Stop or
// Terminate asked for it, or it belongs to an earlier life of the
// container, the instance is stopped and reported on Exited.
func (r *Runtime) died(id az.InstanceID, at time.Time, exitCode string) {
	r.t.Lock()
	in, err := r.t.Lookup(id)
	report := err == nil && !in.halting && !at.Before(in.since) && in.Exit()
	if report {
		in.since = at.Add(time.Nanosecond) // a replay of this event is old news
	}
	r.t.Unlock()
	if !report {
		return
	}
	r.log.Warn("instance exited on its own", "instance", id, "exit_code", exitCode)
	r.t.Report(id)
}
