package rds

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/stack"
)

// fakeRuntime runs nothing: it keeps each server's state, records what was
// asked of it, and can hold Start or fail Launch.
type fakeRuntime struct {
	mu         sync.Mutex
	state      map[az.InstanceID]az.State
	calls      []string
	startGate  chan struct{} // when set, Start waits for it
	failLaunch error
}

func newFakeRuntime(servers []Server, st az.State) *fakeRuntime {
	f := &fakeRuntime{state: map[az.InstanceID]az.State{}}
	for _, s := range servers {
		f.state[s.ID] = st
	}
	return f
}

func (f *fakeRuntime) record(op string, id az.InstanceID) {
	f.mu.Lock()
	f.calls = append(f.calls, op+" "+string(id))
	f.mu.Unlock()
}

func (f *fakeRuntime) asked(op string, id az.InstanceID) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == op+" "+string(id) {
			n++
		}
	}
	return n
}

func (f *fakeRuntime) set(id az.InstanceID, st az.State) {
	f.mu.Lock()
	f.state[id] = st
	f.mu.Unlock()
}

func (f *fakeRuntime) Launch(_ context.Context, s az.Spec) (az.Instance, error) {
	f.record("launch", s.ID)
	if f.failLaunch != nil {
		return az.Instance{}, f.failLaunch
	}
	f.set(s.ID, az.StateRunning)
	return az.Instance{ID: s.ID, State: az.StateRunning}, nil
}

func (f *fakeRuntime) Terminate(_ context.Context, id az.InstanceID) error {
	f.record("terminate", id)
	f.mu.Lock()
	delete(f.state, id)
	f.mu.Unlock()
	return nil
}

func (f *fakeRuntime) Kill(_ context.Context, id az.InstanceID) error {
	f.record("kill", id)
	f.set(id, az.StateStopped)
	return nil
}

func (f *fakeRuntime) Start(ctx context.Context, id az.InstanceID) error {
	f.record("start", id)
	if f.startGate != nil {
		select {
		case <-f.startGate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.set(id, az.StateRunning)
	return nil
}

func (f *fakeRuntime) List(context.Context) ([]az.Instance, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []az.Instance
	for id, st := range f.state {
		out = append(out, az.Instance{ID: id, State: st})
	}
	return out, nil
}

func (f *fakeRuntime) Close() error { return nil }

// fakeTier is a tier over servers as Start would leave it, on the fake
// runtime, with no monitor running: the tests call its steps. Nothing
// listens at the servers' addresses (port 1), so a connection to one fails
// at once.
func fakeTier(t *testing.T, db string, rt *fakeRuntime) *Tier {
	t.Helper()
	d := parseDB(t, db)
	d.Port = 1
	servers, err := Plan(d, zones(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if rt.state == nil || len(rt.state) == 0 {
		for _, s := range servers {
			rt.set(s.ID, az.StateRunning)
		}
	}
	tr := &Tier{opts: Options{Database: d, Zones: zones(t), Runtime: rt, Clock: clock.Real(), Logger: slog.New(slog.DiscardHandler),
		Ready: 300 * time.Millisecond, Password: "x"},
		servers: servers, zoneDown: map[string]bool{}, recovering: map[string]bool{}, replacing: map[string]bool{},
		paused: map[string]bool{}, fenced: map[az.InstanceID]bool{}, downAt: map[az.InstanceID]time.Time{}, stop: make(chan struct{})}
	for _, s := range servers[1:] {
		if s.Role == stack.RoleStandby || s.Role == stack.RoleReader {
			tr.standbys++
		}
	}
	t.Cleanup(tr.monitor.Wait)
	return tr
}

const singleAZ = "  engine: postgres\n  db_instance_class: db.t3.micro\n"

// TestRecoverDoesNotBlockTheMonitor: a Single-AZ primary found stopped is
// started again in place beside the monitor: the check returns while the
// server's start is still under way, and the next check does not start it
// twice.
func TestRecoverDoesNotBlockTheMonitor(t *testing.T) {
	rt := &fakeRuntime{state: map[az.InstanceID]az.State{}, startGate: make(chan struct{})}
	tr := fakeTier(t, singleAZ, rt)
	p := tr.Primary()
	rt.set(p.ID, az.StateStopped)
	m := &monitor{}
	done := make(chan struct{})
	go func() {
		tr.check(context.Background(), m)
		tr.check(context.Background(), m) // the second look: its start-up is under way
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		close(rt.startGate)
		t.Fatal("the monitor's check waited for the primary's start-up")
	}
	waitUntil(t, "the recovery asked to start the primary", func() bool { return rt.asked("start", p.ID) == 1 })
	close(rt.startGate)
	tr.monitor.Wait()
	if n := rt.asked("start", p.ID); n != 1 {
		t.Fatalf("the primary was started %d times, want once", n)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 10 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestZoneDownHoldsTheZone: an az-outage kills a standby still being built
// in its zone (it never joins the tier), no build starts there while the
// zone is down, and a server found stopped there is not recovered.
func TestZoneDownHoldsTheZone(t *testing.T) {
	rt := &fakeRuntime{state: map[az.InstanceID]az.State{}}
	tr := fakeTier(t, multiAZ, rt)
	servers := tr.Servers()
	standby := servers[1]
	// The standby is lost and being built again in its zone: its base
	// backup runs (the fake launched it; nothing answers yet).
	tr.mu.Lock()
	tr.servers = slices.DeleteFunc(tr.servers, func(s Server) bool { return s.ID == standby.ID })
	tr.mu.Unlock()
	next := standby
	next.Identifier, next.ID = "web-db-standby-2", "db-web-db-standby-2"
	built := make(chan error, 1)
	go func() { built <- tr.buildStandby(context.Background(), next) }()
	waitUntil(t, "the build launched", func() bool { return rt.asked("launch", next.ID) == 1 })
	killed, err := tr.ZoneDown(context.Background(), standby.Zone.Name)
	if err != nil || !slices.Contains(killed, next.Identifier) {
		t.Fatalf("zone down killed %v (%v), want the standby being built, %s", killed, err, next.Identifier)
	}
	if err := <-built; err == nil {
		t.Fatal("the build in a zone that went down succeeded")
	}
	if err := tr.join(next); err == nil {
		t.Fatal("a standby built in a zone that is down joined the tier")
	}
	// While the zone is down nothing is built or started there.
	again := next
	again.Identifier, again.ID = "web-db-standby-3", "db-web-db-standby-3"
	if err := tr.buildStandby(context.Background(), again); err == nil || rt.asked("launch", again.ID) != 0 {
		t.Fatalf("a build started in a zone that is down (%v)", err)
	}
	down := Server{Identifier: "x", ID: "db-x", Zone: standby.Zone, Role: stack.RoleReadReplica, DataDir: t.TempDir()}
	tr.mu.Lock()
	tr.servers = append(tr.servers, down)
	tr.mu.Unlock()
	tr.recover(context.Background(), down, "test")
	if rt.asked("start", down.ID) != 0 {
		t.Fatal("a server in a zone that is down was started")
	}
	// nor is a server that cannot follow the new primary built again there
	if err := tr.replace(context.Background(), down); err == nil {
		t.Error("a replacement in a zone that is down succeeded")
	}
	rt.mu.Lock()
	for _, c := range rt.calls {
		if strings.HasPrefix(c, "launch db-x") {
			t.Errorf("a replacement was launched in a zone that is down: %v", rt.calls)
		}
	}
	rt.mu.Unlock()
}

// removeContents empties only an absolute directory below the root: an
// empty data directory (the working directory) is refused, and left whole.
func TestRemoveContentsRefusesAWorkingDirectory(t *testing.T) {
	for _, dir := range []string{"", ".", "rel", "/"} {
		if err := removeContents(dir); err == nil {
			t.Errorf("removeContents(%q) went ahead", dir)
		}
	}
	if _, err := os.Stat("monitor_test.go"); err != nil {
		t.Fatalf("the package's own files: %v", err)
	}
	d := t.TempDir()
	if err := os.WriteFile(filepath.Join(d, "PG_VERSION"), []byte("15"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := removeContents(d); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(d); len(ents) != 0 {
		t.Errorf("left %v", ents)
	}
}

// TestRebuildRetries: a build that finds no free address in its zone is
// tried again after a backoff (it was dropped); a build that fails frees
// its address for the next and backs off longer each time.
func TestRebuildRetries(t *testing.T) {
	rt := &fakeRuntime{state: map[az.InstanceID]az.State{}}
	tr := fakeTier(t, multiAZ, rt)
	servers := tr.Servers()
	old := servers[0]
	tr.swapPrimary(old, servers[1]) // the standby promoted; a standby is to be built in old's zone
	// Every database address of old's zone is taken by servers the tier had.
	tr.mu.Lock()
	saved := slices.Clone(tr.retired)
	for h := FirstDBHost; h <= LastDBHost; h++ {
		a := old.Zone.Subnet.Addr().As4()
		a[3] = byte(h)
		tr.retired = append(tr.retired, Server{Identifier: fmt.Sprint("gone-", h), Zone: old.Zone, Addr: netip.AddrFrom4(a)})
	}
	tr.mu.Unlock()
	before := time.Now()
	tr.rebuild(context.Background(), old, func() float64 { return 0 })
	tr.mu.Lock()
	pending, retry, fails := tr.pending, tr.retryRebuild, tr.buildFails
	tr.retired = saved
	tr.mu.Unlock()
	if pending == nil || fails != 1 || retry.Before(before.Add(rebuildRetry-time.Second)) {
		t.Fatalf("no free address: pending %v, %d failure(s), retry at %s: want it tried again in %s", pending, fails, retry, rebuildRetry)
	}

	// A build that fails: its address is free again; the next wait is longer.
	rt.failLaunch = errors.New("no")
	tr.rebuild(context.Background(), old, func() float64 { return 0 })
	tr.mu.Lock()
	taken := append(slices.Clone(tr.servers), tr.retired...)
	fails, discarded := tr.buildFails, slices.Clone(tr.discarded)
	tr.mu.Unlock()
	if len(discarded) != 1 || fails != 2 {
		t.Fatalf("failed build: discarded %v, %d failure(s)", discarded, fails)
	}
	if a, ok := freeAddr(old.Zone, taken); !ok || a != discarded[0].Addr {
		t.Fatalf("the failed build's address %s is not free again (next free: %s)", discarded[0].Addr, a)
	}
	if len(tr.Servers()) != 2 {
		t.Fatalf("a failed build joined the tier: %+v", tr.Servers())
	}
	for n, want := range map[int]time.Duration{1: time.Minute, 2: 2 * time.Minute, 3: 4 * time.Minute, 5: 16 * time.Minute, 9: 16 * time.Minute} {
		if got := rebuildBackoff(n); got != want {
			t.Errorf("backoff after %d failures: %s, want %s", n, got, want)
		}
	}
}

// TestServerListHasOneOwner: a failover that took its copy of the servers
// before a rebuilt reader joined keeps that reader (its promotion is made
// on the list as it is then); a reader built from a primary that a
// failover replaced meanwhile does not join (it goes, and is built again).
// Run with -race: the failover and the build touch the list at once.
func TestServerListHasOneOwner(t *testing.T) {
	rt := &fakeRuntime{state: map[az.InstanceID]az.State{}}
	tr := fakeTier(t, cluster, rt)
	servers := tr.Servers() // what the failover saw when it began
	old, to := servers[0], servers[1]
	tr.mu.Lock()
	tr.servers = slices.DeleteFunc(tr.servers, func(s Server) bool { return s.ID == servers[2].ID }) // a reader lost earlier
	tr.mu.Unlock()
	built := servers[2]
	built.Identifier, built.ID, built.Source = "web-db-reader-3", "db-web-db-reader-3", old.Identifier
	if err := tr.join(built); err != nil {
		t.Fatal(err)
	}
	next := tr.swapPrimary(old, to)
	if !slices.ContainsFunc(next, func(s Server) bool { return s.ID == built.ID && s.Source == to.Identifier }) {
		t.Fatalf("the reader built during the failover dropped out of the list (or follows the old primary): %+v", next)
	}

	// At once, many times: whichever comes first, a built reader is either
	// in the list or was refused (and is then stopped by its build).
	for i := range 200 {
		rt := &fakeRuntime{state: map[az.InstanceID]az.State{}}
		tr := fakeTier(t, cluster, rt)
		servers := tr.Servers()
		b := servers[2]
		b.Identifier, b.ID, b.Source = fmt.Sprint("r-", i), az.InstanceID(fmt.Sprint("db-r-", i)), servers[0].Identifier
		var joinErr error
		var wg sync.WaitGroup
		wg.Go(func() { joinErr = tr.join(b) })
		wg.Go(func() { tr.swapPrimary(servers[0], servers[1]) })
		wg.Wait()
		in := slices.ContainsFunc(tr.Servers(), func(s Server) bool { return s.ID == b.ID })
		if in == (joinErr != nil) {
			t.Fatalf("round %d: in the list %v, join error %v", i, in, joinErr)
		}
	}
}

// TestPromotionState reads a stopped target's data: standby.signal still
// there means its recovery never ended; gone means it promoted; a data
// directory that cannot be read tells nothing.
func TestPromotionState(t *testing.T) {
	dir := t.TempDir()
	if got := promotionState(filepath.Join(dir, "none")); got != promotionUnknown {
		t.Fatalf("no data directory: %d", got)
	}
	os.WriteFile(filepath.Join(dir, "PG_VERSION"), []byte("15\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "standby.signal"), nil, 0o600)
	if got := promotionState(dir); got != notPromoted {
		t.Fatalf("standby.signal there: %d, want not promoted", got)
	}
	os.Remove(filepath.Join(dir, "standby.signal"))
	if got := promotionState(dir); got != promotedOnDisk {
		t.Fatalf("standby.signal gone: %d, want promoted", got)
	}
}

// TestRepoint: after a promotion the others follow the new primary, except
// one that holds WAL past the promoted server's end (it is replaced) and a
// replica whose replication a replica-lag holds paused (its revert
// repoints it).
func TestRepoint(t *testing.T) {
	rt := &fakeRuntime{state: map[az.InstanceID]az.State{}}
	tr := fakeTier(t, cluster+"  read_replicas: [{}, {}]\n", rt)
	servers := tr.Servers()
	to := servers[1]
	next := afterPromotion(servers, to) // reader-2, replica-1, replica-2 follow to
	held := map[string]uint64{to.Identifier: 500, "web-db-reader-2": 400, "web-db-replica-1": 900, "web-db-replica-2": 0}
	tr.paused["web-db-replica-2"] = true
	var got []string
	for _, s := range tr.repoint(next, to, held) {
		got = append(got, s.Identifier)
	}
	if !slices.Equal(got, []string{"web-db-reader-2"}) {
		t.Fatalf("repointed %v, want only web-db-reader-2 (replica-1 diverged, replica-2 paused)", got)
	}
	if d := diverged(next, to, held); len(d) != 1 || d[0].Identifier != "web-db-replica-1" {
		t.Fatalf("diverged %+v", d)
	}
	// follow leaves a paused replica alone (nothing listens: a connection would fail)
	if err := tr.follow(context.Background(), next[3], to); err != nil {
		t.Fatalf("follow touched the paused replica: %v", err)
	}
}
