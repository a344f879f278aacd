package asg

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/simplydone/lab/sim/az"
)

// Instance refresh statuses, as DescribeInstanceRefreshes shows them.
const (
	RefreshPending             = "Pending"
	RefreshInProgress          = "InProgress"
	RefreshSuccessful          = "Successful"
	RefreshFailed              = "Failed"
	RefreshCancelled           = "Cancelled"
	RefreshRollbackInProgress  = "RollbackInProgress"
	RefreshRollbackSuccessful  = "RollbackSuccessful"
	RefreshRollbackFailed      = "RollbackFailed"
	defaultCheckpointDelay     = time.Hour // CheckpointDelay's AWS default (aws-behaviour.md 2.8)
	defaultMinHealthyPercent   = 90
	defaultMaxHealthyPercent   = 100
	errRefreshAlreadyInProcess = "An Instance Refresh is already in progress and blocks the execution of this Instance Refresh."
)

// ErrRefreshInProgress is StartInstanceRefresh's answer while another
// refresh runs (AWS's InstanceRefreshInProgress fault).
var ErrRefreshInProgress = errors.New("InstanceRefreshInProgress: " + errRefreshAlreadyInProcess)

// MaintenancePolicy is the group's instance maintenance policy: how much of
// the desired capacity must stay healthy, and how far above it the group may
// go, while instances are replaced (aws-behaviour.md 2.9).
type MaintenancePolicy struct {
	MinHealthyPercentage int // 0-100
	MaxHealthyPercentage int // 100-200, at most 100 above the minimum
}

func (m MaintenancePolicy) check() error {
	switch {
	case m.MinHealthyPercentage < 0 || m.MinHealthyPercentage > 100:
		return fmt.Errorf("MinHealthyPercentage %d: allowed 0 to 100", m.MinHealthyPercentage)
	case m.MaxHealthyPercentage < 100 || m.MaxHealthyPercentage > 200:
		return fmt.Errorf("MaxHealthyPercentage %d: allowed 100 to 200", m.MaxHealthyPercentage)
	case m.MaxHealthyPercentage-m.MinHealthyPercentage > 100:
		return fmt.Errorf("MaxHealthyPercentage %d is more than 100 above MinHealthyPercentage %d", m.MaxHealthyPercentage, m.MinHealthyPercentage)
	}
	return nil
}

// RefreshPreferences are StartInstanceRefresh's preferences; nil fields take
// AWS's defaults (aws-behaviour.md 2.8).
type RefreshPreferences struct {
	MinHealthyPercentage  *int           // maintenance policy, else 90
	MaxHealthyPercentage  *int           // maintenance policy, else 100
	InstanceWarmup        *time.Duration // DefaultInstanceWarmup, else HealthCheckGracePeriod
	CheckpointPercentages []int          // ascending, 1-100
	CheckpointDelay       *time.Duration // 3600 s
	SkipMatching          bool           // leave instances already on the version alone
	AutoRollback          bool           // on failure, put the previous version back
}

// Refresh is an instance refresh as DescribeInstanceRefreshes shows it.
type Refresh struct {
	ID                 string    `json:"instance_refresh_id"`
	Status             string    `json:"status"`
	StatusReason       string    `json:"status_reason,omitempty"`
	PercentageComplete int       `json:"percentage_complete"`
	InstancesToUpdate  int       `json:"instances_to_update"`
	FromVersion        int       `json:"from_version"`
	ToVersion          int       `json:"to_version"`
	StartTime          time.Time `json:"start_time"`
	EndTime            time.Time `json:"end_time,omitzero"`
	MinHealthy         int       `json:"min_healthy_percentage"`
	MaxHealthy         int       `json:"max_healthy_percentage"`
}

// Done says whether the refresh has ended, one way or the other.
func (r Refresh) Done() bool {
	switch r.Status {
	case RefreshSuccessful, RefreshFailed, RefreshCancelled, RefreshRollbackSuccessful, RefreshRollbackFailed:
		return true
	}
	return false
}

// refresh is the group's state of one instance refresh.
type refresh struct {
	Refresh
	prefs       RefreshPreferences
	warmup      time.Duration
	delay       time.Duration
	todo        map[az.InstanceID]bool // instances still to replace
	failed      map[az.InstanceID]bool // replacements that failed their health checks
	since       time.Time              // launches from this time on are the refresh's
	checkpoint  int                    // index of the next checkpoint
	pausedUntil time.Time
	rollingBack bool
}

// StartInstanceRefresh replaces every instance with one of the launch
// template version, in batches that keep MinHealthyPercentage of the desired
// capacity healthy. With MaxHealthyPercentage 100 it terminates a batch and
// then launches its replacements; above 100 it launches first, up to that
// share of the desired capacity, and terminates once the new instances pass
// their health checks and warm up. Terminations go through the load
// balancer: deregistered, drained, then ended. With AutoRollback, a
// replacement that fails its health checks turns the refresh into a
// rollback to the previous version. It returns the refresh's id.
func (g *Group) StartInstanceRefresh(version int, prefs RefreshPreferences) (string, error) {
	if version < 1 {
		return "", fmt.Errorf("launch template version %d: versions start at 1", version)
	}
	min, max := defaultMinHealthyPercent, defaultMaxHealthyPercent
	if mp := g.cfg.MaintenancePolicy; mp != nil {
		min, max = mp.MinHealthyPercentage, mp.MaxHealthyPercentage
	}
	if prefs.MinHealthyPercentage != nil {
		min = *prefs.MinHealthyPercentage
	}
	if prefs.MaxHealthyPercentage != nil {
		max = *prefs.MaxHealthyPercentage
	}
	if err := (MaintenancePolicy{MinHealthyPercentage: min, MaxHealthyPercentage: max}).check(); err != nil {
		return "", fmt.Errorf("instance refresh preferences: %w", err)
	}
	last := 0
	for _, p := range prefs.CheckpointPercentages {
		if p <= last || p > 100 {
			return "", fmt.Errorf("instance refresh preferences: CheckpointPercentages %v: want ascending values from 1 to 100", prefs.CheckpointPercentages)
		}
		last = p
	}
	warmup := g.cfg.HealthCheckGracePeriod
	if g.cfg.DefaultInstanceWarmup != nil {
		warmup = *g.cfg.DefaultInstanceWarmup
	}
	if prefs.InstanceWarmup != nil {
		warmup = *prefs.InstanceWarmup
	}
	delay := defaultCheckpointDelay
	if prefs.CheckpointDelay != nil {
		delay = *prefs.CheckpointDelay
	}
	now := g.now()
	g.mu.Lock()
	if g.refresh != nil && !g.refresh.Done() {
		g.mu.Unlock()
		return "", ErrRefreshInProgress
	}
	g.refreshes++
	r := &refresh{
		Refresh: Refresh{ID: refreshID(g.cfg.Name, g.refreshes), Status: RefreshPending, FromVersion: g.version, ToVersion: version,
			StartTime: now, MinHealthy: min, MaxHealthy: max},
		prefs: prefs, warmup: warmup, delay: delay, since: now,
		todo: map[az.InstanceID]bool{}, failed: map[az.InstanceID]bool{},
	}
	for _, in := range g.instances {
		if live(in) && (!prefs.SkipMatching || in.Template != version) {
			r.todo[in.ID] = true
		}
	}
	r.InstancesToUpdate = len(r.todo)
	g.version = version
	g.refresh = r
	snap := r.Refresh
	g.mu.Unlock()
	g.publishRefresh(snap, fmt.Sprintf("Instance refresh started: launch template version %d to %d, %d instance(s) to update (MinHealthyPercentage %d, MaxHealthyPercentage %d)",
		snap.FromVersion, version, snap.InstancesToUpdate, min, max))
	g.poke()
	return snap.ID, nil
}

// InstanceRefresh is the latest instance refresh, if any.
func (g *Group) InstanceRefresh() (Refresh, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.refresh == nil {
		return Refresh{}, false
	}
	return g.refresh.Refresh, true
}

// LaunchTemplateVersion is the version new instances start from.
func (g *Group) LaunchTemplateVersion() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.version
}

func refreshID(group string, n int) string {
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", uint32(len(group))<<16|uint32(n), n)
}

func live(in *Instance) bool { return in.State == Pending || in.State == InService }

// ready is whether an instance counts as healthy for the refresh: in
// service, healthy behind the load balancer, and past the refresh's warm-up.
func ready(in *Instance, targetState string, now time.Time, warmup time.Duration) bool {
	return in.State == InService && targetState == "healthy" && !now.Before(in.InService.Add(warmup))
}

// refreshPlan is one step's decision, made under the lock.
type refreshPlan struct {
	terminate []*Instance
	snap      Refresh
	note      string // an event to publish, "" for none
}

// refreshStep moves the instance refresh on by one step: it notes failed
// replacements (and rolls back or fails), pauses at checkpoints, sets how
// far above desired the group may go, and takes the next batch out of
// service.
func (g *Group) refreshStep(ctx context.Context) {
	now := g.now()
	g.mu.Lock()
	r := g.refresh
	if r == nil || r.Done() {
		g.surge = 0
		g.mu.Unlock()
		return
	}
	plan := g.planRefresh(r, now)
	g.mu.Unlock()
	if plan.note != "" {
		g.publishRefresh(plan.snap, plan.note)
	}
	cause := "an instance refresh"
	if plan.snap.Status == RefreshRollbackInProgress {
		cause = "an instance refresh rollback"
	}
	for _, in := range plan.terminate {
		g.activity(in, "Terminate", fmt.Sprintf("Terminating EC2 instance: %s", in.ID),
			fmt.Sprintf("At %s an instance was taken out of service in response to %s. At %s instance %s was selected for termination.",
				stamp(now), cause, stamp(now), in.ID))
		g.lifecycle(in, InService, Terminating)
		g.terminateAsync(ctx, in)
	}
}

// planRefresh decides one step. g.mu must be held.
func (g *Group) planRefresh(r *refresh, now time.Time) refreshPlan {
	var plan refreshPlan
	started := false
	if r.Status == RefreshPending {
		r.Status, started = RefreshInProgress, true
	}
	var todoReady, todoNotReady []*Instance
	ready_, notReady := 0, 0
	var newlyFailed []az.InstanceID
	for _, in := range sortedInstances(g.instances) {
		if !live(in) {
			if r.todo[in.ID] {
				delete(r.todo, in.ID) // taken out by the health checks or a scale-in
			}
			if in.Health == Unhealthy && in.Template == r.ToVersion && !in.Launched.Before(r.since) && !r.failed[in.ID] {
				r.failed[in.ID] = true // the group's own health check took it out first
				newlyFailed = append(newlyFailed, in.ID)
			}
			continue
		}
		ts := g.cfg.Targets.State(in.ID)
		if r.todo[in.ID] {
			if ready(in, ts, now, 0) {
				todoReady = append(todoReady, in)
			} else {
				todoNotReady = append(todoNotReady, in)
			}
			continue
		}
		// A replacement fails when the group's own health check would mark
		// it unhealthy: the load balancer says unhealthy once the grace
		// period is over (a booting instance fails its first checks).
		if in.Template == r.ToVersion && !in.Launched.Before(r.since) && !r.failed[in.ID] && in.State == InService &&
			ts == "unhealthy" && g.cfg.HealthCheckType == "ELB" && !now.Before(in.InService.Add(g.cfg.HealthCheckGracePeriod)) {
			r.failed[in.ID] = true
			newlyFailed = append(newlyFailed, in.ID)
		}
		if ready(in, ts, now, r.warmup) {
			ready_++
		} else {
			notReady++
		}
	}
	for id := range r.todo {
		if g.instances[id] == nil {
			delete(r.todo, id)
		}
	}
	desired := g.desired
	healthy := ready_ + len(todoReady)
	pct := 100
	if desired > 0 {
		pct = min(100, ready_*100/desired)
	}
	r.InstancesToUpdate = len(r.todo)
	progressed := pct != r.PercentageComplete
	r.PercentageComplete = pct
	plan.snap = r.Refresh

	if len(newlyFailed) > 0 {
		return g.refreshFailed(r, newlyFailed, now)
	}
	if len(r.todo) == 0 && notReady == 0 && ready_ >= desired {
		g.surge = 0
		r.PercentageComplete = 100
		r.InstancesToUpdate = 0
		r.EndTime = now
		if r.rollingBack {
			r.Status, r.StatusReason = RefreshRollbackSuccessful, "Rollback completed successfully."
			plan.note = "Instance refresh rollback succeeded: every instance runs launch template version " + fmt.Sprint(r.ToVersion)
		} else {
			r.Status, r.StatusReason = RefreshSuccessful, ""
			plan.note = "Instance refresh succeeded: every instance runs launch template version " + fmt.Sprint(r.ToVersion)
		}
		plan.snap = r.Refresh
		return plan
	}
	minHealthy := int(math.Ceil(float64(desired) * float64(r.MinHealthy) / 100))
	surge := 0
	if r.MaxHealthy > 100 {
		surge = max(1, desired*r.MaxHealthy/100-desired)
	}
	g.surge = min(surge, len(r.todo))
	if now.Before(r.pausedUntil) {
		return plan
	}
	if r.checkpoint < len(r.prefs.CheckpointPercentages) && pct >= r.prefs.CheckpointPercentages[r.checkpoint] && pct < 100 {
		for r.checkpoint < len(r.prefs.CheckpointPercentages) && pct >= r.prefs.CheckpointPercentages[r.checkpoint] {
			r.checkpoint++ // one replacement can cross two checkpoints: one pause
		}
		r.pausedUntil = now.Add(r.delay)
		r.StatusReason = fmt.Sprintf("Waiting at checkpoint: %d%% complete. The refresh continues after the checkpoint delay (%s).", pct, r.delay)
		plan.snap = r.Refresh
		plan.note = "Instance refresh checkpoint reached: " + r.StatusReason
		return plan
	}

	// Old instances that serve nothing go at once: they hold no one's health up.
	plan.terminate = append(plan.terminate, todoNotReady...)
	var k int
	if surge == 0 {
		// Terminate, then launch: the next batch once the last one is in
		// service, healthy and warm. At least one at a time.
		capacity := ready_ + notReady + len(todoReady) + len(todoNotReady)
		if notReady == 0 && capacity >= desired {
			k = max(1, healthy-minHealthy)
		}
	} else {
		// Launch before terminating: old ones go as new ones become ready,
		// never taking the group below desired or below minimum healthy.
		capacity := ready_ + notReady + len(todoReady) + len(todoNotReady)
		k = min(healthy-minHealthy, capacity-desired)
	}
	k = min(max(k, 0), len(todoReady))
	for range k {
		cs := make([]candidate, 0, len(todoReady))
		for _, in := range todoReady {
			cs = append(cs, candidate{ID: string(in.ID), Zone: in.Zone, Launched: in.Launched, Template: in.Template})
		}
		pick := chooseTermination(cs, g.cfg.Zones, g.cfg.TerminationPolicies, now, g.cfg.Rand)
		i := slices.IndexFunc(todoReady, func(in *Instance) bool { return string(in.ID) == pick.ID })
		plan.terminate = append(plan.terminate, todoReady[i])
		todoReady = slices.Delete(todoReady, i, i+1)
	}
	for _, in := range plan.terminate {
		in.State = Terminating
		in.refreshing = surge == 0
		delete(r.todo, in.ID)
	}
	if len(plan.terminate) > 0 {
		g.surge = min(surge, len(r.todo))
		r.StatusReason = fmt.Sprintf("Replacing %d instance(s); waiting for the replacements to pass their health checks and warm up (%s).", len(plan.terminate), r.warmup)
	}
	r.InstancesToUpdate = len(r.todo)
	plan.snap = r.Refresh
	switch {
	case started:
		plan.note = fmt.Sprintf("Instance refresh in progress: %d%% complete, %d instance(s) to update", pct, r.InstancesToUpdate)
	case progressed:
		plan.note = fmt.Sprintf("Instance refresh %d%% complete, %d instance(s) to update", pct, r.InstancesToUpdate)
	}
	return plan
}

// refreshFailed handles replacements that failed their health checks: with
// auto rollback the refresh turns into a rollback to the previous version;
// otherwise (or when the rollback itself fails) it ends Failed. g.mu must
// be held.
func (g *Group) refreshFailed(r *refresh, ids []az.InstanceID, now time.Time) refreshPlan {
	reason := fmt.Sprintf("Instance refresh failed: new instance %s failed its health checks (an ELB health check failure)", ids[0])
	g.surge = 0
	if r.rollingBack || !r.prefs.AutoRollback {
		r.EndTime = now
		r.Status, r.StatusReason = RefreshFailed, reason
		if r.rollingBack {
			r.Status, r.StatusReason = RefreshRollbackFailed, "Rollback failed: "+reason
		}
		return refreshPlan{snap: r.Refresh, note: r.StatusReason}
	}
	r.rollingBack = true
	r.Status = RefreshRollbackInProgress
	r.StatusReason = reason + ". Rolling back to launch template version " + fmt.Sprint(r.FromVersion) + "."
	r.FromVersion, r.ToVersion = r.ToVersion, r.FromVersion
	g.version = r.ToVersion
	r.since = now
	r.checkpoint, r.pausedUntil = len(r.prefs.CheckpointPercentages), time.Time{} // no checkpoints on the way back
	r.todo = map[az.InstanceID]bool{}
	for _, in := range g.instances {
		if live(in) && in.Template != r.ToVersion {
			r.todo[in.ID] = true
		}
	}
	r.InstancesToUpdate = len(r.todo)
	return refreshPlan{snap: r.Refresh, note: r.StatusReason}
}

func (g *Group) publishRefresh(r Refresh, note string) {
	g.cfg.Events.Publish(InstanceRefreshChanged{Group: g.cfg.Name, Refresh: r, Note: note})
}

// InstanceRefreshChanged is published when an instance refresh starts,
// progresses, pauses at a checkpoint, rolls back or ends.
type InstanceRefreshChanged struct {
	Group string `json:"group"`
	Refresh
	Note string `json:"note"`
}

func (InstanceRefreshChanged) Kind() string { return "scaling" }
func (e InstanceRefreshChanged) Message() string {
	return fmt.Sprintf("Instance refresh %s %s (%d%% complete): %s", e.ID[:8], e.Status, e.PercentageComplete, e.Note)
}

// Redeploy is the single-server way to deploy a version: every instance is
// stopped and ended at once, with no deregistration first and no draining,
// and the group launches its replacements from version. Requests in flight
// and every request until a replacement is healthy fail: the downtime
// instance refresh exists to avoid.
func (g *Group) Redeploy(ctx context.Context, version int) error {
	if version < 1 {
		return fmt.Errorf("launch template version %d: versions start at 1", version)
	}
	now := g.now()
	g.mu.Lock()
	if g.refresh != nil && !g.refresh.Done() {
		g.mu.Unlock()
		return ErrRefreshInProgress
	}
	g.version = version
	var victims []*Instance
	for _, in := range sortedInstances(g.instances) {
		if live(in) {
			in.State = Terminating
			victims = append(victims, in)
		}
	}
	g.mu.Unlock()
	for _, in := range victims {
		g.activity(in, "Terminate", fmt.Sprintf("Terminating EC2 instance: %s", in.ID),
			fmt.Sprintf("At %s an instance was taken out of service in response to a user request: stopped to deploy launch template version %d (stop, replace, start; not deregistered or drained first).",
				stamp(now), version))
		g.lifecycle(in, InService, Terminating)
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			if err := g.cfg.Fleet.Terminate(context.WithoutCancel(ctx), in.ID); err != nil {
				g.cfg.Logger.Warn("terminate failed", "instance", in.ID, "err", err)
			}
			_, _ = g.cfg.Targets.Deregister(in.ID) // already gone: nothing left to drain
			g.mu.Lock()
			delete(g.instances, in.ID)
			g.mu.Unlock()
			g.lifecycle(in, Terminating, Terminated)
			g.poke()
		}()
	}
	return nil
}
