package asg

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/simplydone/lab/internal/figures"
	"github.com/simplydone/lab/sim/az"
)

// The warm pool's lifecycle states, in the ASG's words
// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pool-instance-lifecycle.html).
// A hook on the way in waits in Warmed:Pending:Wait and Warmed:Pending:Proceed,
// one on the way out of the pool in Warmed:Terminating:Wait.
const (
	WarmedPending     = "Warmed:Pending"
	WarmedStopped     = "Warmed:Stopped"
	WarmedRunning     = "Warmed:Running"
	WarmedHibernated  = "Warmed:Hibernated"
	WarmedTerminating = "Warmed:Terminating"
	WarmedTerminated  = "Warmed:Terminated"
)

// Pool states, as PutWarmPool's PoolState names them.
const (
	PoolStopped    = "Stopped"
	PoolRunning    = "Running"
	PoolHibernated = "Hibernated"
)

// WarmPool is the group's warm pool (aws-behaviour.md 2.10; PutWarmPool):
// instances launched and initialised once, then kept stopped (or running,
// or hibernated) beside the group. On scale-out the group starts them
// (Warmed:Stopped -> Pending -> InService) before it launches cold ones; the
// pool then refills. With ReuseOnScaleIn, scale-in sends instances back to
// the pool instead of terminating them.
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-warm-pools.html
//
// What the lab assumes where AWS documents nothing: a new pool instance is
// stopped once its first-boot initialisation has finished (WarmFleet.Initialised),
// as a launch lifecycle hook completed at the end of the bootstrap would
// hold it (AWS's advice; without one AWS stops it as soon as it runs).
// Hibernated instances are stopped and started like Stopped ones (the lab's
// runtimes cannot keep memory), so a hibernated pool is no faster here.
type WarmPool struct {
	PoolState string // Stopped (default when empty), Running or Hibernated
	MinSize   int    // the fewest instances kept in the pool (0 or more)
	// MaxGroupPreparedCapacity is the most instances in the pool and the
	// group together; -1 is the group's max size (AWS's default).
	MaxGroupPreparedCapacity int
	ReuseOnScaleIn           bool
}

// WarmFleet is what a warm pool needs of the fleet beyond Fleet: EC2's
// StopInstances and StartInstances (the runtime's stop and start, so a warm
// instance really is a stopped process or container started again), and
// whether an instance's first-boot initialisation has finished.
type WarmFleet interface {
	Stop(ctx context.Context, id az.InstanceID) error
	Start(ctx context.Context, id az.InstanceID) error
	Initialised(id az.InstanceID) bool
}

// Size is the pool's size for the group's max size and desired capacity,
// as AWS computes it: the prepared capacity (MaxGroupPreparedCapacity, or
// the max size) less the desired capacity, never below MinSize or 0.
func (w WarmPool) Size(maxSize, desired int) int {
	prepared := w.MaxGroupPreparedCapacity
	if prepared < 0 {
		prepared = maxSize
	}
	return max(w.MinSize, prepared-desired, 0)
}

// resting is the state a pool instance waits in once it is ready.
func (w WarmPool) resting() string {
	switch w.PoolState {
	case PoolRunning:
		return WarmedRunning
	case PoolHibernated:
		return WarmedHibernated
	}
	return WarmedStopped
}

func isResting(state string) bool {
	return state == WarmedStopped || state == WarmedRunning || state == WarmedHibernated
}

func checkWarmPool(cfg Config) error {
	w := cfg.WarmPool
	if w == nil {
		return nil
	}
	if _, ok := cfg.Fleet.(WarmFleet); !ok {
		return errors.New("warm pool: the fleet cannot stop and start instances")
	}
	switch {
	case w.PoolState != "" && w.PoolState != PoolStopped && w.PoolState != PoolRunning && w.PoolState != PoolHibernated:
		return fmt.Errorf("warm pool: pool state %q: allowed %s, %s, %s", w.PoolState, PoolStopped, PoolRunning, PoolHibernated)
	case w.MinSize < 0:
		return fmt.Errorf("warm pool: min size %d: allowed 0 or more", w.MinSize)
	case w.MaxGroupPreparedCapacity < -1:
		return fmt.Errorf("warm pool: max group prepared capacity %d: allowed -1 (the group's max size) or 0 or more", w.MaxGroupPreparedCapacity)
	}
	return nil
}

// warmPool is the pool's instances; g.mu guards it.
type warmPool struct {
	members map[az.InstanceID]*pooled
}

// pooled is one instance in the pool.
type pooled struct {
	in     *Instance
	hooked bool // its launch hooks are done: it waits for its initialisation, then rests
	busy   bool // a stop or a termination is under way
}

// pool returns the warm pool's instances, made on first use; g.mu is held.
func (g *Group) pool() *warmPool {
	if g.warm == nil {
		g.warm = &warmPool{members: map[az.InstanceID]*pooled{}}
	}
	return g.warm
}

func (p *warmPool) sorted() []*pooled {
	out := slices.Collect(maps.Values(p.members))
	slices.SortFunc(out, func(a, b *pooled) int { return cmp.Compare(a.in.ID, b.in.ID) })
	return out
}

// WarmPoolInstances is a snapshot of the warm pool's instances, by id
// (DescribeWarmPool's Instances).
func (g *Group) WarmPoolInstances() []Instance {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.warm == nil {
		return nil
	}
	var out []Instance
	for _, m := range g.warm.sorted() {
		out = append(out, *m.in)
	}
	return out
}

// warmPoolStep keeps the pool in shape, once a Reconcile: initialised
// instances go to the pool state, dead ones and those above the pool's
// size are terminated, and the pool is refilled to its size.
func (g *Group) warmPoolStep(ctx context.Context) {
	w := g.cfg.WarmPool
	if w == nil {
		return
	}
	wf := g.cfg.Fleet.(WarmFleet)
	g.mu.Lock()
	if g.closed || ctx.Err() != nil {
		g.mu.Unlock()
		return
	}
	size := w.Size(g.max, g.desired)
	var waiting []*pooled // running in the pool, not busy: check they live, and whether they are initialised
	for _, m := range g.pool().sorted() {
		if !m.busy && ((m.in.State == WarmedPending && m.hooked) || m.in.State == WarmedRunning) {
			waiting = append(waiting, m)
		}
	}
	g.mu.Unlock()

	var settle, dead []*pooled
	for _, m := range waiting { // outside the lock: the fleet may look at the instance
		switch {
		case !g.cfg.Fleet.Running(m.in.ID):
			dead = append(dead, m)
		case m.in.State == WarmedPending && wf.Initialised(m.in.ID):
			settle = append(settle, m)
		}
	}

	g.mu.Lock()
	for _, m := range append(settle, dead...) {
		m.busy = true
	}
	count := 0
	for _, m := range g.warm.members {
		if m.in.State != WarmedTerminating {
			count++
		}
	}
	count -= len(dead)
	for _, in := range g.instances {
		if in.State == WarmedPending {
			count++ // on its way back to the pool (reuse on scale-in)
		}
	}
	// Instances of an older launch template version are replaced once no
	// instance refresh is in progress (a refresh replaces the group's
	// instances first, then the pool's).
	var stale []*pooled
	if g.refresh == nil || g.refresh.Done() {
		for _, m := range g.warm.sorted() {
			if !m.busy && isResting(m.in.State) && m.in.Template != g.version {
				m.busy = true
				stale = append(stale, m)
				count--
			}
		}
	}
	version := g.version
	var excess []*pooled
	for _, m := range g.warm.sorted() { // shrink: ready instances first, by id
		if count <= size {
			break
		}
		if !m.busy && isResting(m.in.State) {
			m.busy = true
			excess = append(excess, m)
			count--
		}
	}
	g.mu.Unlock()

	now := g.now()
	for _, m := range settle {
		g.settleAsync(ctx, m)
	}
	for _, m := range dead {
		g.terminateWarm(ctx, m, fmt.Sprintf("At %s an instance in the warm pool was taken out of service in response to an EC2 health check that indicated it had been terminated or stopped.", stamp(now)))
	}
	for _, m := range stale {
		g.terminateWarm(ctx, m, fmt.Sprintf("At %s an instance in the warm pool was taken out of service in response to a launch template change: it runs version %d, the group launches version %d.", stamp(now), m.in.Template, version))
	}
	for _, m := range excess {
		g.terminateWarm(ctx, m, fmt.Sprintf("At %s an instance was terminated in response to a difference between the warm pool's size (%d) and its instances (%d).", stamp(now), size, count+len(excess)))
	}
	for ; count < size; count++ {
		if err := g.launchIntoPool(ctx, count, size); err != nil {
			g.cfg.Logger.Warn("warm pool launch failed", "group", g.cfg.Name, "err", err)
			return // try again next tick
		}
	}
}

// launchIntoPool launches one instance into the warm pool (Warmed:Pending)
// and runs the launch hooks (Warmed:Pending:Wait). It goes to the zone with
// the fewest instances in the group and the pool together, so the next
// scale-outs, which keep the group's zones balanced, find one where they
// launch.
func (g *Group) launchIntoPool(ctx context.Context, count, size int) error {
	g.mu.Lock()
	counts := make([]int, len(g.cfg.Zones))
	for _, m := range g.warm.members {
		if m.in.State != WarmedTerminating {
			counts[slices.Index(g.cfg.Zones, m.in.Zone)]++
		}
	}
	for _, in := range g.instances {
		if live(in) {
			counts[slices.Index(g.cfg.Zones, in.Zone)]++
		}
	}
	zone := ""
	for _, z := range launchOrder(g.cfg.Zones, counts) {
		if g.impaired[z] == 0 {
			zone = z
			break
		}
	}
	version := g.version
	g.mu.Unlock()
	if zone == "" {
		return errors.New("InsufficientInstanceCapacity in every zone")
	}
	now := g.now()
	id, addr, err := g.cfg.Fleet.Launch(ctx, zone, version)
	if err != nil {
		return fmt.Errorf("launch into warm pool in %s: %w", zone, err)
	}
	in := &Instance{ID: id, Zone: zone, Addr: addr, State: WarmedPending, Health: Healthy, Launched: now, Template: version,
		booted: make(chan struct{}), pending: g.pendingTimer()}
	m := &pooled{in: in}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return g.cfg.Fleet.Terminate(context.WithoutCancel(ctx), id)
	}
	g.warm.members[id] = m
	g.mu.Unlock()
	g.warmActivity(in, "EC2", "WarmPool", "Launching a new EC2 instance into warm pool: "+string(id),
		fmt.Sprintf("At %s an instance was launched into the warm pool in response to a difference between the warm pool's size (%d) and its instances (%d).", stamp(now), size, count))
	g.lifecycle(in, "", WarmedPending)
	if g.cfg.PendingTime == 0 && len(g.hooksFor(LaunchingTransition)) == 0 {
		g.warmBoot(ctx, m) // nothing to wait for: running at once, as a cold launch is
		return nil
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		g.warmBoot(ctx, m)
		g.poke()
	}()
	return nil
}

// warmBoot takes a new pool instance through EC2's pending time and its
// first boot, as a cold launch goes, then its launch hooks
// (Warmed:Pending:Wait), and marks it ready to settle into the pool. A
// failed boot or an ABANDON result ends it.
func (g *Group) warmBoot(ctx context.Context, m *pooled) {
	in := m.in
	err := g.running(ctx, in, WarmedPending)
	g.mu.Lock()
	gone := g.closed || in.State != WarmedPending || m.busy
	if err != nil && !gone {
		m.busy = true
	}
	g.mu.Unlock()
	if gone {
		return
	}
	if err != nil {
		g.terminateWarm(ctx, m, fmt.Sprintf("At %s an instance launched into the warm pool was taken out of service in response to an EC2 launch failure: %v.", stamp(g.now()), err))
		return
	}
	result := Continue
	if len(g.hooksFor(LaunchingTransition)) > 0 {
		result = g.runHooks(ctx, in, LaunchingTransition, WarmedPending)
	}
	g.mu.Lock()
	if g.closed || in.State != WarmedPending {
		g.mu.Unlock()
		return
	}
	if result == Abandon {
		m.busy = true
		g.mu.Unlock()
		g.terminateWarm(ctx, m, fmt.Sprintf("At %s an instance in the warm pool was taken out of service in response to a lifecycle hook's ABANDON result during launch.", stamp(g.now())))
		return
	}
	m.hooked = true
	g.mu.Unlock()
}

// settleAsync moves an initialised pool instance to the pool state: the
// runtime stops it (Stopped, Hibernated), or it keeps running unregistered
// (Running).
func (g *Group) settleAsync(ctx context.Context, m *pooled) {
	to := g.cfg.WarmPool.resting()
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if to != WarmedRunning {
			if err := g.cfg.Fleet.(WarmFleet).Stop(ctx, m.in.ID); err != nil {
				g.cfg.Logger.Warn("warm pool stop failed", "instance", m.in.ID, "err", err)
				g.mu.Lock()
				m.busy = false // tried again next tick
				g.mu.Unlock()
				return
			}
		}
		g.mu.Lock()
		if g.closed || m.in.State != WarmedPending {
			g.mu.Unlock()
			return
		}
		m.in.State, m.busy = to, false
		g.mu.Unlock()
		g.lifecycle(m.in, WarmedPending, to)
	}()
}

// terminateWarm ends a pool instance: Warmed:Terminating (and its
// terminating hooks at Warmed:Terminating:Wait), then Warmed:Terminated.
// cause is the activity's cause; "" publishes none (the group is closing).
func (g *Group) terminateWarm(ctx context.Context, m *pooled, cause string) {
	g.mu.Lock()
	from := m.in.State
	m.in.State, m.busy = WarmedTerminating, true
	g.mu.Unlock()
	if cause != "" {
		g.warmActivity(m.in, "WarmPool", "EC2", "Terminating EC2 instance from warm pool: "+string(m.in.ID), cause)
	}
	g.lifecycle(m.in, from, WarmedTerminating)
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		g.runHooks(ctx, m.in, TerminatingTransition, WarmedTerminating) // both results terminate
		if err := g.cfg.Fleet.Terminate(context.WithoutCancel(ctx), m.in.ID); err != nil {
			g.cfg.Logger.Warn("terminate failed", "instance", m.in.ID, "err", err)
		}
		g.mu.Lock()
		delete(g.warm.members, m.in.ID)
		g.mu.Unlock()
		g.lifecycle(m.in, WarmedTerminating, WarmedTerminated)
	}()
}

// warmStart puts an instance from the pool into service in place of a cold
// launch (a warm start): Warmed:Stopped -> Pending (the runtime starts it,
// its initialisation already done) -> InService. Only an instance of the
// group's launch template version will do: an instance refresh's
// replacements are new. Balance comes first: it
// takes a pool instance only in the zone a cold launch would go to (the
// fewest instances, taking launches), and reports false when the pool has
// none ready there; then the group launches cold.
func (g *Group) warmStart(ctx context.Context, capacity int) (bool, error) {
	if g.cfg.WarmPool == nil {
		return false, nil
	}
	g.mu.Lock()
	if g.warm == nil {
		g.mu.Unlock()
		return false, nil
	}
	counts := make([]int, len(g.cfg.Zones))
	for _, in := range g.instances {
		if live(in) {
			counts[slices.Index(g.cfg.Zones, in.Zone)]++
		}
	}
	var pick *pooled
	for _, z := range launchOrder(g.cfg.Zones, counts) {
		if g.impaired[z] > 0 {
			continue
		}
		for _, m := range g.warm.sorted() {
			if m.in.Zone == z && !m.busy && isResting(m.in.State) && m.in.Template == g.version {
				pick = m
				break
			}
		}
		break // only the zone a cold launch would take
	}
	if pick == nil {
		g.mu.Unlock()
		return false, nil
	}
	in, from, now := pick.in, pick.in.State, g.now()
	delete(g.warm.members, in.ID)
	in.State, in.Launched, in.Health = Pending, now, Healthy // EC2's launch time is the latest start
	g.instances[in.ID] = in
	g.mu.Unlock()
	g.activity(in, "Launch", "Launching a new EC2 instance from warm pool: "+string(in.ID),
		fmt.Sprintf("At %s an instance was started from the warm pool in response to a difference between desired and actual capacity, increasing the capacity from %d to %d.", stamp(now), capacity, capacity+1))
	g.lifecycle(in, from, Pending)
	if from == WarmedRunning || g.cfg.PendingTime == 0 {
		return true, g.warmUp(ctx, in, from)
	}
	// Starting a stopped instance is EC2's pending state too
	// (StartInstances): the pending time first, the group going on.
	in.pending = g.pendingTimer()
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if !g.waitPending(ctx, in) {
			return
		}
		g.mu.Lock()
		gone := g.closed || in.State != Pending
		g.mu.Unlock()
		if gone {
			return
		}
		if err := g.warmUp(ctx, in, from); err != nil {
			g.cfg.Logger.Warn("starting an instance from the warm pool", "instance", in.ID, "err", err)
		}
	}()
	return true, nil
}

// warmUp starts an instance taken from the warm pool (unless it was kept
// running), then runs its launch hooks and puts it in service.
func (g *Group) warmUp(ctx context.Context, in *Instance, from string) error {
	if from != WarmedRunning {
		if err := g.cfg.Fleet.(WarmFleet).Start(ctx, in.ID); err != nil {
			g.mu.Lock()
			in.State = Terminating
			g.mu.Unlock()
			g.activity(in, "Terminate", "Terminating EC2 instance: "+string(in.ID),
				fmt.Sprintf("At %s an instance was taken out of service in response to a failed start from the warm pool.", stamp(g.now())))
			g.lifecycle(in, Pending, Terminating)
			g.terminateAsync(ctx, in)
			return fmt.Errorf("start %s from the warm pool: %w", in.ID, err)
		}
	}
	if len(g.hooksFor(LaunchingTransition)) == 0 {
		return g.putInService(in)
	}
	// Launch hooks pause it a second time, at Pending:Wait.
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		result := g.runHooks(ctx, in, LaunchingTransition, Pending)
		g.mu.Lock()
		if g.closed || in.State != Pending {
			g.mu.Unlock()
			return
		}
		if result == Abandon {
			in.State = Terminating
			g.mu.Unlock()
			g.activity(in, "Terminate", "Terminating EC2 instance: "+string(in.ID),
				fmt.Sprintf("At %s an instance was taken out of service in response to a lifecycle hook's ABANDON result during launch.", stamp(g.now())))
			g.lifecycle(in, Pending, Terminating)
			g.terminateAsync(ctx, in)
			g.poke()
			return
		}
		g.mu.Unlock()
		if err := g.putInService(in); err != nil {
			g.cfg.Logger.Warn("after launch hooks", "instance", in.ID, "err", err)
		}
	}()
	return nil
}

// reuse says whether scale-in returns the instance to the warm pool (the
// pool's instance reuse policy, for an instance in service) and, if so,
// marks it Warmed:Pending. g.mu is held.
func (g *Group) reuse(in *Instance, from string) bool {
	if w := g.cfg.WarmPool; w == nil || !w.ReuseOnScaleIn || from != InService {
		return false
	}
	in.State = WarmedPending
	return true
}

// returnToPool takes a scaled-in instance out of the target group (it
// drains as for a termination), runs the terminating hooks at
// Warmed:Pending:Wait, and rests it in the pool.
func (g *Group) returnToPool(ctx context.Context, in *Instance, from string, capacity int) {
	g.warmActivity(in, "AutoScalingGroup", "WarmPool", "Returning EC2 instance to warm pool: "+string(in.ID),
		fmt.Sprintf("At %s an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from %d to %d; the warm pool's instance reuse policy returns it to the pool.", stamp(g.now()), capacity, capacity-1))
	g.lifecycle(in, from, WarmedPending)
	to := g.cfg.WarmPool.resting()
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if drained, err := g.cfg.Targets.Deregister(in.ID); err == nil {
			select {
			case <-drained:
			case <-ctx.Done():
			}
		}
		g.runHooks(ctx, in, TerminatingTransition, WarmedPending)
		stopped := to == WarmedRunning
		if !stopped && ctx.Err() == nil {
			if err := g.cfg.Fleet.(WarmFleet).Stop(ctx, in.ID); err != nil {
				g.cfg.Logger.Warn("warm pool stop failed", "instance", in.ID, "err", err)
			} else {
				stopped = true
			}
		}
		g.mu.Lock()
		delete(g.instances, in.ID)
		if g.closed || !stopped {
			g.mu.Unlock()
			if err := g.cfg.Fleet.Terminate(context.WithoutCancel(ctx), in.ID); err != nil {
				g.cfg.Logger.Warn("terminate failed", "instance", in.ID, "err", err)
			}
			g.lifecycle(in, WarmedPending, WarmedTerminated)
			return
		}
		in.State, in.InService, in.WarmUntil = to, time.Time{}, time.Time{}
		g.pool().members[in.ID] = &pooled{in: in, hooked: true}
		g.mu.Unlock()
		g.lifecycle(in, WarmedPending, to)
	}()
}

// closePool terminates the pool's instances as the group closes.
func (g *Group) closePool(ctx context.Context) {
	g.mu.Lock()
	var all []*pooled
	if g.warm != nil {
		all = g.warm.sorted()
	}
	g.mu.Unlock()
	for _, m := range all {
		g.mu.Lock()
		gone := m.in.State == WarmedTerminating
		g.mu.Unlock()
		if !gone {
			g.terminateWarm(ctx, m, "")
		}
	}
}

func (g *Group) warmActivity(in *Instance, origin, destination, desc, cause string) {
	g.cfg.Events.Publish(WarmPoolActivity{Group: g.cfg.Name, Instance: string(in.ID), Zone: in.Zone,
		Origin: origin, Destination: destination, Description: desc, Cause: cause})
}

// WarmPoolActivity is an instance entering or leaving the warm pool other
// than by a warm start (which is a Launch ScalingActivity into the group):
// a launch into the pool, a termination from it, or a scaled-in instance
// returned to it. Origin and Destination are AWS's words in its warm pool
// events: EC2, WarmPool, AutoScalingGroup.
type WarmPoolActivity struct {
	Group       string `json:"group"`
	Instance    string `json:"instance"`
	Zone        string `json:"zone"`
	Origin      string `json:"origin"`
	Destination string `json:"destination"`
	Description string `json:"description"`
	Cause       string `json:"cause"`
}

func (WarmPoolActivity) Kind() string      { return "scaling" }
func (e WarmPoolActivity) Message() string { return e.Description + ". Cause: " + e.Cause }

// WarmPoolFigures are the warm pool's figures AWS does not document: when
// a new pool instance is stopped, what Hibernated means here, and how long a
// warm start's restart takes (restart, a stack setting when set, else the
// first boot's time).
func WarmPoolFigures(restart time.Duration, set bool) []figures.Figure {
	kind, source := figures.Assumed, "launch_template.restart_time unset: a restart is taken to be as slow as the first boot (boot_time)"
	if set {
		kind, source = figures.Setting, "launch_template.restart_time: a stopped instance's start to its workload answering, its first-boot initialisation already done"
	}
	return []figures.Figure{
		{Name: "Warm pool instance stopped after", Value: "its first boot", Kind: figures.Assumed,
			Source: "AWS stops a new pool instance as soon as it runs unless a launch lifecycle hook holds it (https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pool-instance-lifecycle.html); the lab assumes its user data completes such a hook"},
		{Name: "Warm pool state Hibernated", Value: "stopped and started as Stopped", Kind: figures.Assumed,
			Source: "the lab's runtimes keep no memory across a stop"},
		{Name: "Warm start restart time", Value: restart.String(), Kind: kind, Source: source},
	}
}
