package lab

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/sim/az"
)

// Real failure domains for zones on agents (issue 20): an az-outage on a
// zone whose instances run on an agent's host also cuts that host off the
// network (remoteZone.Cut) for the fault's duration, and a zone whose
// agent memberlist declares dead is lost (zoneLost).
//
// The cut comes after the outage has stopped the zone's instances (their
// stop goes through the agent, which the cut makes unreachable) and ends
// before they start again: the outage's revert starts them as its first
// step, and zonedRuntime.Start restores the host's link first. It also
// ends when the fault is reverted, when the run closes, and, should the
// controller lose the agent meanwhile, by the agent's own timer at the
// fault's duration.

// hostCut is one zone's cut host: made by fault n; restore is nil while
// the agent is being asked, and cancelled says an uncut came meanwhile.
type hostCut struct {
	n         int
	restore   func() error
	cancelled bool
}

// cutWait bounds how long a cut waits for the outage to stop the zone's
// instances (wall time); past it the host is cut anyway.
const cutWait = 30 * time.Second

// cutPoll is how often the cut looks whether the instances have stopped.
const cutPoll = 50 * time.Millisecond

// zoneCuts watches the run's chaos events for az-outages on zones that run
// on agents.
type zoneCuts struct {
	l  *Lab
	zr *zonedRuntime
}

func (c zoneCuts) handle(e events.Envelope) {
	switch f := e.Event.(type) {
	case chaos.FaultInjected:
		if f.Action != chaos.AZOutage || c.zr.remotes[f.Zone] == nil || c.zr.engineOnly(f.Zone) {
			return
		}
		d, err := time.ParseDuration(f.Duration)
		if err != nil || d <= 0 {
			return
		}
		until := e.Wall.Add(c.l.Clock.Wall(d)) // the outage's end, wall time
		c.zr.cutAfterStops(f.N, f.Zone, f.Instances, until)
	case chaos.FaultReverted:
		if f.Action == chaos.AZOutage {
			c.zr.endCut(f.N, "the az-outage ended")
		}
	}
}

// cutAfterStops cuts zone's host off once the outage has stopped ids (or
// cutWait has passed), until the wall time until, on a goroutine the
// zonedRuntime owns.
func (z *zonedRuntime) cutAfterStops(n int, zone string, ids []string, until time.Time) {
	z.mu.Lock()
	if z.cuts[zone] != nil || z.lost[zone] || z.closing {
		z.mu.Unlock()
		return
	}
	cut := &hostCut{n: n}
	z.cuts[zone] = cut
	z.wg.Add(1) // under mu: Close waits only once closing is set
	z.mu.Unlock()
	go func() {
		defer z.wg.Done()
		ctx := z.ctx
		z.waitStopped(ctx, zone, ids, time.Now().Add(cutWait))
		if err := z.cut(ctx, zone, cut, time.Until(until)); err != nil {
			z.note("Zone %s's host (agent %s) is not cut off the network: %v; the az-outage goes on without it", zone, z.agents[zone], err)
		}
	}()
}

// waitStopped waits until none of ids runs in zone, the deadline passes,
// or ctx ends.
func (z *zonedRuntime) waitStopped(ctx context.Context, zone string, ids []string, deadline time.Time) {
	rt := z.remotes[zone]
	t := time.NewTicker(cutPoll)
	defer t.Stop()
	for time.Now().Before(deadline) {
		z.mu.Lock()
		cut := z.cuts[zone]
		z.mu.Unlock()
		if cut == nil || cut.cancelled {
			return
		}
		list, err := rt.List(ctx)
		if err == nil && !anyRunning(list, ids) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// anyRunning reports whether one of ids is running (or frozen) in list.
func anyRunning(list []az.Instance, ids []string) bool {
	for _, in := range list {
		if slices.Contains(ids, string(in.ID)) && (in.State == az.StateRunning || in.State == az.StatePaused || in.State == az.StatePending) {
			return true
		}
	}
	return false
}

// cut asks zone's agent to cut its host off for d at most, as hostCut c.
func (z *zonedRuntime) cut(ctx context.Context, zone string, c *hostCut, d time.Duration) error {
	z.mu.Lock()
	gone := z.cuts[zone] != c || c.cancelled
	z.mu.Unlock()
	if gone || d <= 0 {
		z.dropCut(zone, c)
		return nil
	}
	restore, err := z.remotes[zone].Cut(ctx, d)
	if err != nil {
		z.dropCut(zone, c)
		return err
	}
	z.mu.Lock()
	cancelled := c.cancelled
	c.restore = restore
	z.mu.Unlock()
	if cancelled { // the outage ended while the agent was asked
		if err := restore(); err != nil {
			z.note("Zone %s's host (agent %s) could not be given its link back: %v; the agent restores it itself within %s", zone, z.agents[zone], err, d.Round(time.Second))
		}
		z.dropCut(zone, c)
		return nil
	}
	z.note("Zone %s's host (agent %s) is cut off the network for up to %s (az-outage): packets to and from it are dropped", zone, z.agents[zone], d.Round(time.Second))
	return nil
}

func (z *zonedRuntime) dropCut(zone string, c *hostCut) {
	z.mu.Lock()
	if z.cuts[zone] == c {
		delete(z.cuts, zone)
	}
	z.mu.Unlock()
}

// endCut ends the cut fault n made, if it is still on.
func (z *zonedRuntime) endCut(n int, why string) {
	z.mu.Lock()
	var zone string
	for name, c := range z.cuts {
		if c.n == n {
			zone = name
		}
	}
	z.mu.Unlock()
	if zone != "" {
		_ = z.uncut(zone, why)
	}
}

// uncut gives zone's host its link back, if it is cut (or being cut).
func (z *zonedRuntime) uncut(zone, why string) error {
	z.mu.Lock()
	c := z.cuts[zone]
	if c == nil {
		z.mu.Unlock()
		return nil
	}
	c.cancelled = true
	restore := c.restore
	if restore != nil {
		delete(z.cuts, zone)
	}
	z.mu.Unlock()
	if restore == nil {
		return nil // the cut being made sees cancelled and restores at once
	}
	if err := restore(); err != nil {
		z.note("Zone %s's host (agent %s) could not be given its link back (%s): %v; the agent restores it itself at the fault's end", zone, z.agents[zone], why, err)
		return fmt.Errorf("zone %s: restore the host's link: %w", zone, err)
	}
	z.note("Zone %s's host (agent %s) takes packets again (%s)", zone, z.agents[zone], why)
	z.terminateDoomed(zone)
	z.askAfterCut(zone)
	return nil
}

// askAfterCut asks a zone's agent that memberlist declared dead during the
// cut whether it answers now its link is back; if not, its host is gone
// (onLost).
func (z *zonedRuntime) askAfterCut(zone string) {
	z.mu.Lock()
	dead := z.deadInCut[zone]
	delete(z.deadInCut, zone)
	z.mu.Unlock()
	if !dead {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), lostTerminate)
	_, err := z.remotes[zone].List(ctx)
	cancel()
	if err != nil && z.onLost != nil {
		z.onLost(zone)
	}
}

// terminateDoomed tells zone's agent to terminate what EC2 terminated
// while its host was cut off.
func (z *zonedRuntime) terminateDoomed(zone string) {
	z.mu.Lock()
	ids := z.doomed[zone]
	delete(z.doomed, zone)
	z.mu.Unlock()
	for _, id := range ids {
		ctx, cancel := context.WithTimeout(context.Background(), agentDialTimeout) // Close too, after z.ctx ended
		err := z.remotes[zone].Terminate(ctx, id)
		cancel()
		if err != nil && !errors.Is(err, az.ErrNotFound) {
			z.note("Instance %s, terminated while zone %s's host was cut off, could not be ended on agent %s: %v; the agent ends it with the run", id, zone, z.agents[zone], err)
		}
	}
}

// isCut reports whether zone's host is cut off (or being cut) by an az-outage.
func (z *zonedRuntime) isCut(zone string) bool {
	z.mu.Lock()
	defer z.mu.Unlock()
	c := z.cuts[zone]
	return c != nil && !c.cancelled
}

func (z *zonedRuntime) note(format string, args ...any) {
	if z.say != nil {
		z.say(format, args...)
	}
}

// deadDuringCut records, if zone's host is cut off, that its agent was
// declared dead meanwhile, and reports whether it was cut.
func (z *zonedRuntime) deadDuringCut(zone string) bool {
	z.mu.Lock()
	defer z.mu.Unlock()
	if c := z.cuts[zone]; c == nil || c.cancelled {
		return false
	}
	z.deadInCut[zone] = true
	return true
}

// markLost records that zone's host is gone and returns how many of the
// zone's instances it leaves, and whether it was the first to say so.
func (z *zonedRuntime) markLost(zone string) (instances int, first bool) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.lost[zone] {
		return 0, false
	}
	z.lost[zone] = true
	if stop := z.goneStop[zone]; stop != nil {
		stop() // the calls still waiting on its host end now
	}
	for _, name := range z.where {
		if name == zone {
			instances++
		}
	}
	return instances, true
}

// zoneLost is the lab's answer to memberlist declaring a zone's agent dead
// (the lead connects it to sim/entry's dead callback): the zone's host and
// its instances are gone, as a host whose hardware failed. EC2's view of
// them is what the group's EC2 health check reads (Fleet.Running, from the
// runtime's List), so the lost zone's instances are no longer listed: the
// group marks them Unhealthy at once and replaces them, and launches into
// the zone fail with InsufficientInstanceCapacity (the chaos az-outage's
// hook, asg.Group.ImpairZone), so the replacements go to the other zones.
// The zone stays lost for the rest of the run: its instances are
// terminated here; should its host answer again, its agent ends the run's
// leftovers when the run's lease lapses. A zone cut off by an az-outage is
// expected to drop out of the cluster and is left to the outage; its agent
// is asked again when the link is back, and the zone is lost then if it
// does not answer.
//
// The zone's DB instances are lost with it (zoneDatabaseLost): their
// servers run on this host (database.go), but RDS's instances in a zone
// whose hardware is gone are gone too, as the az-outage's power loss
// takes them.
func (l *Lab) zoneLost(zone string) {
	zr, ok := l.Runtime.(*zonedRuntime)
	if !ok || zr.remotes[zone] == nil {
		l.opts.Logger.Warn("zone lost, but it does not run on an agent", "zone", zone)
		return
	}
	agent := zr.agents[zone]
	if zr.deadDuringCut(zone) {
		l.say("Zone %s's agent %s is out of the cluster: expected, the az-outage cuts its host off the network; its instances are left to the outage, and the agent is asked again when the link is back", zone, agent)
		return
	}
	n, first := zr.markLost(zone)
	if !first {
		return
	}
	impaired := ""
	if len(l.groups()) > 0 {
		if _, err := l.capacity().ImpairZone(zone); err != nil {
			impaired = fmt.Sprintf(" (launches into %s could not be stopped: %v)", zone, err)
		} else {
			impaired = fmt.Sprintf("; launches into %s fail with InsufficientInstanceCapacity for the rest of the run", zone)
		}
	}
	l.say("Zone %s is lost: memberlist declared its agent %s dead. EC2 treats its %d instance(s) as instances whose host hardware failed: "+
		"they fail their status checks and the Auto Scaling group replaces them in the other zones%s", zone, agent, n, impaired)
	l.zoneDatabaseLost(zone)
}

// zoneDatabaseLost takes a lost zone's DB instances down for the rest of
// the run (rds.Tier.ZoneDown, as the az-outage's power loss does, never
// brought back): RDS fails a primary there over to a standby in another
// zone, and recovers nothing in the zone while its hardware is gone.
func (l *Lab) zoneDatabaseLost(zone string) {
	if l.DB == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), agentDialTimeout)
	killed, err := l.DB.ZoneDown(ctx, zone)
	cancel()
	switch {
	case err != nil:
		l.say("Zone %s's DB instances could not all be taken down with it: %v", zone, err)
	case len(killed) > 0:
		l.say("RDS loses DB instance(s) %s with zone %s's hardware: a primary there fails over to a standby in another zone, and nothing is recovered in %s for the rest of the run",
			strings.Join(killed, ", "), zone, zone)
	}
}
