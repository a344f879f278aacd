package asg

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/simplydone/lab/sim/az"
)

// Reconcile is one pass of the group's work: health checks, replacement of
// unhealthy instances, then launches or terminations until the capacity
// matches the desired capacity. The loop calls it every tick; tests call it
// directly.
func (g *Group) Reconcile(ctx context.Context) {
	g.runScheduled()
	g.checkLaunches(ctx) // a launch whose instance stopped before it served failed (launchfail.go)
	g.checkHealth(ctx)
	g.refreshStep(ctx)
	g.rebalanceStep()
	g.fixCapacity(ctx)
	g.settleSimple()
	g.warmPoolStep(ctx) // refill the warm pool (warmpool.go)
}

// checkHealth marks and replaces unhealthy instances: instances no longer
// running at once; ELB failures at most 10% of desired (at least one) at a
// time, each next one only once the new instances have passed their first
// health check and finished warming up (aws-behaviour.md 2.4,
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/health-checks-overview.html),
// so a bad health check cannot take the whole group down.
func (g *Group) checkHealth(ctx context.Context) {
	now := g.now()
	runs := g.runningNow() // before the lock: each is a request to an agent's host
	isRunning := func(id az.InstanceID) bool {
		if up, ok := runs[id]; ok {
			return up
		}
		return g.cfg.Fleet.Running(id) // in service since (rare): asked now
	}
	g.mu.Lock()
	limit := max(1, g.desired/10)
	starting := 0 // new instances still launching, not yet healthy behind the load balancer, or warming up
	for _, in := range g.instances {
		switch {
		case in.State == Pending:
			starting++
		case in.State == InService && (g.cfg.Targets.State(in.ID) == "initial" || now.Before(in.WarmUntil)):
			starting++
		}
	}
	var victims []*Instance
	var causes []string
	launchFirst, replacing := g.launchFirstAllowance(), 0
	for _, in := range g.instances {
		if in.replacing && live(in) {
			replacing++
		}
	}
	// Only the unhealthy are sorted (for a deterministic choice under the
	// 10% cap), so a healthy group costs one pass.
	var suspects []*Instance
	for _, in := range g.instances {
		if in.State == InService && (in.replacing || !isRunning(in.ID) || g.cfg.Targets.State(in.ID) == "unhealthy") {
			suspects = append(suspects, in)
		}
	}
	slices.SortFunc(suspects, func(a, b *Instance) int { return cmp.Compare(a.ID, b.ID) })
	for _, in := range suspects {
		bad, cause := healthCheck(healthInput{
			running: isRunning(in.ID), elbState: g.cfg.Targets.State(in.ID),
			healthType: g.cfg.HealthCheckType, inService: in.InService, grace: g.cfg.HealthCheckGracePeriod, now: now,
		})
		if !bad || in.replacing {
			continue
		}
		if cause != causeNotRunning && launchFirst > 0 {
			// The maintenance policy allows going above desired: launch
			// the replacement first, terminate once it is healthy.
			if replacing < launchFirst {
				in.Health, in.replacing = Unhealthy, true
				replacing++
			}
			continue
		}
		if cause != causeNotRunning && starting+len(victims) >= limit {
			continue // ELB failures: at most 10% of desired at a time
		}
		in.Health = Unhealthy
		in.State = Terminating
		victims = append(victims, in)
		causes = append(causes, cause)
	}
	// Launch-before-terminate replacements whose new instances are ready go now.
	if replacing > 0 && healthyOthers(g, now) >= g.desired {
		for _, in := range sortedInstances(g.instances) {
			if in.replacing && live(in) {
				in.State = Terminating
				victims = append(victims, in)
				causes = append(causes, causeELB)
				replacing--
			}
		}
	}
	g.replaceSurge = replacing
	g.mu.Unlock()
	for i, in := range victims {
		g.activity(in, "Terminate", fmt.Sprintf("Terminating EC2 instance: %s", in.ID),
			fmt.Sprintf("At %s an instance was taken out of service in response to %s.", stamp(now), causes[i]))
		g.lifecycle(in, InService, Terminating)
		g.terminateAsync(ctx, in)
	}
}

// fixCapacity launches or terminates until capacity equals desired.
func (g *Group) fixCapacity(ctx context.Context) {
	for {
		g.mu.Lock()
		capacity, held := 0, 0
		for _, in := range g.instances {
			switch {
			case in.State == Pending || in.State == InService:
				capacity++
			case in.State == Terminating && in.refreshing:
				held++ // an instance refresh terminates, then launches
			}
		}
		desired := g.desired
		target := desired + g.surge + g.replaceSurge // launching before terminating may run above desired
		closed := g.closed
		g.mu.Unlock()
		if closed || ctx.Err() != nil {
			return
		}
		switch {
		case capacity+held < target:
			if err := g.launch(ctx, capacity); err != nil {
				g.cfg.Logger.Warn("launch failed", "group", g.cfg.Name, "err", err)
				return // try again next tick
			}
		case capacity > target:
			g.scaleIn(ctx, capacity)
		default:
			return
		}
	}
}

// launch starts one instance in the zone with the fewest, registers it with
// the target group, and puts it in service.
func (g *Group) launch(ctx context.Context, capacity int) error {
	if warm, err := g.warmStart(ctx, capacity); warm { // from the warm pool first (warmpool.go)
		return err
	}
	g.mu.Lock()
	counts := make([]int, len(g.cfg.Zones))
	for _, in := range g.instances {
		if in.State == Pending || in.State == InService {
			for i, z := range g.cfg.Zones {
				if z == in.Zone {
					counts[i]++
				}
			}
		}
	}
	order := launchOrder(g.cfg.Zones, counts)
	version := g.version
	rebalancing := g.rebalancing
	zone := ""
	var impaired []string
	for _, z := range order {
		if g.impaired[z] > 0 {
			impaired = append(impaired, z)
			continue
		}
		zone = z
		break
	}
	g.mu.Unlock()
	for _, z := range impaired { // tried first, failed: AWS shows each as a failed activity
		g.insufficientCapacity(z, capacity)
	}
	if zone == "" {
		return fmt.Errorf("InsufficientInstanceCapacity in every zone (%s)", strings.Join(impaired, ", "))
	}
	now := g.now()
	cause := fmt.Sprintf("At %s an instance was started in response to a difference between desired and actual capacity, increasing the capacity from %d to %d.", stamp(now), capacity, capacity+1)
	if rebalancing {
		cause = fmt.Sprintf("At %s an instance was launched to rebalance the group's instances across Availability Zones (AZRebalance: launch before terminating), increasing the capacity from %d to %d.", stamp(now), capacity, capacity+1)
	}
	id, addr, err := g.cfg.Fleet.Launch(ctx, zone, version)
	if err != nil {
		g.launchFailed(&Instance{Zone: zone, Launched: now, launchCause: cause}, err.Error(), "") // RunInstances failed: no instance
		return fmt.Errorf("launch in %s: %w", zone, err)
	}
	in := &Instance{ID: id, Zone: zone, Addr: addr, State: Pending, Health: Healthy, Launched: now, Template: version,
		booted: make(chan struct{}), pending: g.pendingTimer(), launchCause: cause}
	g.mu.Lock()
	g.instances[id] = in
	g.mu.Unlock()
	g.activity(in, "Launch", fmt.Sprintf("Launching a new EC2 instance: %s", id), cause)
	g.lifecycle(in, "", Pending)
	if g.cfg.PendingTime == 0 && len(g.hooksFor(LaunchingTransition)) == 0 {
		return g.bringUp(ctx, in) // nothing to wait for: in service at once
	}
	// EC2's pending time and the launch hooks: the instance waits; the group goes on.
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := g.bringUp(ctx, in); err != nil {
			g.cfg.Logger.Warn("bringing a launched instance up", "instance", in.ID, "err", err)
		}
	}()
	return nil
}

// bringUp takes a launched instance from Pending to InService as AWS does:
// EC2 keeps it pending for the pending time, then it is running (and its
// workload starts: Booter); then its launch hooks hold it in Pending:Wait;
// then it is registered with the target group and put InService. An
// instance terminated meanwhile (scale-in, Close) stops where it is.
func (g *Group) bringUp(ctx context.Context, in *Instance) error {
	if err := g.running(ctx, in, Pending); err != nil {
		return err
	}
	g.mu.Lock()
	if g.closed || in.State != Pending {
		g.mu.Unlock()
		return nil
	}
	g.mu.Unlock()
	if len(g.hooksFor(LaunchingTransition)) == 0 {
		return g.putInService(in)
	}
	result := g.runHooks(ctx, in, LaunchingTransition, Pending)
	g.mu.Lock()
	if g.closed || in.State != Pending {
		g.mu.Unlock()
		return nil // Close took it
	}
	if result == Abandon {
		in.State = Terminating
		g.mu.Unlock()
		g.activity(in, "Terminate", fmt.Sprintf("Terminating EC2 instance: %s", in.ID),
			fmt.Sprintf("At %s an instance was taken out of service in response to a lifecycle hook's ABANDON result during launch.", stamp(g.now())))
		g.lifecycle(in, Pending, Terminating)
		g.terminateAsync(ctx, in)
		g.poke()
		return nil
	}
	g.mu.Unlock()
	if err := g.putInService(in); err != nil {
		return fmt.Errorf("after launch hooks: %w", err)
	}
	return nil
}

// running waits out EC2's pending time on the group's clock, then has the
// instance started (Booter) and publishes InstanceRunning; state is the
// lifecycle state it waits in (Pending, or Warmed:Pending for the warm
// pool). It closes in.booted on every path, so a termination waiting for
// the boot goes on.
func (g *Group) running(ctx context.Context, in *Instance, state string) error {
	defer close(in.booted)
	if !g.waitPending(ctx, in) {
		return nil
	}
	g.mu.Lock()
	if g.closed || in.State != state {
		g.mu.Unlock()
		return nil // terminated while pending: nothing to start
	}
	in.booting = true
	g.mu.Unlock()
	if g.cfg.Booter != nil {
		if err := g.cfg.Booter.Boot(ctx, in.ID); err != nil {
			if state != Pending {
				return fmt.Errorf("start %s: %w", in.ID, err) // the warm pool ends it
			}
			g.mu.Lock()
			ours := in.State == Pending && !g.closed
			if ours {
				in.State, in.Health = Terminating, Unhealthy
			}
			g.mu.Unlock()
			if ours {
				g.launchFailed(in, err.Error(), "")
				g.lifecycle(in, Pending, Terminating)
				g.terminateAsync(ctx, in)
				g.poke()
			}
			return fmt.Errorf("start %s: %w", in.ID, err)
		}
	}
	now := g.now()
	g.mu.Lock()
	in.Running = now
	in.coldBooted = state == Pending
	g.mu.Unlock()
	g.cfg.Events.Publish(InstanceRunning{Group: g.cfg.Name, Instance: string(in.ID), Zone: in.Zone, Pending: now.Sub(in.Launched).Seconds()})
	return nil
}

// putInService registers a launched instance with the target group and
// marks it InService.
func (g *Group) putInService(in *Instance) error {
	if err := g.cfg.Targets.Register(in.ID, in.Zone, in.Addr); err != nil {
		return fmt.Errorf("register %s: %w", in.ID, err)
	}
	g.mu.Lock()
	in.State = InService
	in.InService = g.now()
	in.WarmUntil = in.InService.Add(g.warmup())
	g.mu.Unlock()
	g.lifecycle(in, Pending, InService)
	g.settleSimple()
	return nil
}

// scaleIn terminates one instance chosen by the termination policies.
func (g *Group) scaleIn(ctx context.Context, capacity int) {
	now := g.now()
	g.mu.Lock()
	var cs []candidate
	for _, in := range g.instances {
		if in.State == InService || in.State == Pending {
			cs = append(cs, candidate{ID: string(in.ID), Zone: in.Zone, Launched: in.Launched, Template: in.Template})
		}
	}
	pick := chooseTermination(cs, g.cfg.Zones, g.cfg.TerminationPolicies, now, g.cfg.Rand)
	in := g.instances[az.InstanceID(pick.ID)]
	from := in.State
	in.State = Terminating
	rebalanced := g.rebalanced > 0
	g.rebalanced = max(0, g.rebalanced-1)
	if g.reuse(in, from) { // the warm pool's reuse policy: back to the pool, not terminated (warmpool.go)
		g.mu.Unlock()
		g.returnToPool(ctx, in, from, capacity)
		return
	}
	g.mu.Unlock()
	cause := fmt.Sprintf("At %s an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from %d to %d.", stamp(now), capacity, capacity-1)
	if rebalanced {
		cause = fmt.Sprintf("At %s an instance was taken out of service in response to an Availability Zone rebalancing (AZRebalance), shrinking the capacity from %d to %d.", stamp(now), capacity, capacity-1)
	}
	g.activity(in, "Terminate", fmt.Sprintf("Terminating EC2 instance: %s", in.ID), cause)
	g.lifecycle(in, from, Terminating)
	g.terminateAsync(ctx, in)
}

// terminateAsync deregisters the instance, waits for it to drain, then ends
// it; the group owns the goroutine.
func (g *Group) terminateAsync(ctx context.Context, in *Instance) {
	g.mu.Lock()
	booting := in.booting && in.booted != nil
	g.mu.Unlock()
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if booting {
			<-in.booted // EC2 is starting it: end it once started, so nothing is left running
		}
		if drained, err := g.cfg.Targets.Deregister(in.ID); err == nil {
			select {
			case <-drained:
			case <-ctx.Done():
			}
		}
		g.runHooks(ctx, in, TerminatingTransition, Terminating) // both results terminate
		if err := g.cfg.Fleet.Terminate(context.WithoutCancel(ctx), in.ID); err != nil {
			g.cfg.Logger.Warn("terminate failed", "instance", in.ID, "err", err)
		}
		g.mu.Lock()
		delete(g.instances, in.ID)
		g.mu.Unlock()
		g.lifecycle(in, Terminating, Terminated)
		g.settleSimple()
	}()
}

// sampleCPU reads every in-service instance's CPU and hands it to the sink;
// instances still warming up stay out of the group's average. Each zone's
// instances are read in turn, the zones at once: a zone on another host
// (a lab agent) answers each reading over the network, so one slow or lost
// host delays only its own zone's readings, and a sample of K hosts takes
// about as long as one host's, not K times as long.
func (g *Group) sampleCPU(ctx context.Context) {
	if g.cfg.CPU == nil {
		return
	}
	now := g.now()
	type sample struct {
		id   az.InstanceID
		warm time.Time
		v    float64
		err  error
	}
	g.mu.Lock()
	ins := make([]sample, 0, len(g.instances))
	zones := make([]string, 0, len(g.instances))
	for _, in := range g.instances {
		if in.State == InService {
			ins = append(ins, sample{id: in.ID, warm: in.WarmUntil})
			zones = append(zones, in.Zone)
		}
	}
	g.mu.Unlock()
	eachZoneAtOnce(zones, func(i int) { ins[i].v, ins[i].err = g.cfg.Fleet.CPU(ctx, ins[i].id) })
	for _, in := range ins {
		if in.err != nil {
			continue
		}
		g.cfg.CPU.PutCPU(now, in.id, in.v, !now.Before(in.warm))
	}
}

// eachZoneAtOnce calls read(i) for every i < len(zones): the indexes of
// one zone (zones[i]) in turn, the zones at once, and returns when all
// are done. A zone may be on another host (a lab agent), each read a
// request over the network: one slow or lost host then delays only its
// own zone's reads, and a pass over K hosts takes about as long as one.
func eachZoneAtOnce(zones []string, read func(i int)) {
	by := map[string][]int{}
	for i, z := range zones {
		by[z] = append(by[z], i)
	}
	var wg sync.WaitGroup
	for _, idx := range by {
		wg.Add(1)
		go func() { // ended before eachZoneAtOnce returns
			defer wg.Done()
			for _, i := range idx {
				read(i)
			}
		}()
	}
	wg.Wait()
}

// runningNow is whether each in-service instance runs, as the fleet says,
// read before the health check takes the group's lock (eachZoneAtOnce).
func (g *Group) runningNow() map[az.InstanceID]bool {
	g.mu.Lock()
	ids := make([]az.InstanceID, 0, len(g.instances))
	zones := make([]string, 0, len(g.instances))
	for _, in := range g.instances {
		if in.State == InService {
			ids = append(ids, in.ID)
			zones = append(zones, in.Zone)
		}
	}
	g.mu.Unlock()
	up := make([]bool, len(ids))
	eachZoneAtOnce(zones, func(i int) { up[i] = g.cfg.Fleet.Running(ids[i]) })
	out := make(map[az.InstanceID]bool, len(ids))
	for i, id := range ids {
		out[id] = up[i]
	}
	return out
}

// Close stops the loop and terminates every instance (deregistered and
// drained first). Safe to call twice.
func (g *Group) Close(ctx context.Context) {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return
	}
	g.closed = true
	close(g.closing)
	var live []*Instance
	for _, in := range g.instances {
		if in.State == Pending || in.State == InService {
			in.State = Terminating
			live = append(live, in)
		}
	}
	g.mu.Unlock()
	if g.cancel != nil {
		g.cancel()
	}
	for _, in := range live {
		g.terminateAsync(ctx, in)
	}
	g.closePool(ctx) // and the warm pool's instances (warmpool.go)
	g.wg.Wait()
}

func (g *Group) activity(in *Instance, action, desc, cause string) {
	g.cfg.Events.Publish(ScalingActivity{Group: g.cfg.Name, Instance: string(in.ID), Zone: in.Zone, Action: action, Description: desc, Cause: cause})
}

func (g *Group) lifecycle(in *Instance, from, to string) {
	g.cfg.Events.Publish(LifecycleChanged{Instance: string(in.ID), Zone: in.Zone, From: from, To: to})
}

// warmup is the group's default instance warm-up: DefaultInstanceWarmup,
// else DefaultCooldown, as AWS falls back.
func (g *Group) warmup() time.Duration {
	if g.cfg.DefaultInstanceWarmup != nil {
		return *g.cfg.DefaultInstanceWarmup
	}
	return g.cfg.DefaultCooldown
}

func sortedInstances(m map[az.InstanceID]*Instance) []*Instance {
	out := slices.Collect(maps.Values(m))
	slices.SortFunc(out, func(a, b *Instance) int { return cmp.Compare(a.ID, b.ID) })
	return out
}
