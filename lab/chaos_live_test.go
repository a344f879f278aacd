package lab

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/rundir"
	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/az"
)

// chaosEvents keeps the run's events for the tests to read.
type chaosEvents struct {
	mu  sync.Mutex
	all []string
}

func (e *chaosEvents) handle(env events.Envelope) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, env.Message())
}

func (e *chaosEvents) has(s string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, m := range e.all {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

func (e *chaosEvents) find(s string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, m := range e.all {
		if strings.Contains(m, s) {
			return m
		}
	}
	return ""
}

// hogPIDs are the live processes labelled as run's hogs.
func hogPIDs(run string) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil || !strings.Contains("\x00"+string(env)+"\x00", "\x00"+az.HogEnv+"="+run+"\x00") {
			continue
		}
		if stat, err := os.ReadFile("/proc/" + e.Name() + "/stat"); err == nil && !strings.Contains(string(stat), ") Z ") {
			var pid int
			fmt.Sscan(e.Name(), &pid)
			out = append(out, pid)
		}
	}
	return out
}

// call is one request through a load-balancer node: status, serving
// instance, wall time.
func call(t *testing.T, url string) (int, string, time.Duration) {
	t.Helper()
	start := time.Now()
	resp, err := http.Get(url + "/api/todos")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("X-Instance-Id"), time.Since(start)
}

// TestEachFaultOnALiveLab applies every fault to one live lab (processes,
// speed 20), checks what the load balancer, the runtime or SimplyDone shows,
// then the revert.
func TestEachFaultOnALiveLab(t *testing.T) {
	s := testStack(t, 18482)
	log := &chaosEvents{}
	l, err := Start(context.Background(), Options{Stack: s, Speed: 20, Seed: 11, RunsDir: t.TempDir(), StateDir: t.TempDir(),
		Driver: DriverProcess, Subscribers: []events.Handler{log.handle}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.waitReady(context.Background(), 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	journal, err := chaos.OpenFileJournal(filepath.Join(l.Dir, rundir.ChaosFile))
	if err != nil {
		t.Fatal(err)
	}
	defer journal.Close()
	r := l.NewChaosRunner(&scenarios.Scenario{}, 11, journal)
	ctx := context.Background()
	node := l.EntryURLs()[0]
	ins := l.Instances()
	victim := ins[1]
	one := chaos.Selector{IDs: []string{string(victim.ID)}}
	inject := func(t *testing.T, a chaos.Action) {
		t.Helper()
		if a.Duration == 0 {
			a.Duration = time.Hour
		}
		if err := r.Inject(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	revert := func(t *testing.T) {
		t.Helper()
		r.RevertAll(ctx, "the test ended")
		if l.LB.ActiveFaults() != 0 || r.Pending() != 0 {
			t.Fatalf("after the revert: %d load-balancer faults, %d pending", l.LB.ActiveFaults(), r.Pending())
		}
	}
	// byVictim sends requests until the victim has answered want of them,
	// for at most 10 s (a node's round robin over three targets is not
	// strictly in turn from a test's point of view), and returns the
	// victim's statuses and slowest time, and how many others answered 200.
	// When the victim answered fewer, it logs who answered what.
	byVictim := func(t *testing.T, want int) (codes []int, slow time.Duration, others int) {
		t.Helper()
		seen := map[string]int{}
		for deadline := time.Now().Add(10 * time.Second); len(codes) < want && time.Now().Before(deadline); {
			code, by, d := call(t, node)
			seen[fmt.Sprintf("%s %d", by, code)]++
			switch {
			case by == string(victim.ID) || (by == "" && code >= 500):
				codes = append(codes, code)
				slow = max(slow, d)
			case code == 200:
				others++
			}
		}
		if len(codes) < want {
			t.Logf("the victim %s answered %d of %d wanted in 10 s; answers by instance and status: %v (its target health: %s)",
				victim.ID, len(codes), want, seen, (targets{lb: l.LB}).State(victim.ID))
		}
		return codes, slow, others
	}
	allOK := func(t *testing.T) {
		t.Helper()
		for range 6 {
			if code, _, d := call(t, node); code != 200 || d > time.Second {
				t.Fatalf("after the revert: %d in %s", code, d)
			}
		}
	}

	t.Run("latency", func(t *testing.T) {
		inject(t, chaos.Action{Kind: chaos.Latency, Select: one, Latency: 300 * time.Millisecond, Jitter: 50 * time.Millisecond})
		codes, slow, _ := byVictim(t, 2)
		if len(codes) != 2 || slow < 250*time.Millisecond {
			t.Fatalf("victim answered %v, slowest %s; want 2 answers delayed 300ms ± 50ms", codes, slow)
		}
		t.Logf("latency 300ms ± 50ms on %s: its answers %v, slowest %s", victim.ID, codes, slow)
		revert(t)
		allOK(t)
	})
	t.Run("bandwidth", func(t *testing.T) {
		inject(t, chaos.Action{Kind: chaos.Bandwidth, Select: one, Rate: 20}) // an empty list of todos is 13 bytes: 650 ms
		codes, slow, _ := byVictim(t, 1)
		if len(codes) != 1 || codes[0] != 200 || slow < 500*time.Millisecond {
			t.Fatalf("victim answered %v, slowest %s", codes, slow)
		}
		t.Logf("bandwidth 20 B/s on %s: %v in %s", victim.ID, codes, slow)
		revert(t)
		allOK(t)
	})
	t.Run("connection-reset", func(t *testing.T) {
		inject(t, chaos.Action{Kind: chaos.ConnectionReset, Select: one})
		codes, _, others := byVictim(t, 2)
		if len(codes) != 2 || codes[0] != 502 || codes[1] != 502 || others < 1 {
			t.Fatalf("reset: victim %v, others ok %d; want two ELB 502s", codes, others)
		}
		t.Logf("connection-reset on %s: its requests %v, the other targets' %d all 200", victim.ID, codes, others)
		revert(t)
		allOK(t)
	})
	t.Run("connection-timeout", func(t *testing.T) {
		inject(t, chaos.Action{Kind: chaos.ConnectionTimeout, Select: one})
		codes, slow, _ := byVictim(t, 1)
		idle := l.Clock.Wall(60 * time.Second)
		if len(codes) != 1 || codes[0] != 504 || slow < idle {
			t.Fatalf("timeout: victim %v after %s; want a 504 after the idle timeout (%s)", codes, slow, idle)
		}
		t.Logf("connection-timeout on %s: %v after %s (idle timeout 60s AWS = %s wall)", victim.ID, codes, slow, idle)
		revert(t)
		allOK(t)
	})
	t.Run("http-error first N", func(t *testing.T) {
		inject(t, chaos.Action{Kind: chaos.HTTPError, Count: 2, Status: 500})
		var got []int
		for range 4 {
			code, _, _ := call(t, node)
			got = append(got, code)
		}
		if got[0] != 500 || got[1] != 500 || got[2] != 200 || got[3] != 200 {
			t.Fatalf("got %v, want the first two 500", got)
		}
		t.Logf("http-error count 2: statuses %v", got)
		revert(t)
	})
	t.Run("az-partition", func(t *testing.T) {
		zone := victim.Zone
		inject(t, chaos.Action{Kind: chaos.AZPartition, Zone: zone})
		waitFor(t, "the zone's target marked unhealthy (Target.Timeout) by every node", 20*time.Second, func() bool {
			call(t, node)
			return everyNodeSees(l.LB, victim.ID, alb.StateUnhealthy)
		})
		if h := l.LB.Health(victim.ID)[l.Zones[0].Name]; h.Reason != alb.ReasonTimeout {
			t.Fatalf("reason %s, want Target.Timeout", h.Reason)
		}
		t.Logf("az-partition %s: %s unhealthy on every node, reason %s, instance still running", zone, victim.ID, alb.ReasonTimeout)
		if in, ok := l.fleet.instance(victim.ID); !ok || in.State != az.StateRunning {
			t.Fatal("the partitioned zone's instance is not running")
		}
		revert(t)
		waitFor(t, "the target healthy again", 20*time.Second, func() bool { return everyNodeSees(l.LB, victim.ID, alb.StateHealthy) })
	})
	t.Run("cpu-hog", func(t *testing.T) {
		if ok, why := l.Runtime.(interface{ Enforced() (bool, string) }).Enforced(); !ok {
			t.Skipf("CPU limits are not enforced here: %s", why)
		}
		inject(t, chaos.Action{Kind: chaos.CPUHog, Select: one})
		waitFor(t, "the runtime's reading of the hog on record", 5*time.Second, func() bool { return log.has("burns CPU: the runtime reads") })
		t.Logf("cpu-hog: %s", log.find("burns CPU"))
		revert(t)
		l.Runtime.Stats(ctx, victim.ID)
		time.Sleep(300 * time.Millisecond) // a reading covers wall time
		if st, err := l.Runtime.Stats(ctx, victim.ID); err != nil || st.CPUUtilization > 30 {
			t.Fatalf("after the revert the instance reads %.0f%% CPU (%v)", st.CPUUtilization, err)
		}
	})
	t.Run("lab down after a crash kills the hog", func(t *testing.T) {
		if ok, why := l.Runtime.(interface{ Enforced() (bool, string) }).Enforced(); !ok {
			t.Skipf("CPU limits are not enforced here: %s", why)
		}
		inject(t, chaos.Action{Kind: chaos.CPUHog, Select: one})
		hogs := hogPIDs(l.RunID)
		if len(hogs) == 0 {
			t.Fatal("no hog process carries the run's label")
		}
		// The live run is left alone: it holds its lock and its journal's.
		if got, err := ReplayCrashed(ctx, l.opts.StateDir, filepath.Dir(l.Dir)); err != nil || len(got) != 0 {
			t.Fatalf("replay of a live run: %+v %v", got, err)
		}
		if len(hogPIDs(l.RunID)) == 0 {
			t.Fatal("lab down beside the live run ended its hog")
		}
		// The lab "crashes": its journal, with the hog in effect, is left
		// unlocked in a run directory of the same id, and its lock is gone
		// (a state directory without it).
		b, err := os.ReadFile(filepath.Join(l.Dir, rundir.ChaosFile))
		if err != nil {
			t.Fatal(err)
		}
		crashed := filepath.Join(t.TempDir(), l.RunID)
		if err := os.Mkdir(crashed, 0o700); err != nil {
			t.Fatal(err)
		}
		// The copy has no lock to go by, so lab down also requires the
		// journal's owner dead: a crashed run's owner is, this test's is
		// not, so the copy names a process that has exited.
		b = withDeadOwner(t, b)
		if err := os.WriteFile(filepath.Join(crashed, rundir.ChaosFile), b, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := ReplayCrashed(ctx, t.TempDir(), filepath.Dir(crashed))
		if err != nil || len(got) != 1 || len(got[0].Reverted) != 1 || got[0].Err != nil {
			t.Fatalf("replay: %+v %v", got, err)
		}
		t.Logf("lab down: %s", got[0].Reverted[0].Note)
		waitFor(t, "the hog processes gone", 5*time.Second, func() bool { return len(hogPIDs(l.RunID)) == 0 })
		again, err := ReplayCrashed(ctx, t.TempDir(), filepath.Dir(crashed))
		if err != nil || len(again) != 0 {
			t.Fatalf("a second replay did something: %+v %v", again, err)
		}
		revert(t) // the runner's own revert after the replay is harmless
	})
	t.Run("store-outage", func(t *testing.T) {
		inject(t, chaos.Action{Kind: chaos.StoreOutage})
		waitFor(t, "the deep health check's failure on record", 5*time.Second, func() bool { return log.has("fails its deep health check") })
		t.Logf("store-outage: %s", log.find("fails its deep health check"))
		other := labStore{l}
		if err := other.Healthy(ctx, string(ins[0].ID)); err == nil {
			t.Fatal("an instance's /health passes with the database locked")
		}
		revert(t)
		waitFor(t, "/health answering 200 again", 30*time.Second, func() bool { return other.Healthy(ctx, string(ins[0].ID)) == nil })
	})
	t.Run("kill-lb-node", func(t *testing.T) {
		zone := victim.Zone
		var url string
		for _, n := range l.LB.Nodes() {
			if n.Zone() == zone {
				url = n.URL()
			}
		}
		inject(t, chaos.Action{Kind: chaos.KillLBNode, Zone: zone})
		if l.LB.NodeUp(zone) {
			t.Fatalf("the node in %s is up", zone)
		}
		if _, err := http.Get(url + "/health"); err == nil {
			t.Fatalf("the node in %s still answers at %s", zone, url)
		}
		t.Logf("kill-lb-node %s: NodeUp false, %s refuses connections", zone, url)
		revert(t)
		if !l.LB.NodeUp(zone) {
			t.Fatalf("the node in %s is still down after the revert", zone)
		}
		waitFor(t, "the node answering again", 5*time.Second, func() bool {
			resp, err := http.Get(url + "/api/todos")
			if err == nil {
				resp.Body.Close()
			}
			return err == nil && resp.StatusCode == 200
		})
	})
	t.Run("az-outage", func(t *testing.T) {
		zone := victim.Zone
		inject(t, chaos.Action{Kind: chaos.AZOutage, Zone: zone, BlackholeFor: 30 * time.Minute})
		if in, _ := l.fleet.instance(victim.ID); in.State != az.StateStopped {
			t.Fatalf("%s is %s, not stopped", victim.ID, in.State)
		}
		// FIS's scenario: the subnets cut off, the zone's node left up.
		if l.LB.ActiveFaults() != 1 || !l.LB.NodeUp(zone) {
			t.Fatalf("the zone's subnets cut off: %v, its node up: %v (FIS leaves it up)", l.LB.ActiveFaults() == 1, l.LB.NodeUp(zone))
		}
		waitFor(t, "a launch into the zone failing with InsufficientInstanceCapacity", 30*time.Second, func() bool {
			return log.has("do not have sufficient capacity in the Availability Zone you requested")
		})
		t.Logf("az-outage %s: %s stopped, subnets cut off, node up, %s", zone, victim.ID, log.find("do not have sufficient capacity"))
		revert(t)
		// The group has replaced the stopped instance meanwhile (EC2 health
		// check), as AWS does: the revert starts what is still there.
		waitFor(t, "the recovery on record", 5*time.Second, func() bool { return log.has("takes launches again") })
		if l.Group.ZoneImpaired(zone) || !l.LB.NodeUp(zone) {
			t.Fatalf("after the recovery: launches impaired %v, node up %v", l.Group.ZoneImpaired(zone), l.LB.NodeUp(zone))
		}
		t.Logf("az-outage revert: %s", log.find("takes launches again"))
		if in, ok := l.fleet.instance(victim.ID); ok && in.State != az.StateTerminated && in.State != az.StateRunning {
			t.Fatalf("%s is %s after the recovery", victim.ID, in.State)
		}
	})
	left, _, err := chaos.Outstanding(filepath.Join(l.Dir, rundir.ChaosFile))
	if err != nil || len(left) != 0 {
		t.Fatalf("the journal has faults without a revert: %+v %v", left, err)
	}
}

// TestStopConditionAbortsTheRunAndRevertsEverything runs a scenario whose
// fault breaks it: the stop condition (with a window) ends the run, says
// which condition fired, and nothing stays injected.
func TestStopConditionAbortsTheRunAndRevertsEverything(t *testing.T) {
	s := testStack(t, 18483)
	sc, err := scenarios.Parse("stop.yaml", []byte(`name: stop
stack: simplydone
speed: 20
seed: 3
load:
  phases: [{name: steady, duration: 10m, rate: 20}]
chaos:
  - {at: 30s, action: http-error, status: 503, duration: 8m}
  - {at: 40s, action: stop-instance, duration: 8m}
slos: [success_rate >= 99%]
stop_conditions: [error_rate > 50% for 1m]
`))
	if err != nil {
		t.Fatal(err)
	}
	runs := t.TempDir()
	start := time.Now()
	sum, err := Run(context.Background(), RunOptions{Scenario: sc, Stack: s, Driver: DriverProcess, RunsDir: runs, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Verdict != Fail || !strings.Contains(sum.Reason, `stop condition "error_rate > 50% for 1m" held for 1m0s of AWS time`) {
		t.Fatalf("verdict %s: %s", sum.Verdict, sum.Reason)
	}
	if wall := time.Since(start); wall > 25*time.Second {
		t.Fatalf("the run took %s: it was not stopped early", wall)
	}
	if sum.Faults.Injected != 2 || sum.Faults.Reverted != 2 {
		t.Fatalf("faults injected %d, reverted %d", sum.Faults.Injected, sum.Faults.Reverted)
	}
	dir := filepath.Join(runs, sum.RunID)
	left, _, err := chaos.Outstanding(filepath.Join(dir, rundir.ChaosFile))
	if err != nil || len(left) != 0 {
		t.Fatalf("left injected: %+v %v", left, err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, rundir.EventsFile))
	if !strings.Contains(string(b), `"type":"StopConditionHeld"`) {
		t.Fatal("the journal does not say which stop condition fired")
	}
}
