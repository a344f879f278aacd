package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/internal/osproc"
)

// datedFleet gives each instance a launch time: i-a1 oldest, i-c1 newest.
type datedFleet struct {
	*fakeFleet
	desired int
}

func (d datedFleet) Running() []Victim {
	order := map[string]int{"i-a1": 1, "i-a2": 2, "i-b1": 3, "i-c1": 4}
	vs := d.fakeFleet.Running()
	for i := range vs {
		vs[i].Launched = time.Unix(int64(order[vs[i].ID]), 0)
	}
	return vs
}

func (d datedFleet) Desired() int { return d.desired }

// servingFleet is a datedFleet whose group says how many instances serve.
type servingFleet struct {
	datedFleet
	inService int
}

func (s servingFleet) InService() int { return s.inService }

// A replacement that runs but is not yet in service (pending, booting, in
// a launch hook: about a minute on AWS's timing) serves nobody: the
// instance it replaces still counts as down, so a monkey's "one down at a
// time" holds while the group catches up.
func TestAReplacementNotYetInServiceStillCountsAsDown(t *testing.T) {
	f := servingFleet{datedFleet: datedFleet{fakeFleet: newFleet(), desired: 4}, inService: 3}
	r := NewRunner(nil, clock.NewFake(time.Unix(0, 0)), f, pub{f.fakeFleet}, nil, 1)
	r.SetLimits(Limits{MaxDownInstances: 1})
	ctx := context.Background()
	err := r.Inject(ctx, Action{Kind: KillInstance})
	if err == nil || !strings.Contains(err.Error(), "above max_down_instances 1") {
		t.Fatalf("a kill with one instance not yet in service: %v", err)
	}
	f.inService = 4
	r = NewRunner(nil, clock.NewFake(time.Unix(0, 0)), f, pub{f.fakeFleet}, nil, 1)
	r.SetLimits(Limits{MaxDownInstances: 1})
	if err := r.Inject(ctx, Action{Kind: KillInstance}); err != nil {
		t.Fatalf("a kill with every instance in service: %v", err)
	}
}

func TestTargetingBySelector(t *testing.T) {
	for _, tc := range []struct {
		name string
		zone string
		sel  Selector
		want []string // nil: any, check the count
		n    int
	}{
		{"by id", "", Selector{IDs: []string{"i-b1", "i-a2"}}, []string{"i-b1", "i-a2"}, 2},
		{"oldest two", "", Selector{Count: 2, Order: OrderOldest}, []string{"i-a1", "i-a2"}, 2},
		{"newest", "", Selector{Order: OrderNewest}, []string{"i-c1"}, 1},
		{"newest in a zone", "a", Selector{Order: OrderNewest}, []string{"i-a2"}, 1},
		{"50 percent, rounded up", "", Selector{Percent: 50}, nil, 2},
		{"30 percent of one zone", "a", Selector{Percent: 30}, nil, 1},
		{"count above what runs: all of them", "a", Selector{Count: 5}, nil, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := datedFleet{fakeFleet: newFleet()}
			r := NewRunner(nil, clock.NewFake(time.Unix(0, 0)), f, pub{f.fakeFleet}, nil, 1)
			vs, err := r.choose(tc.zone, tc.sel, r.draw(1))
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, v := range vs {
				ids = append(ids, v.ID)
				if tc.zone != "" && v.Zone != tc.zone {
					t.Fatalf("%s is not in zone %s", v.ID, tc.zone)
				}
			}
			if len(ids) != tc.n || (tc.want != nil && !slices.Equal(ids, tc.want)) {
				t.Fatalf("chose %v, want %v (%d)", ids, tc.want, tc.n)
			}
		})
	}
}

func TestOnlyTheRunsOwnInstancesAreTouched(t *testing.T) {
	f := newFleet()
	r := NewRunner(nil, clock.NewFake(time.Unix(0, 0)), f, pub{f}, nil, 1)
	err := r.Inject(context.Background(), Action{Kind: KillInstance, Select: Selector{IDs: []string{"i-someone-else"}}})
	if err == nil || !strings.Contains(err.Error(), "not one of this run's running instances") {
		t.Fatalf("err %v", err)
	}
	if len(f.Running()) != 4 || has(f.lines(), "kill") {
		t.Fatalf("something was touched: %v", f.lines())
	}
}

func TestRandomChoiceIsSeededPerStep(t *testing.T) {
	pick := func(seed uint64) []string {
		f := newFleet()
		r := NewRunner([]Action{{Kind: StopInstance, Duration: time.Hour}, {At: time.Second, Kind: StopInstance, Duration: time.Hour}},
			clock.NewFake(time.Unix(0, 0)), f, pub{f}, nil, seed)
		for _, s := range r.steps {
			if err := r.inject(context.Background(), s.Action, r.draw(s.N)); err != nil {
				t.Fatal(err)
			}
		}
		return f.lines()
	}
	if a, b := pick(42), pick(42); fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("same seed, different choices:\n%v\n%v", a, b)
	}
	differ := false
	for seed := uint64(1); seed < 20 && !differ; seed++ {
		differ = fmt.Sprint(pick(seed)) != fmt.Sprint(pick(42))
	}
	if !differ {
		t.Fatal("the seed does not change the choice")
	}
}

func TestLimitsRefuseWithAClearReason(t *testing.T) {
	f := datedFleet{fakeFleet: newFleet(), desired: 4}
	capa := &fakeCapacity{f: f.fakeFleet, impaired: map[string]bool{}}
	r := NewRunner(nil, clock.NewFake(time.Unix(0, 0)), f, pub{f.fakeFleet}, nil, 1)
	r.SetCapacity(capa)
	r.SetLoadBalancer(newFakeLB(f.fakeFleet))
	r.SetLimits(Limits{MaxDownInstances: 2, MaxDownZones: 1})
	ctx := context.Background()
	if err := r.Inject(ctx, Action{Kind: StopInstance, Zone: "c", Duration: time.Hour}); err != nil {
		t.Fatal(err)
	}
	err := r.Inject(ctx, Action{Kind: AZOutage, Zone: "a", Duration: time.Hour}) // two more: three down
	if err == nil || !strings.Contains(err.Error(), "above max_down_instances 2") {
		t.Fatalf("az-outage past the instance limit: %v", err)
	}
	if !stillRunning(f.fakeFleet, "i-a1") || capa.ZoneImpaired("a") {
		t.Fatal("a refused fault acted")
	}
	// A kill counts while the group has not replaced it.
	if err := r.Inject(ctx, Action{Kind: KillInstance, Zone: "b"}); err != nil {
		t.Fatal(err)
	}
	if err := r.Inject(ctx, Action{Kind: PauseInstance, Duration: time.Hour}); err == nil {
		t.Fatal("a third instance down was allowed")
	}
	r.SetLimits(Limits{MaxDownZones: 1})
	if err := r.Inject(ctx, Action{Kind: AZPartition, Zone: "a", Duration: time.Hour}); err != nil {
		t.Fatal(err)
	}
	err = r.Inject(ctx, Action{Kind: AZOutage, Zone: "c", Duration: time.Hour})
	if err == nil || !strings.Contains(err.Error(), "c would be a zone down with a already down, above max_down_zones 1") {
		t.Fatalf("a second zone down: %v", err)
	}
}

func TestExpandRepeatsWithSeededJitterAndMonkeyGaps(t *testing.T) {
	steps := Expand([]Action{
		{At: time.Minute, Kind: KillInstance, Every: 5 * time.Minute, EveryJitter: time.Minute, Repeat: 3},
		{At: 2 * time.Minute, Kind: Monkey, Duration: 20 * time.Minute, MeanGap: 3 * time.Minute, MinGap: time.Minute},
		{At: 0, After: "desired_capacity >= 4", Kind: Latency, Latency: time.Second, Duration: time.Minute},
	}, 42, 30*time.Minute)
	if again := Expand([]Action{
		{At: time.Minute, Kind: KillInstance, Every: 5 * time.Minute, EveryJitter: time.Minute, Repeat: 3},
		{At: 2 * time.Minute, Kind: Monkey, Duration: 20 * time.Minute, MeanGap: 3 * time.Minute, MinGap: time.Minute},
		{At: 0, After: "desired_capacity >= 4", Kind: Latency, Latency: time.Second, Duration: time.Minute},
	}, 42, 30*time.Minute); fmt.Sprint(again) != fmt.Sprint(steps) {
		t.Fatal("the same seed expanded differently")
	}
	var repeated, kills []time.Duration
	for i, s := range steps {
		if s.N != i+1 {
			t.Fatalf("step %d numbered %d", i, s.N)
		}
		switch {
		case s.After != "":
			if i != len(steps)-1 {
				t.Fatalf("the step after an event is not last: %+v", steps)
			}
		case s.Every > 0:
			repeated = append(repeated, s.At)
		default:
			if s.Kind != KillInstance {
				t.Fatalf("a monkey step is %s", s.Kind)
			}
			kills = append(kills, s.At)
		}
	}
	if len(repeated) != 3 || repeated[0] != time.Minute {
		t.Fatalf("repeated at %v, want 3 times from 1m", repeated)
	}
	for i := 1; i < len(repeated); i++ {
		if gap := repeated[i] - repeated[i-1]; gap < 4*time.Minute || gap > 6*time.Minute {
			t.Fatalf("gap %s outside 5m ± 1m", gap)
		}
	}
	if len(kills) < 2 {
		t.Fatalf("monkey made %d kills in 20m with a 3m mean gap", len(kills))
	}
	prev := 2 * time.Minute
	for _, k := range kills {
		if k-prev < time.Minute || k >= 22*time.Minute {
			t.Fatalf("monkey kills at %v: a gap below 1m or past its end", kills)
		}
		prev = k
	}
}

func TestParseConditionNamesThePlace(t *testing.T) {
	c, err := ParseCondition("desired_capacity >= 4")
	if err != nil || c.Metric != "desired_capacity" || c.Op != ">=" || c.Value != 4 || !c.Holds(4) || c.Holds(3) {
		t.Fatalf("%+v %v", c, err)
	}
	for _, tc := range []struct {
		expr string
		col  int
		msg  string
	}{
		{"desired >= 4", 1, `"desired" is not a metric`},
		{"in_service => 4", 12, "want a comparison"},
		{"in_service >= four", 15, `"four" is not a number`},
		{"", 1, "missing the metric"},
	} {
		_, err := ParseCondition(tc.expr)
		var ce *ConditionError
		if !errors.As(err, &ce) || ce.Col != tc.col || !strings.Contains(ce.Msg, tc.msg) {
			t.Errorf("%q: %v, want column %d: %s", tc.expr, err, tc.col, tc.msg)
		}
	}
}

type gauges struct {
	mu sync.Mutex
	v  map[string]float64
}

func (g *gauges) Gauge(m string) (float64, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	v, ok := g.v[m]
	return v, ok
}

func (g *gauges) set(m string, v float64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.v[m] = v
}

func TestStepAfterAnEventWaitsForIt(t *testing.T) {
	f := newFleet()
	c := clock.NewFake(time.Unix(0, 0))
	g := &gauges{v: map[string]float64{"desired_capacity": 2}}
	r := NewRunner([]Action{{At: 30 * time.Second, After: "desired_capacity >= 4", Kind: KillInstance}}, c, f, pub{f}, nil, 1)
	r.SetGauges(g)
	done := make(chan struct{})
	go func() { r.Run(context.Background()); close(done) }()
	for range 5 {
		waitFor(t, func() bool { return c.Waiters() == 1 })
		c.Advance(time.Second)
	}
	if len(f.Running()) != 4 {
		t.Fatal("killed before the event")
	}
	g.set("desired_capacity", 4)
	// The runner looks at the gauge once a (fake) second: it may have
	// looked already, or look at the next tick.
	waitFor(t, func() bool {
		if has(f.lines(), "desired_capacity >= 4 holds now") {
			return true
		}
		if c.Waiters() == 1 {
			c.Advance(time.Second)
		}
		return false
	})
	waitFor(t, func() bool { return c.Waiters() == 1 })
	c.Advance(30 * time.Second)
	<-done
	if len(f.Running()) != 3 {
		t.Fatal("not killed 30s after the event")
	}
}

func TestPartitionBlackholesTheZone(t *testing.T) {
	f := newFleet()
	lb := newFakeLB(f)
	r := NewRunner(nil, clock.NewFake(time.Unix(0, 0)), f, pub{f}, nil, 1)
	r.SetLoadBalancer(lb)
	if err := r.Inject(context.Background(), Action{Kind: AZPartition, Zone: "b", Duration: time.Minute}); err != nil {
		t.Fatal(err)
	}
	lb.mu.Lock()
	rf := lb.active["chaos #1"]
	lb.mu.Unlock()
	if !rf.Blackhole || rf.Zone != "b" || rf.Percent != 100 || len(f.Running()) != 4 {
		t.Fatalf("partition installed as %+v, running %d", rf, len(f.Running()))
	}
	r.RevertAll(context.Background(), "the run ended")
	if lb.activeNow() != 0 {
		t.Fatal("the partition outlived RevertAll")
	}
}

type fakeNodes struct {
	f    *fakeFleet
	down map[string]bool
}

func (n *fakeNodes) NodeDown(zone string) (func(), error) {
	n.f.note("node down " + zone)
	n.down[zone] = true
	return func() { n.f.note("node up " + zone); delete(n.down, zone) }, nil
}

func TestKillLBNodeNeedsNodeControl(t *testing.T) {
	f := newFleet()
	r := NewRunner(nil, clock.NewFake(time.Unix(0, 0)), f, pub{f}, nil, 1)
	err := r.Inject(context.Background(), Action{Kind: KillLBNode, Zone: "a", Duration: time.Minute})
	if err == nil || err.Error() != "load balancer node control not available" {
		t.Fatalf("err %v", err)
	}
	n := &fakeNodes{f: f, down: map[string]bool{}}
	r.SetNodes(n)
	if err := r.Inject(context.Background(), Action{Kind: KillLBNode, Zone: "a", Duration: time.Minute}); err != nil || !n.down["a"] {
		t.Fatalf("err %v, down %v", err, n.down)
	}
	r.RevertAll(context.Background(), "the run ended")
	if n.down["a"] {
		t.Fatal("the node stayed down")
	}
}

// TestAZOutageWithLBNodeDown: lb_node: down, the harsher test beyond FIS's
// scenario, with the scenario's own blackhole time.
func TestAZOutageWithLBNodeDown(t *testing.T) {
	f := newFleet()
	lb := newFakeLB(f)
	capa := &fakeCapacity{f: f, impaired: map[string]bool{}}
	c := clock.NewFake(time.Unix(0, 0))
	r := NewRunner(nil, c, f, pub{f}, nil, 1)
	r.SetCapacity(capa)
	r.SetLoadBalancer(lb)
	// Without node control the outage goes ahead and says what it left out.
	down := Action{Kind: AZOutage, Zone: "a", Duration: 9 * time.Minute, BlackholeFor: 3 * time.Minute, LBNode: LBNodeDown}
	if err := r.Inject(context.Background(), down); err != nil {
		t.Fatal(err)
	}
	if !has(f.lines(), "the zone's load-balancer node stays up: load balancer node control not available") {
		t.Fatalf("no word on the node:\n%s", strings.Join(f.lines(), "\n"))
	}
	r.RevertAll(context.Background(), "again")
	n := &fakeNodes{f: f, down: map[string]bool{}}
	r.SetNodes(n)
	if err := r.Inject(context.Background(), down); err != nil {
		t.Fatal(err)
	}
	if lb.activeNow() != 1 || !n.down["a"] || !capa.ZoneImpaired("a") {
		t.Fatalf("blackholes %d, node down %v, impaired %v", lb.activeNow(), n.down, capa.ZoneImpaired("a"))
	}
	c.Advance(3 * time.Minute) // blackhole_for
	waitFor(t, func() bool { return lb.activeNow() == 0 })
	if !n.down["a"] || !capa.ZoneImpaired("a") {
		t.Fatal("the outage ended with its blackhole")
	}
	c.Advance(6 * time.Minute)
	waitFor(t, func() bool { return !capa.ZoneImpaired("a") && !n.down["a"] && stillRunning(f, "i-a1") })
	if !has(f.lines(), "subnets take packets again (the first 3m ended)") {
		t.Fatalf("the blackhole's end is not recorded:\n%s", strings.Join(f.lines(), "\n"))
	}
}

type fakeStore struct {
	f      *fakeFleet
	locked bool
	deaf   bool // the lock does not reach the instances
}

func (s *fakeStore) Lock(context.Context) (func() error, error) {
	s.f.note("lock db")
	s.locked = true
	return func() error { s.f.note("unlock db"); s.locked = false; return nil }, nil
}

func (s *fakeStore) Healthy(_ context.Context, id string) error {
	if s.locked && !s.deaf {
		return errors.New("503 store unavailable")
	}
	return nil
}

func TestStoreOutageIsVerifiedByDeepHealth(t *testing.T) {
	f := newFleet()
	st := &fakeStore{f: f}
	r := NewRunner(nil, clock.NewFake(time.Unix(0, 0)), f, pub{f}, nil, 1)
	r.SetStore(st)
	if err := r.Inject(context.Background(), Action{Kind: StoreOutage, Duration: time.Minute}); err != nil || !st.locked {
		t.Fatalf("err %v locked %v", err, st.locked)
	}
	r.RevertAll(context.Background(), "the run ended")
	if st.locked {
		t.Fatal("still locked")
	}
	st.deaf = true
	if err := r.Inject(context.Background(), Action{Kind: StoreOutage, Duration: time.Minute}); err == nil || st.locked {
		t.Fatalf("a lock health did not see was applied: %v, locked %v", err, st.locked)
	}
}

type hogFleet struct {
	*fakeFleet
	mu   sync.Mutex
	hogs map[string]bool
	cold bool // the hog does not show in the reading
}

func (h *hogFleet) Hog(_ context.Context, id string) (func() error, error) {
	h.note("hog " + id)
	h.mu.Lock()
	h.hogs[id] = true
	h.mu.Unlock()
	return func() error { h.note("unhog " + id); h.mu.Lock(); delete(h.hogs, id); h.mu.Unlock(); return nil }, nil
}

func (h *hogFleet) CPU(_ context.Context, id string) (float64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.hogs[id] && !h.cold {
		return 100, nil
	}
	return 5, nil
}

func TestCPUHogIsVerifiedByTheRuntimesReading(t *testing.T) {
	h := &hogFleet{fakeFleet: newFleet(), hogs: map[string]bool{}}
	r := NewRunner(nil, clock.NewFake(time.Unix(0, 0)), h, pub{h.fakeFleet}, nil, 1)
	if err := r.Inject(context.Background(), Action{Kind: CPUHog, Zone: "b", Duration: time.Minute}); err != nil || !h.hogs["i-b1"] {
		t.Fatalf("err %v hogs %v", err, h.hogs)
	}
	r.RevertAll(context.Background(), "the run ended")
	if len(h.hogs) != 0 {
		t.Fatal("the hog outlived RevertAll")
	}
	h.cold = true
	if err := r.Inject(context.Background(), Action{Kind: CPUHog, Zone: "b", Duration: time.Minute}); err == nil || len(h.hogs) != 0 {
		t.Fatalf("a hog the runtime did not see was applied: %v %v", err, h.hogs)
	}
}

// undoLog is the lab's side of a replay, recorded.
type undoLog struct{ undone []string }

func (u *undoLog) Undo(_ context.Context, f FaultInjected) (string, error) {
	u.undone = append(u.undone, fmt.Sprintf("%s %s", f.Action, f.Instance))
	return "done", nil
}

func TestReplayAfterACrashRevertsWhatWasLeftOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chaos.jsonl")
	j, err := OpenFileJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	p := newPausingFleet()
	r := NewRunner(nil, clock.NewFake(time.Unix(0, 0)), p, pub{p.fakeFleet}, j, 1)
	ctx := context.Background()
	for _, a := range []Action{
		{Kind: StopInstance, Zone: "b", Duration: time.Hour},
		{Kind: PauseInstance, Zone: "c", Duration: time.Hour},
		{Kind: StopInstance, Zone: "a", Duration: time.Minute},
	} {
		if err := r.Inject(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	r.revert(ctx, 3, "its duration ended") // reverted before the crash
	j.Close()                              // the process "dies" here, and its journal's lock with it

	u := &undoLog{}
	got, err := Replay(ctx, path, u)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(u.undone) != "[stop-instance i-b1 pause-instance i-c1]" || len(got) != 2 {
		t.Fatalf("undone %v, recorded %+v", u.undone, got)
	}
	again := &undoLog{}
	if got, err := Replay(ctx, path, again); err != nil || len(got) != 0 || len(again.undone) != 0 {
		t.Fatalf("the second replay did something: %v %v %v", got, again.undone, err)
	}
	left, _, _ := Outstanding(path)
	if len(left) != 0 {
		t.Fatalf("still outstanding: %+v", left)
	}
}

func TestReplayLeavesALiveRunAlone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chaos.jsonl")
	j, _ := OpenFileJournal(path)
	defer j.Close()
	f := newFleet()
	r := NewRunner(nil, clock.NewFake(time.Unix(0, 0)), f, pub{f}, j, 1)
	if err := r.Inject(context.Background(), Action{Kind: StopInstance, Duration: time.Hour}); err != nil {
		t.Fatal(err)
	}
	u := &undoLog{}
	if _, err := Replay(context.Background(), path, u); !errors.Is(err, ErrOwnerAlive) || len(u.undone) != 0 {
		t.Fatalf("err %v undone %v", err, u.undone)
	}
}

// A revert that fails is journalled as still open: the run's own
// RevertAll cannot undo it, so lab down's replay must find it and try again.
func TestAFailedRevertStaysOpenForLabDown(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chaos.jsonl")
	j, err := OpenFileJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	p := newPausingFleet()
	r := NewRunner(nil, clock.NewFake(time.Unix(0, 0)), p, pub{p.fakeFleet}, j, 1)
	ctx := context.Background()
	if err := r.Inject(ctx, Action{Kind: PauseInstance, Zone: "a", Duration: time.Hour}); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	clear(p.paused) // the runtime lost track of it: Resume fails
	p.mu.Unlock()
	_ = r.RevertAll(ctx, "the run ended")
	j.Close()
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), `"open":true`) {
		t.Fatalf("the failed revert is not journalled open:\n%s", b)
	}
	left, _, err := Outstanding(path)
	if err != nil || len(left) != 1 || left[0].Action != PauseInstance {
		t.Fatalf("Outstanding = %+v, %v; want the pause whose revert failed", left, err)
	}
	u := &undoLog{}
	if got, err := Replay(ctx, path, u); err != nil || len(got) != 1 || len(u.undone) != 1 {
		t.Fatalf("Replay = %+v, %v (undone %v); want the pause retried", got, err, u.undone)
	}
	if left, _, _ := Outstanding(path); len(left) != 0 {
		t.Fatalf("still outstanding after lab down: %+v", left)
	}
}

// The journal is the user's own file: a symbolic link planted in its place
// is not followed, and a new journal is owner-only.
func TestJournalIsNotOpenedThroughASymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere")
	if err := os.WriteFile(target, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "chaos.jsonl")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if j, err := OpenFileJournal(link); err == nil {
		j.Close()
		t.Fatal("a journal was opened through a symbolic link")
	}
	if _, err := Replay(context.Background(), link, &undoLog{}); err == nil {
		t.Fatal("a symbolic link was replayed")
	}
	if b, _ := os.ReadFile(target); len(b) != 0 {
		t.Fatalf("the link's target was written: %q", b)
	}
	path := filepath.Join(dir, "own.jsonl")
	j, err := OpenFileJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("journal mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	// A second opener (another lab on the same run directory) is refused.
	if j2, err := OpenFileJournal(path); !errors.Is(err, ErrOwnerAlive) {
		if j2 != nil {
			j2.Close()
		}
		t.Fatalf("a second open of a held journal = %v, want ErrOwnerAlive", err)
	}
}

// A journal whose lock nobody holds, but whose owner (the process its
// JournalOpened names) is alive, is a live run's journal seen without its
// run lock (a copied run directory): ReplayIfOwnerGone leaves it alone,
// and replays it once its owner is dead.
func TestReplayIfOwnerGoneLeavesALiveOwnerAlone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chaos.jsonl")
	j, err := OpenFileJournal(path) // owned by this process, which lives on
	if err != nil {
		t.Fatal(err)
	}
	f := newFleet()
	r := NewRunner(nil, clock.NewFake(time.Unix(0, 0)), f, pub{f}, j, 1)
	if err := r.Inject(context.Background(), Action{Kind: StopInstance, Duration: time.Hour}); err != nil {
		t.Fatal(err)
	}
	j.Close() // its lock is released; its owner is not dead
	u := &undoLog{}
	if got, err := ReplayIfOwnerGone(context.Background(), path, u); !errors.Is(err, ErrOwnerAlive) || len(got) != 0 || len(u.undone) != 0 {
		t.Fatalf("ReplayIfOwnerGone = %+v, %v (undone %v); want ErrOwnerAlive and nothing undone", got, err, u.undone)
	}
	if left, _, _ := Outstanding(path); len(left) != 1 {
		t.Fatalf("outstanding %+v; want the stop still open", left)
	}

	// The owner dies: a journal naming a process that has exited.
	dead := exitedProcess(t)
	b, _ := os.ReadFile(path)
	opened, _ := json.Marshal(map[string]any{"type": "chaos.JournalOpened", "entry": JournalOpened{PID: dead.PID, Process: dead}})
	lines := strings.SplitN(string(b), "\n", 2)
	if !strings.Contains(lines[0], "chaos.JournalOpened") {
		t.Fatalf("first line is not the owner: %s", lines[0])
	}
	if err := os.WriteFile(path, []byte(string(opened)+"\n"+lines[1]), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := ReplayIfOwnerGone(context.Background(), path, u); err != nil || len(got) != 1 || len(u.undone) != 1 {
		t.Fatalf("with the owner dead: %+v, %v (undone %v); want the stop undone", got, err, u.undone)
	}
}

// exitedProcess returns the id a child process had while it ran; it has
// exited and been waited for.
func exitedProcess(t *testing.T) osproc.ID {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	id, err := osproc.Identify(cmd.Process.Pid)
	cmd.Process.Kill()
	cmd.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if osproc.Same(id) {
		t.Fatalf("%s still alive after kill and wait", id)
	}
	return id
}
