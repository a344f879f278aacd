package lab

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/internal/fdlimit"
	"github.com/simplydone/lab/load"
	"github.com/simplydone/lab/report"
	"github.com/simplydone/lab/rundir"
	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/stack"
)

// RunOptions configure `lab run`.
type RunOptions struct {
	Scenario *scenarios.Scenario
	Stack    *stack.Stack // the scenario's stack, resolved
	Speed    float64      // 0: the scenario's
	Driver   string       // auto (default), process or docker
	Isolate  bool         // instances in the run's own network namespace (Options.Isolate)
	Seed     uint64       // 0: the scenario's
	RunsDir  string
	StateDir string
	Console  io.Writer
	Logger   *slog.Logger
	// StatsEvery is how often a stats line is printed, in wall time (default 5 s).
	StatsEvery time.Duration
	// ReadyTimeout bounds the wait for the group to be in service and
	// healthy before the load starts, in AWS time (default 15 minutes).
	ReadyTimeout time.Duration
	// Subscribers get every event of the run from the very first (a TUI).
	Subscribers []events.Handler
	// OnStart, if set, is called once the tier is up, with the running lab.
	OnStart func(*Lab)
	// OnHandle, if set, is called once the tier is up, with the run's
	// handle: what a live view reads (Observe) and injects faults by hand
	// through (the run's one chaos runner, its journal and its counts).
	OnHandle func(*Handle)
	// OnSecond, if set, gets each second of load as seconds.jsonl records it.
	OnSecond func(SecondRecord)
	// SimplyDone is how to run the built-in SimplyDone (Options.SimplyDone).
	SimplyDone []string
	// AgentToken is the stack's agents' token (Options.AgentToken).
	AgentToken []byte
}

// Run plays a scenario against its stack: it brings the tier up, waits for
// it to be ready, runs the load and the chaos timeline together, then
// reverts every fault, checks every acknowledged write, judges the SLOs,
// writes summary.json, and takes everything down. The summary is returned
// even when the run was interrupted or failed.
func Run(ctx context.Context, o RunOptions) (*Summary, error) {
	sc := o.Scenario
	fdStart := fdlimit.Exhausted() // connections the lab's process could not open for want of descriptors, from here on
	speed, seed := o.Speed, o.Seed
	if speed == 0 {
		speed = sc.Speed
	}
	if seed == 0 {
		seed = sc.Seed
	}
	if o.StatsEvery == 0 {
		o.StatsEvery = 5 * time.Second
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 15 * time.Minute
	}
	storeNote, err := withoutPostgreSQL(&o)
	if err != nil {
		return nil, err
	}
	if err := refuseUnmeasured(sc, o.Stack); err != nil { // a stack given apart from the scenario's file (--stack)
		return nil, err
	}
	if why := sc.GeneratorsProblem(o.Stack); why != "" { // load.generators against that stack (agentload.go)
		return nil, &PreflightError{Err: fmt.Errorf("%s: %s", sc.File, why)}
	}
	col := newCollector()
	wallStart := time.Now()
	l, err := Start(ctx, Options{AgentToken: o.AgentToken, StoreNote: storeNote, Stack: o.Stack, Speed: speed, Seed: seed, RunsDir: o.RunsDir, StateDir: o.StateDir, Driver: o.Driver,
		Console: o.Console, Quiet: quietForRun, Logger: o.Logger, SimplyDone: o.SimplyDone, Isolate: o.Isolate, CapacityScale: sc.CapacityScale, Subscribers: append([]events.Handler{col.handle}, o.Subscribers...)})
	if err != nil {
		return nil, err
	}
	defer l.Close()
	l.setChaos(sc, seed)
	if o.OnStart != nil {
		o.OnStart(l)
	}
	if o.OnHandle != nil {
		o.OnHandle(l.Handle())
	}
	if err := saveSources(l.Dir, o.Stack, sc); err != nil {
		return nil, err
	}
	sum := &Summary{RunID: l.RunID, Scenario: sc.Name, Stack: o.Stack.Name, Seed: seed, Speed: speed, Driver: l.Driver,
		Assumptions: assumptionsAt(o.Stack, speed), CapacityScale: sc.CapacityScale}
	awsStart := l.Clock.Now()
	finish := func(verdict, reason string) (*Summary, error) {
		sum.Verdict, sum.Reason = verdict, reason
		sum.WallSeconds = time.Since(wallStart).Seconds()
		sum.AWSSeconds = l.Clock.Now().Sub(awsStart).Seconds()
		closeErr := l.Close() // every instance gone and the journal flushed before the report reads it
		if err := sum.Write(l.Dir); err != nil {
			return sum, err
		}
		if err := report.WriteRunReport(l.Dir); err != nil {
			return sum, fmt.Errorf("write report: %w", err)
		}
		return sum, closeErr
	}

	l.say("URL: %s   (the load balancer's DNS name %s, served by %s)", l.URL(), l.EntryName(), l.DNS().Addr())
	if n := appCookieNote(o.Stack); n != "" {
		l.say("%s", n)
	}
	l.say("Waiting for %d instance(s) to be InService and healthy...", l.desired())
	if err := l.waitReady(ctx, o.ReadyTimeout); err != nil {
		if ctx.Err() != nil {
			return finish(Interrupted, "interrupted before the load started")
		}
		if le := (*LaunchError)(nil); errors.As(err, &le) {
			l.say("Stopping: %v", err)
			sum, ferr := finish(Fail, err.Error())
			return sum, errors.Join(err, ferr) // no instance ever launched: the stack cannot run here
		}
		return finish(Fail, err.Error())
	}
	l.say("The tier is ready; %s starts.", sc.Name)
	if sc.Load.Closed() {
		l.say("The load is up to %d virtual users (closed model): each sends a request, waits for the answer and thinks before the next, so the rate is what they send and a slow tier is sent less.", sc.Load.PeakUsers())
	}

	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); col.sampleInService(runCtx, l) }()
	runner, err := l.chaosRunner() // the one a fault by hand may have made already
	if err != nil {
		return finish(Fail, err.Error())
	}
	go func() { defer wg.Done(); runner.Run(runCtx) }()
	wg.Add(1)
	go func() { defer wg.Done(); l.runActions(runCtx, sc.Actions) }()

	live := newLiveView(l, sc, o.StatsEvery, stopRun)
	live.onSecond = o.OnSecond
	timeline, err := createOwn(filepath.Join(l.Dir, rundir.SecondsFile))
	if err != nil {
		return finish(Fail, fmt.Sprintf("create seconds.jsonl: %v", err))
	}
	tlBuf := bufio.NewWriter(timeline)
	live.timeline = json.NewEncoder(tlBuf)
	target, dialer := l.loadTarget(sc.Load.Client)
	host := newHostSampler(l)
	live.host = host
	wg.Add(1)
	go func() { defer wg.Done(); host.run(runCtx, l.Dir, time.Now()) }()
	res, gens, loadErr := l.runLoad(runCtx, sc, load.Config{
		Targets: []string{target}, DialContext: dialer.DialContext, Phases: wallPhases(sc, l), Seed: seed, MaxLag: sc.MaxLag,
		Mix: load.Mix{List: sc.Load.Mix.List, Create: sc.Load.Mix.Create, Get: sc.Load.Mix.Get, Done: sc.Load.Mix.Done,
			Cart: sc.Load.Mix.Cart, AddToCart: sc.Load.Mix.AddToCart},
		OnSecond: live.second,
		Users:    loadUsers(l.opts.Stack, sc), // virtual users with cookie jars when the target group is sticky or the mix has carts (lab/rules.go)
	})
	stopRun()
	wg.Wait()
	if err := errors.Join(tlBuf.Flush(), timeline.Close()); err != nil {
		o.Logger.Warn("writing seconds.jsonl", "err", err)
	}
	if gens != nil && res != nil { // the load came from several generators: seconds.jsonl gets the merged seconds (agentload.go)
		if err := mergeTimeline(filepath.Join(l.Dir, rundir.SecondsFile), res.Seconds, l.opts.Speed); err != nil {
			o.Logger.Warn("merging the generators' seconds into seconds.jsonl", "err", err)
		}
	}
	why := "the run ended"
	if ctx.Err() != nil {
		why = "the run was interrupted"
	}
	runner.RevertAll(context.Background(), why)
	sum.Faults.Injected, sum.Faults.Reverted = runner.Counts()
	if res == nil {
		return finish(Fail, fmt.Sprintf("load generator: %v", loadErr))
	}
	notChecked := scenarios.PerHostStores(o.Stack) // zones on agents: a store per host (agentwrites.go)
	var lost int
	var verr error
	if notChecked == "" {
		lost, verr = l.verifyWrites(res.Created)
	}
	col.fill(sum, res, l)
	sum.LoadGenerators = gens // load.generators: each generator's requests (agentload.go)
	hostSum, starved := host.verdict()
	sum.Host = &hostSum
	sum.Database = l.databasePeaks()
	sum.LostWrites = lost + res.Misacknowledged // answered 201 with another write's title: not this write kept
	sum.WritesCheckedOn = l.writesCheckedOn
	notCheckedAcrossHosts(sum, notChecked)
	judgeSLOs(sum, sc.SLOs)
	switch {
	case ctx.Err() != nil:
		return finish(Interrupted, "interrupted by the user; numbers cover the run so far")
	case verr != nil:
		return finish(Fail, fmt.Sprintf("could not check acknowledged writes: %v", verr))
	case res.Unreadable > 0 && notChecked == "":
		return finish(Invalid, unreadableWrites(res.Unreadable))
	case fdlimit.Exhausted() > fdStart && !correctnessBreached(sum, sc.SLOs): // a lost write stays the stack's
		return finish(Invalid, outOfDescriptors(fdlimit.Exhausted()-fdStart, fdlimit.Limit()))
	case live.stopped != "":
		holds, anyStarved := live.stopHoldsUnstarved(hostSum.Starved)
		if !holds && anyStarved {
			return finish(Invalid, "the host starved the seconds that decided a stop condition, and over the rest it does not hold: "+live.stopped+"; "+
				cmp.Or(starved, hostSum.StarvedText()))
		}
		return finish(Fail, live.stopped)
	case res.Invalid && !correctnessBreached(sum, sc.SLOs): // a late load generator loses no write or cart: those breaches stand
		return finish(Invalid, res.InvalidReason)
	case loadErr != nil:
		return finish(Fail, loadErr.Error())
	}
	breached, stands := false, false
	for i, r := range sum.SLOs {
		if !r.Pass {
			breached = true
			stands = stands || starved == "" || breachStands(sc.SLOs[i], res.Seconds, hostSum.Starved)
		}
	}
	switch {
	case breached && !stands: // the host can explain every breach: it is not the stack's FAIL
		return finish(Invalid, sloBreached+", but "+starved)
	case breached:
		return finish(Fail, sloBreached)
	}
	return finish(Pass, "") // a PASS on a starved host stands: the stack met its SLOs with less CPU than its shares promise
}

// correctnessBreached says whether an SLO on what the stack lost (writes,
// session state) is breached: the stack's whatever the load generator or
// the host did, since neither loses an acknowledged write or a cart kept
// outside the instances.
func correctnessBreached(sum *Summary, slos []scenarios.SLO) bool {
	for i, r := range sum.SLOs {
		if !r.Pass && i < len(slos) && (slos[i].Metric == scenarios.LostWrites || slos[i].Metric == scenarios.LostSessionState) {
			return true
		}
	}
	return false
}

// quietForRun keeps the console to what a person should see: each node's
// own health-check chatter stays in the journal unless a target is marked
// unhealthy or healthy, and so do target-group health changes once every
// target is gone.
func quietForRun(e events.Envelope) bool {
	switch h := e.Event.(type) {
	case alb.TargetHealthChanged:
		return h.To != alb.StateUnhealthy && !(h.To == alb.StateHealthy && h.From == alb.StateUnhealthy)
	case alb.TargetGroupHealthChanged:
		return h.Total == 0 // every target deregistered (the run's end): nothing to fail over to
	}
	return false
}

// waitReady waits until the desired capacity is InService and every node
// sees each instance healthy.
func (l *Lab) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := l.Clock.After(timeout)
	tk := time.NewTicker(50 * time.Millisecond)
	defer tk.Stop()
	for {
		ins := l.allInstances()
		ready := true
		for _, g := range l.groups() {
			ready = ready && len(g.Instances()) >= g.Desired()
		}
		for _, in := range ins {
			if in.State != "InService" || (targets{lb: l.LB}).State(in.ID) != string(alb.StateHealthy) {
				ready = false
			}
		}
		if ready {
			return nil
		}
		if err := l.launchStuck(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return fmt.Errorf("the group was not InService and healthy within %s (AWS time)", timeout)
		case <-tk.C:
		}
	}
}

// unreadableWrites is the INVALID verdict's reason when creates were
// acknowledged without an id and title to look them up by.
// outOfDescriptors says why a run whose own process ran out of file
// descriptors proves nothing about the stack.
func outOfDescriptors(n int64, limit uint64) string {
	return fmt.Sprintf("the lab's own process ran out of file descriptors (its limit: %d open files): %d connection(s) it needed "+
		"(the load generator's, the load balancer nodes' to their targets, their health checks) could not be opened, so the errors "+
		"they caused (ELB 502s, failed health checks, transport errors) are the lab's, not the stack's; "+
		"send fewer requests at once, or raise the limit (ulimit -n)", limit, n)
}

func unreadableWrites(n int) string {
	return fmt.Sprintf("%d create(s) were answered 201 Created without a todo id and title the lab could read, so whether they were kept cannot be checked; lost_writes does not count them", n)
}

// verifyWrites reads back every acknowledged create (its id and title)
// through the load balancer.
func (l *Lab) verifyWrites(ids []load.Write) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if l.DB != nil {
		if lost, err := l.verifyWritesOnWriter(ctx, ids); !errors.Is(err, errNoTodosTable) {
			return lost, err
		}
	}
	var err error
	for _, u := range append([]string{l.URL()}, l.EntryURLs()...) {
		var lost int
		if lost, err = load.VerifyWrites(ctx, u, ids); err == nil {
			return lost, nil
		}
	}
	return 0, err
}

func wallPhases(sc *scenarios.Scenario, l *Lab) []load.Phase {
	var ps []load.Phase
	for _, p := range sc.Load.Phases {
		ps = append(ps, load.Phase{Name: p.Name, Duration: l.Clock.Wall(p.Duration), From: p.From, To: p.To,
			Users: p.Users, ThinkTime: l.Clock.Wall(p.ThinkTime)}) // think time is AWS time, scaled as the rest
	}
	return ps
}

// describeZones prints in-service counts as "a:2 b:1 c:1".
func describeZones(zones []string, m map[string]int) string {
	var parts []string
	for _, z := range zones {
		parts = append(parts, fmt.Sprintf("%s:%d", z[len(z)-1:], m[z]))
	}
	return strings.Join(parts, " ")
}

// saveSources keeps the stack and the scenario exactly as run, so the run
// directory stands alone (the report shows them; export --from-run reads
// the stack back).
func saveSources(dir string, st *stack.Stack, sc *scenarios.Scenario) error {
	for name, src := range map[string][]byte{rundir.StackFile: st.Source, rundir.ScenarioFile: sc.Source} {
		if err := os.WriteFile(filepath.Join(dir, name), src, 0o600); err != nil { // the stack holds environment values
			return fmt.Errorf("save %s: %w", name, err)
		}
	}
	return nil
}
