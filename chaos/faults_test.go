package chaos

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
)

// logJournal writes each record into the fleet's log, so "on record before
// it acts" is an order in the log.
type logJournal struct{ f *fakeFleet }

func (j logJournal) Record(e any) error {
	j.f.note(fmt.Sprintf("journal %T", e))
	return nil
}

// pausingFleet can freeze instances; lie makes the runtime deny the pause.
type pausingFleet struct {
	*fakeFleet
	paused map[string]bool
	lie    bool
}

func newPausingFleet() *pausingFleet {
	return &pausingFleet{fakeFleet: newFleet(), paused: map[string]bool{}}
}

func (p *pausingFleet) Pause(_ context.Context, id string) error {
	p.note("pause " + id)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.paused[id] = true
	return nil
}

func (p *pausingFleet) Resume(_ context.Context, id string) error {
	p.note("resume " + id)
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.paused[id] {
		return fmt.Errorf("%s is not paused", id)
	}
	delete(p.paused, id)
	return nil
}

func (p *pausingFleet) Paused(_ context.Context, id string) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.paused[id] && !p.lie, nil
}

func (p *pausingFleet) pausedNow() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.paused)
}

// fakeLB is the load balancer's fault hook.
type fakeLB struct {
	f       *fakeFleet
	mu      sync.Mutex
	targets map[string]int
	active  map[string]RequestFault
	hits    int64
}

func newFakeLB(f *fakeFleet) *fakeLB {
	return &fakeLB{f: f, targets: map[string]int{"a": 2, "b": 1, "c": 1}, active: map[string]RequestFault{}, hits: 7}
}

func (l *fakeLB) Targets(zone string) int {
	if zone == "" {
		return l.targets["a"] + l.targets["b"] + l.targets["c"]
	}
	return l.targets[zone]
}

func (l *fakeLB) InjectRequestFault(rf RequestFault) (func() int64, error) {
	l.f.note(fmt.Sprintf("lb inject %s zone=%s percent=%v status=%d latency=%s jitter=%s", rf.Name, rf.Zone, rf.Percent, rf.Status, rf.Latency, rf.Jitter))
	l.mu.Lock()
	l.active[rf.Name] = rf
	l.mu.Unlock()
	return func() int64 {
		l.f.note("lb remove " + rf.Name)
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.active, rf.Name)
		return l.hits
	}, nil
}

func (l *fakeLB) activeNow() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.active)
}

// fakeCapacity is the group's launch-failure hook.
type fakeCapacity struct {
	f        *fakeFleet
	mu       sync.Mutex
	impaired map[string]bool
}

func (c *fakeCapacity) ImpairZone(zone string) (func(), error) {
	c.f.note("impair " + zone)
	c.mu.Lock()
	c.impaired[zone] = true
	c.mu.Unlock()
	return func() {
		c.f.note("restore " + zone)
		c.mu.Lock()
		delete(c.impaired, zone)
		c.mu.Unlock()
	}, nil
}

func (c *fakeCapacity) ZoneImpaired(zone string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.impaired[zone]
}

// before checks that a comes before b in the log.
func before(t *testing.T, log []string, a, b string) {
	t.Helper()
	ia, ib := -1, -1
	for i, l := range log {
		if ia < 0 && strings.HasPrefix(l, a) {
			ia = i
		}
		if ib < 0 && strings.HasPrefix(l, b) {
			ib = i
		}
	}
	if ia < 0 || ib < 0 || ia > ib {
		t.Fatalf("want %q before %q in:\n%s", a, b, strings.Join(log, "\n"))
	}
}

func has(log []string, s string) bool {
	for _, l := range log {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

func TestPauseIsJournalledFirstAndResumedWhenItsDurationEnds(t *testing.T) {
	p := newPausingFleet()
	c := clock.NewFake(time.Unix(0, 0))
	r := NewRunner([]Action{{Kind: PauseInstance, Zone: "b", Duration: 2 * time.Minute}}, c, p, pub{p.fakeFleet}, logJournal{p.fakeFleet}, 1)
	r.Run(context.Background())
	if p.pausedNow() != 1 || !p.paused["i-b1"] {
		t.Fatalf("paused %v, want i-b1", p.paused)
	}
	if len(p.Running()) != 4 {
		t.Fatal("a paused instance must still be running, as EC2 sees it")
	}
	before(t, p.lines(), "journal chaos.FaultInjected", "pause i-b1")
	c.Advance(2*time.Minute - time.Second)
	if p.pausedNow() != 1 {
		t.Fatal("resumed early")
	}
	c.Advance(time.Second)
	waitFor(t, func() bool { return p.pausedNow() == 0 })
	before(t, p.lines(), "resume i-b1", "journal chaos.FaultReverted")
	if inj, rev := r.Counts(); inj != 1 || rev != 1 {
		t.Fatalf("injected %d reverted %d", inj, rev)
	}
}

func TestPauseIsResumedByRevertAll(t *testing.T) {
	p := newPausingFleet()
	r := NewRunner(nil, clock.NewFake(time.Unix(0, 0)), p, pub{p.fakeFleet}, nil, 1)
	if err := r.Inject(context.Background(), Action{Kind: PauseInstance, Duration: time.Hour}); err != nil {
		t.Fatal(err)
	}
	r.RevertAll(context.Background(), "the run ended")
	if p.pausedNow() != 0 {
		t.Fatal("RevertAll left an instance paused")
	}
	if inj, rev := r.Counts(); inj != 1 || rev != 1 {
		t.Fatalf("injected %d reverted %d", inj, rev)
	}
}

func TestPauseTheRuntimeDoesNotShowIsUndoneAndNotApplied(t *testing.T) {
	p := newPausingFleet()
	p.lie = true
	r := NewRunner([]Action{{Kind: PauseInstance, Duration: time.Hour}}, clock.NewFake(time.Unix(0, 0)), p, pub{p.fakeFleet}, nil, 1)
	r.Run(context.Background())
	log := p.lines()
	if p.pausedNow() != 0 || !has(log, "resume ") || !has(log, "not applied") || !has(log, "does not report it paused") {
		t.Fatalf("want the pause undone and reported not applied:\n%s", strings.Join(log, "\n"))
	}
	r.RevertAll(context.Background(), "again")
	if inj, rev := r.Counts(); inj != 1 || rev != 1 {
		t.Fatalf("injected %d reverted %d", inj, rev)
	}
}

func TestPauseWithoutARuntimeThatPausesIsNotApplied(t *testing.T) {
	f := newFleet()
	r := NewRunner([]Action{{Kind: PauseInstance, Duration: time.Minute}}, clock.NewFake(time.Unix(0, 0)), f, pub{f}, logJournal{f}, 1)
	r.Run(context.Background())
	if log := f.lines(); has(log, "journal") || !has(log, "cannot pause") {
		t.Fatalf("want no record and a not-applied event:\n%s", strings.Join(log, "\n"))
	}
}

func TestHTTPErrorAndLatencyAreInstalledFirstJournalledAndRemovedOnTime(t *testing.T) {
	f := newFleet()
	lb := newFakeLB(f)
	c := clock.NewFake(time.Unix(0, 0))
	r := NewRunner([]Action{
		{Kind: HTTPError, Zone: "b", Percent: 20, Duration: time.Minute},
		{Kind: Latency, Latency: 200 * time.Millisecond, Jitter: 50 * time.Millisecond, Duration: 2 * time.Minute},
	}, c, f, pub{f}, logJournal{f}, 1)
	r.SetLoadBalancer(lb)
	r.Run(context.Background())
	log := f.lines()
	before(t, log, "journal chaos.FaultInjected", "lb inject chaos #1 zone=b percent=20 status=503 latency=0s")
	if !has(log, "lb inject chaos #2 zone= percent=100 status=0 latency=200ms jitter=50ms") {
		t.Fatalf("latency not installed as asked:\n%s", strings.Join(log, "\n"))
	}
	if lb.activeNow() != 2 {
		t.Fatalf("%d faults active, want 2", lb.activeNow())
	}
	c.Advance(time.Minute)
	waitFor(t, func() bool { return lb.activeNow() == 1 })
	if !has(f.lines(), "it hit 7 request(s)") {
		t.Fatalf("the revert does not say what the load balancer saw:\n%s", strings.Join(f.lines(), "\n"))
	}
	r.RevertAll(context.Background(), "the run ended")
	if lb.activeNow() != 0 {
		t.Fatal("RevertAll left a request fault active")
	}
	if inj, rev := r.Counts(); inj != 2 || rev != 2 {
		t.Fatalf("injected %d reverted %d", inj, rev)
	}
}

func TestRequestFaultWithNothingToHitIsNotApplied(t *testing.T) {
	f := newFleet()
	lb := newFakeLB(f)
	lb.targets["c"] = 0
	r := NewRunner(nil, clock.NewFake(time.Unix(0, 0)), f, pub{f}, logJournal{f}, 1)
	if err := r.Inject(context.Background(), Action{Kind: HTTPError, Zone: "c", Duration: time.Minute}); err == nil {
		t.Fatal("http-error without the hook was accepted")
	}
	r.SetLoadBalancer(lb)
	if err := r.Inject(context.Background(), Action{Kind: HTTPError, Zone: "c", Duration: time.Minute}); err == nil || has(f.lines(), "journal") {
		t.Fatalf("http-error on a zone without targets: err %v, log %v", err, f.lines())
	}
	// Installed, but the load balancer routed nothing into it: reported when it ends.
	lb.hits = 0
	if err := r.Inject(context.Background(), Action{Kind: Latency, Zone: "a", Latency: time.Second, Duration: time.Minute}); err != nil {
		t.Fatal(err)
	}
	r.RevertAll(context.Background(), "the run ended")
	if !has(f.lines(), "hit no request") {
		t.Fatalf("a fault that hit nothing was not reported:\n%s", strings.Join(f.lines(), "\n"))
	}
}

func TestAZOutageStopsTheZoneBlocksLaunchesAndRecovers(t *testing.T) {
	f := newFleet()
	capa := &fakeCapacity{f: f, impaired: map[string]bool{}}
	c := clock.NewFake(time.Unix(0, 0))
	r := NewRunner([]Action{{Kind: AZOutage, Zone: "a", Duration: 30 * time.Minute}}, c, f, pub{f}, logJournal{f}, 1)
	r.SetCapacity(capa)
	r.Run(context.Background())
	log := f.lines()
	before(t, log, "journal chaos.FaultInjected", "impair a")
	before(t, log, "impair a", "stop i-a")
	if stillRunning(f, "i-a1") || stillRunning(f, "i-a2") || !stillRunning(f, "i-b1") || !capa.ZoneImpaired("a") {
		t.Fatalf("zone a not down: running %v, impaired %v", f.Running(), capa.impaired)
	}
	// The group replaced one of them meanwhile: it is gone, not stopped.
	f.mu.Lock()
	delete(f.stopped, "i-a2")
	f.mu.Unlock()
	c.Advance(30 * time.Minute)
	waitFor(t, func() bool { return !capa.ZoneImpaired("a") && stillRunning(f, "i-a1") })
	if !has(f.lines(), "1 instance(s) started, 1 already replaced by the group") {
		t.Fatalf("the recovery note is missing:\n%s", strings.Join(f.lines(), "\n"))
	}
	if inj, rev := r.Counts(); inj != 1 || rev != 1 {
		t.Fatalf("injected %d reverted %d", inj, rev)
	}
}

func TestAZOutageIsUndoneByRevertAll(t *testing.T) {
	f := newFleet()
	capa := &fakeCapacity{f: f, impaired: map[string]bool{}}
	r := NewRunner(nil, clock.NewFake(time.Unix(0, 0)), f, pub{f}, nil, 1)
	if err := r.Inject(context.Background(), Action{Kind: AZOutage, Zone: "b", Duration: time.Hour}); err == nil {
		t.Fatal("az-outage without the group's hook was accepted")
	}
	r.SetCapacity(capa)
	if err := r.Inject(context.Background(), Action{Kind: AZOutage, Zone: "b", Duration: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if stillRunning(f, "i-b1") {
		t.Fatal("i-b1 still running")
	}
	r.RevertAll(context.Background(), "the run was interrupted")
	if capa.ZoneImpaired("b") || !stillRunning(f, "i-b1") {
		t.Fatal("RevertAll left zone b down")
	}
}
