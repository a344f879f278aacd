package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/rundir"
	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/sim/agent"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/az/process"
	"github.com/simplydone/lab/stack"
)

// fakeAgentZone is a real process runtime standing in for an agent's zone;
// only the host-level cut is a recording fake (the seam netns20's
// namespaces make real): while it is on, the agent does not answer, as
// its host's link is down. Its List can also be made to fail alone.
type fakeAgentZone struct {
	*process.Runtime
	mu        sync.Mutex
	cuts      []time.Duration
	runningAt []bool // at each Cut: whether an instance of the zone was running
	restored  int
	listFails bool
	cutNow    bool
	lists     int // List calls
}

var errUnreachable = errors.New("agent unreachable: its host is cut off")

func (f *fakeAgentZone) reachable() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cutNow {
		return errUnreachable
	}
	return nil
}

func (f *fakeAgentZone) Terminate(ctx context.Context, id az.InstanceID) error {
	if err := f.reachable(); err != nil {
		return err
	}
	return f.Runtime.Terminate(ctx, id)
}

func (f *fakeAgentZone) Start(ctx context.Context, id az.InstanceID) error {
	if err := f.reachable(); err != nil {
		return err
	}
	return f.Runtime.Start(ctx, id)
}

func (f *fakeAgentZone) Stop(ctx context.Context, id az.InstanceID) error {
	if err := f.reachable(); err != nil {
		return err
	}
	return f.Runtime.Stop(ctx, id)
}

func (f *fakeAgentZone) Cut(ctx context.Context, d time.Duration) (func() error, error) {
	list, err := f.Runtime.List(ctx)
	if err != nil {
		return nil, err
	}
	running := slices.ContainsFunc(list, func(in az.Instance) bool { return in.State == az.StateRunning })
	f.mu.Lock()
	f.cuts, f.runningAt = append(f.cuts, d), append(f.runningAt, running)
	f.cutNow = true
	f.mu.Unlock()
	return func() error {
		f.mu.Lock()
		f.restored++
		f.cutNow = false
		f.mu.Unlock()
		return nil
	}, nil
}

func (f *fakeAgentZone) List(ctx context.Context) ([]az.Instance, error) {
	f.mu.Lock()
	fails := f.listFails || f.cutNow
	f.lists++
	f.mu.Unlock()
	if fails {
		return nil, errors.New("agent does not answer")
	}
	return f.Runtime.List(ctx)
}

func (f *fakeAgentZone) counts() (cuts, restored int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.cuts), f.restored
}

var zonedSeq int

// newTestZoned is a zonedRuntime over two real process runtimes: zone
// us-east-1a on "this host", us-east-1b on a stand-in agent.
func newTestZoned(t *testing.T) (*zonedRuntime, *process.Runtime, *fakeAgentZone, *[]string) {
	t.Helper()
	newRT := func(name string) *process.Runtime {
		zonedSeq++
		rt, err := process.New(process.Options{RunID: fmt.Sprintf("wire20-%s-%d-%d", name, os.Getpid(), zonedSeq),
			StateDir: t.TempDir(), LogDir: t.TempDir(), Grace: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}
	local := newRT("a")
	remote := &fakeAgentZone{Runtime: newRT("b")}
	zr := newZonedRuntime(local, map[string]remoteZone{"us-east-1b": remote}, map[string]string{"us-east-1b": "127.0.0.1:7450"}, nil)
	var mu sync.Mutex
	notes := &[]string{}
	zr.say = func(format string, args ...any) {
		mu.Lock()
		*notes = append(*notes, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	t.Cleanup(func() {
		if err := zr.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return zr, local, remote, notes
}

// zonedSpec is SimplyDone in zone n (1: us-east-1a, 2: us-east-1b) at host h.
func zonedSpec(t *testing.T, n, h, port int, data string) az.Spec {
	t.Helper()
	zs, _ := az.NewZones([]string{"us-east-1a", "us-east-1b"})
	typ, _ := az.LookupInstanceType("t3.micro")
	return az.Spec{ID: az.InstanceID(fmt.Sprintf("i-0000000000000%02d%02d", n, h)), Zone: zs[n-1],
		Addr: netip.AddrFrom4([4]byte{127, 0, byte(n), byte(h)}), Port: port, Type: typ,
		Command: []string{simplydone}, DataDir: data}
}

func serving(s az.Spec) bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(fmt.Sprintf("http://%s/health", netip.AddrPortFrom(s.Addr, uint16(s.Port))))
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func ids(list []az.Instance) []az.InstanceID {
	var out []az.InstanceID
	for _, in := range list {
		out = append(out, in.ID)
	}
	return out
}

// TestZonedRuntimeDispatchesByZone: an instance launches on its zone's
// runtime and every later action on it goes there; List and Exited merge
// both zones'; a remote zone whose agent does not answer is listed as it
// last answered; Close closes both.
func TestZonedRuntimeDispatchesByZone(t *testing.T) {
	zr, local, remote, _ := newTestZoned(t)
	ctx := context.Background()
	data, agentData := t.TempDir(), t.TempDir() // each host's own
	a, b := zonedSpec(t, 1, 61, 18611, data), zonedSpec(t, 2, 61, 18611, agentData)
	for _, s := range []az.Spec{a, b} {
		if _, err := zr.Launch(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "both instances serving", 20*time.Second, func() bool { return serving(a) && serving(b) })

	if l, _ := local.List(ctx); !slices.Equal(ids(l), []az.InstanceID{a.ID}) {
		t.Errorf("local runtime runs %v, want only %s (zone a)", ids(l), a.ID)
	}
	if l, _ := remote.Runtime.List(ctx); !slices.Equal(ids(l), []az.InstanceID{b.ID}) {
		t.Errorf("agent's runtime runs %v, want only %s (zone b)", ids(l), b.ID)
	}
	all, err := zr.List(ctx)
	if err != nil || !slices.Equal(ids(all), []az.InstanceID{a.ID, b.ID}) {
		t.Fatalf("List = %v, %v; want both, sorted", ids(all), err)
	}
	if all[0].PID == 0 || all[1].PID != 0 {
		t.Errorf("pids %d (this host's) and %d (the agent's), want a pid and 0", all[0].PID, all[1].PID)
	}

	// Actions on b go to the agent's runtime: the local one does not know it.
	if _, err := local.Stats(ctx, b.ID); !errors.Is(err, az.ErrNotFound) {
		t.Fatalf("the local runtime knows b: %v", err)
	}
	if _, err := zr.Stats(ctx, b.ID); err != nil {
		t.Errorf("Stats(b): %v", err)
	}
	if acct, err := zr.CPUAccount(ctx, b.ID); err != nil || acct.Share != 0.25 {
		t.Errorf("CPUAccount(b) = %+v, %v; want t3.micro's share 0.25", acct, err)
	}
	if acct, here := zr.hostAccounting(); acct == nil || !here(a.ID) || here(b.ID) {
		t.Errorf("the host sampler's accounting: %v, a on this host %v, b on this host %v; want a only", acct, here(a.ID), here(b.ID))
	}
	// An agent in this process (lab run --agents-in-process) shares this
	// host's CPU: the sampler reads its instances too, through the zones.
	zr.sameHost = true
	if acct, here := zr.hostAccounting(); acct != az.CPUAccounter(zr) || !here(a.ID) || !here(b.ID) {
		t.Errorf("with the agent in this process, the host sampler's accounting: %v, a on this host %v, b on this host %v; want both, through the zoned runtime", acct, here(a.ID), here(b.ID))
	}
	zr.sameHost = false
	stop, err := zr.Hog(ctx, b.ID)
	if err != nil {
		t.Fatalf("Hog(b): %v", err)
	}
	if err := stop(); err != nil {
		t.Errorf("stop the hog: %v", err)
	}
	if err := zr.Stop(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if l, _ := local.List(ctx); len(l) != 1 || l[0].State != az.StateStopped {
		t.Errorf("after Stop(a) the local runtime has %+v", l)
	}
	if err := zr.Start(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a serving again", 20*time.Second, func() bool { return serving(a) })

	// An agent that does not answer: its zone as it last answered.
	remote.mu.Lock()
	remote.listFails = true
	remote.mu.Unlock()
	if l, err := zr.List(ctx); err != nil || !slices.Equal(ids(l), []az.InstanceID{a.ID, b.ID}) {
		t.Errorf("List with the agent silent = %v, %v; want b as it last answered", ids(l), err)
	}
	remote.mu.Lock()
	remote.listFails = false
	remote.mu.Unlock()

	// A death on the agent's host shows on the merged Exited.
	if err := zr.Kill(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-zr.Exited():
		if id != b.ID {
			t.Errorf("Exited reported %s, want %s", id, b.ID)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the kill on the agent's runtime was not reported on Exited")
	}

	for _, s := range []az.Spec{a, b} {
		if err := zr.Terminate(ctx, s.ID); err != nil {
			t.Errorf("Terminate(%s): %v", s.ID, err)
		}
		if _, err := zr.Stats(ctx, s.ID); !errors.Is(err, az.ErrNotFound) {
			t.Errorf("Stats of terminated %s: %v, want ErrNotFound", s.ID, err)
		}
	}
	if l, _ := zr.List(ctx); len(l) != 0 {
		t.Errorf("List after Terminate = %v", ids(l))
	}
	unknown := az.InstanceID("i-00000000000000000")
	for name, err := range map[string]error{"Stop": zr.Stop(ctx, unknown), "Start": zr.Start(ctx, unknown),
		"Kill": zr.Kill(ctx, unknown), "Terminate": zr.Terminate(ctx, unknown)} {
		if !errors.Is(err, az.ErrNotFound) {
			t.Errorf("%s(unknown) = %v, want ErrNotFound", name, err)
		}
	}

	// Close closes both zones' runtimes: an instance left on each is gone.
	a2, b2 := zonedSpec(t, 1, 62, 18612, data), zonedSpec(t, 2, 62, 18612, agentData)
	for _, s := range []az.Spec{a2, b2} {
		if _, err := zr.Launch(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the second pair serving", 20*time.Second, func() bool { return serving(a2) && serving(b2) })
	if err := zr.Close(); err != nil {
		t.Fatal(err)
	}
	if serving(a2) || serving(b2) {
		t.Error("an instance still serves after Close")
	}
	if err := zr.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestZonedRuntimeInstanceAsksItsZoneOnly: finding one instance (what the
// lab does for each instance on every Auto Scaling tick) asks that
// instance's zone only: a local one no agent, a remote one its own agent
// once, and as List does, a silent agent's instance is as it last answered.
func TestZonedRuntimeInstanceAsksItsZoneOnly(t *testing.T) {
	zr, _, remote, _ := newTestZoned(t)
	t.Cleanup(func() { zr.Close() })
	ctx := context.Background()
	a, b := zonedSpec(t, 1, 63, 18613, t.TempDir()), zonedSpec(t, 2, 63, 18613, t.TempDir())
	for _, s := range []az.Spec{a, b} {
		if _, err := zr.Launch(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	lists := func() int {
		remote.mu.Lock()
		defer remote.mu.Unlock()
		return remote.lists
	}
	before := lists()
	if in, ok, err := zr.Instance(ctx, a.ID); err != nil || !ok || in.ID != a.ID || in.PID == 0 {
		t.Errorf("Instance(a) = %+v, %v, %v; want a, with its pid on this host", in, ok, err)
	}
	if n := lists() - before; n != 0 {
		t.Errorf("finding a local instance listed the agent's zone %d times, want 0", n)
	}
	if in, ok, err := zr.Instance(ctx, b.ID); err != nil || !ok || in.ID != b.ID || in.PID != 0 || in.Zone != b.Zone.Name {
		t.Errorf("Instance(b) = %+v, %v, %v; want b in %s, pid 0 (another host's)", in, ok, err, b.Zone.Name)
	}
	if n := lists() - before; n != 1 {
		t.Errorf("finding the agent's instance listed its zone %d times, want once", n)
	}
	remote.mu.Lock()
	remote.listFails = true
	remote.mu.Unlock()
	if in, ok, err := zr.Instance(ctx, b.ID); err != nil || !ok || in.ID != b.ID {
		t.Errorf("Instance(b) with its agent silent = %+v, %v, %v; want b as it last answered", in, ok, err)
	}
	if _, ok, err := zr.Instance(ctx, "i-00000000000000000"); ok || err != nil {
		t.Errorf("Instance(unknown) = %v, %v; want not found, no error", ok, err)
	}
}

// TestZonedRuntimeCutsAfterTheStops: an az-outage's host cut comes once the
// zone's instances have stopped (their stop goes through the agent) and
// ends before they start again, when the fault is reverted, or when the
// runtime closes.
func TestZonedRuntimeCutsAfterTheStops(t *testing.T) {
	zr, _, remote, notes := newTestZoned(t)
	ctx := context.Background()
	b := zonedSpec(t, 2, 63, 18613, t.TempDir())
	if _, err := zr.Launch(ctx, b); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b serving", 20*time.Second, func() bool { return serving(b) })

	zr.cutAfterStops(1, "us-east-1b", []string{string(b.ID)}, time.Now().Add(time.Minute))
	if !zr.isCut("us-east-1b") {
		t.Fatal("the zone is not being cut")
	}
	if err := zr.Stop(ctx, b.ID); err != nil { // the outage's stop
		t.Fatal(err)
	}
	waitFor(t, "the host cut", 10*time.Second, func() bool { n, _ := remote.counts(); return n == 1 })
	remote.mu.Lock()
	d, running := remote.cuts[0], remote.runningAt[0]
	remote.mu.Unlock()
	if running {
		t.Error("the host was cut while the zone's instance still ran: its stop could not have reached the agent")
	}
	if d <= 50*time.Second || d > time.Minute {
		t.Errorf("cut for %s, want what is left of the outage's minute", d)
	}
	// The revert starts the instance: the link comes back first.
	if err := zr.Start(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if _, restored := remote.counts(); restored != 1 || zr.isCut("us-east-1b") {
		t.Errorf("after Start: %d restore(s), cut %v; want the link back before the start", restored, zr.isCut("us-east-1b"))
	}
	zr.endCut(1, "the az-outage ended") // the fault's own revert: nothing left to do
	if _, restored := remote.counts(); restored != 1 {
		t.Errorf("restored %d times, want once", restored)
	}

	// An outage whose instance is already stopped cuts at once; its revert ends it.
	if err := zr.Stop(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	zr.cutAfterStops(2, "us-east-1b", []string{string(b.ID)}, time.Now().Add(time.Minute))
	waitFor(t, "the second cut", 10*time.Second, func() bool { n, _ := remote.counts(); return n == 2 })
	waitFor(t, "the second cut on record", 10*time.Second, func() bool {
		zr.mu.Lock()
		defer zr.mu.Unlock()
		return zr.cuts["us-east-1b"] != nil && zr.cuts["us-east-1b"].restore != nil
	})
	zr.endCut(99, "another fault") // not this cut's
	if !zr.isCut("us-east-1b") {
		t.Fatal("another fault's revert ended the cut")
	}
	// The group terminates the stopped instance meanwhile: EC2 does at
	// once, the agent hears of it once its link is back, and the revert
	// cannot start it again.
	if err := zr.Terminate(ctx, b.ID); err != nil {
		t.Fatalf("Terminate during the cut: %v", err)
	}
	if l, _ := remote.Runtime.List(ctx); !slices.Equal(ids(l), []az.InstanceID{b.ID}) {
		t.Fatalf("the cut-off agent runs %v; want %s still there (it could not be told)", ids(l), b.ID)
	}
	if l, _ := zr.List(ctx); len(l) != 0 {
		t.Errorf("EC2 still lists %v after the terminate", ids(l))
	}
	if err := zr.Start(ctx, b.ID); !errors.Is(err, az.ErrNotFound) {
		t.Errorf("Start of the terminated instance: %v, want ErrNotFound", err)
	}
	zr.endCut(2, "the az-outage ended")
	if _, restored := remote.counts(); restored != 2 || zr.isCut("us-east-1b") {
		t.Errorf("after the revert: %d restore(s), cut %v", restored, zr.isCut("us-east-1b"))
	}
	if l, _ := remote.Runtime.List(ctx); len(l) != 0 {
		t.Errorf("the agent still runs %v once its link is back", ids(l))
	}

	// memberlist declares the agent dead during a cut: expected, so it is
	// asked again once the link is back; silent then, its zone is lost.
	var lost []string
	zr.onLost = func(zone string) { lost = append(lost, zone) }
	if zr.deadDuringCut("us-east-1b") {
		t.Fatal("a zone not cut off counted as cut")
	}
	for n, silent := range []bool{false, true} {
		zr.cutAfterStops(3+n, "us-east-1b", nil, time.Now().Add(time.Minute))
		waitFor(t, "the cut on record", 10*time.Second, func() bool {
			zr.mu.Lock()
			defer zr.mu.Unlock()
			return zr.cuts["us-east-1b"] != nil && zr.cuts["us-east-1b"].restore != nil
		})
		if !zr.deadDuringCut("us-east-1b") {
			t.Fatal("the cut zone's death was not taken as expected")
		}
		remote.mu.Lock()
		remote.listFails = silent
		remote.mu.Unlock()
		zr.endCut(3+n, "the az-outage ended")
		remote.mu.Lock()
		remote.listFails = false
		remote.mu.Unlock()
		if want := map[bool][]string{false: nil, true: {"us-east-1b"}}[silent]; !slices.Equal(lost, want) {
			t.Errorf("agent silent after the cut %v: zones lost %v, want %v", silent, lost, want)
		}
	}

	// A cut still on when the run closes is ended by Close.
	zr.cutAfterStops(5, "us-east-1b", []string{string(b.ID)}, time.Now().Add(time.Minute))
	waitFor(t, "the last cut", 10*time.Second, func() bool { n, _ := remote.counts(); return n == 5 })
	waitFor(t, "the last cut on record", 10*time.Second, func() bool {
		zr.mu.Lock()
		defer zr.mu.Unlock()
		return zr.cuts["us-east-1b"] != nil && zr.cuts["us-east-1b"].restore != nil
	})
	if err := zr.Close(); err != nil {
		t.Fatal(err)
	}
	if _, restored := remote.counts(); restored != 5 {
		t.Errorf("Close restored %d cut(s) in all, want 5", restored)
	}
	var said []string
	for _, n := range *notes {
		if strings.Contains(n, "cut off the network") || strings.Contains(n, "takes packets again") {
			said = append(said, n)
		}
	}
	if len(said) != 10 {
		t.Errorf("notes on the cuts: %q; want each cut and each restore said", said)
	}
}

// agentStack is two zones, us-east-1b on an agent, one SimplyDone instance each.
func agentStack(t *testing.T, port int) *stack.Stack {
	t.Helper()
	src := fmt.Sprintf(`name: itest
zones:
  - {name: us-east-1a}
  - {name: us-east-1b, agent: "127.0.0.1:7459"}
load_balancer:
  listener: {port: %d}
target_group:
  port: %d
  deregistration_delay: 0
  health_check: {path: /health, interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2}
launch_template:
  command: [%q]
  instance_type: t3.micro
auto_scaling_group: {min_size: 2, max_size: 4, desired_capacity: 2}
`, port, port, simplydone)
	s, err := stack.Parse("itest.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// withStandInAgent connects dialAgent to a stand-in agent for us-east-1b
// (a process runtime of its own, its subnet 127.0.9.0/24), which *standIn
// is set to once dialled, and gives opts the token; standIn nil: no token.
func withStandInAgent(t *testing.T, opts Options, standIn **fakeAgentZone) Options {
	dialAgent = func(ctx context.Context, addr string, token []byte, runID, driver string, _ *agent.JoinSpec) (remoteZone, netip.Prefix, error) {
		if addr != "127.0.0.1:7459" || string(token) != "secret" || driver != DriverProcess {
			return nil, netip.Prefix{}, fmt.Errorf("dialled %s with token %q, driver %s", addr, token, driver)
		}
		rt, err := process.New(process.Options{RunID: runID + ".agent", StateDir: t.TempDir(), LogDir: t.TempDir(), Grace: 2 * time.Second})
		if err != nil {
			return nil, netip.Prefix{}, err
		}
		*standIn = &fakeAgentZone{Runtime: rt}
		return fakeAgentRun{*standIn, t.TempDir()}, netip.MustParsePrefix("127.0.9.0/24"), nil
	}
	if standIn != nil {
		opts.AgentToken = []byte("secret")
	}
	return opts
}

// fakeAgentRun is the run on a stand-in agent: a process runtime of its
// own (its own run id and records, as an agent's host has), running the
// controller's specs under its run.
type fakeAgentRun struct {
	*fakeAgentZone
	dataDir string // the run's directory on the agent's host
}

func (f fakeAgentRun) Launch(ctx context.Context, s az.Spec) (az.Instance, error) {
	s.RunID = ""          // the agent's runtime's own
	s.DataDir = f.dataDir // the agent maps the run's data directory to its own
	return f.fakeAgentZone.Launch(ctx, s)
}

// TestRunWithAZoneOnAnAgent runs a lab whose us-east-1b runs on a stand-in
// agent (a real process runtime behind dialAgent): the zone's instances get
// the agent's subnet while its load balancer node stays on this host's
// loopback, they serve behind the load balancer, and when the zone is lost
// (memberlist's dead callback, zoneLost) the group replaces them in the
// other zone and the run says so. A stack naming an agent is refused,
// before anything starts, when no agent client is built in or no token is
// given.
func TestRunWithAZoneOnAnAgent(t *testing.T) {
	s := agentStack(t, 18614)
	opts := Options{Stack: s, Speed: 20, Seed: 7, RunsDir: t.TempDir(), StateDir: t.TempDir(), Driver: DriverProcess}
	saved := dialAgent
	t.Cleanup(func() { dialAgent = saved })
	dialAgent = nil
	if _, err := Start(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "no agent client built in") {
		t.Fatalf("Start without an agent client: %v", err)
	}
	if _, err := Start(context.Background(), withStandInAgent(t, opts, nil)); err == nil || !strings.Contains(err.Error(), "--agent-token-file") {
		t.Fatalf("Start without a token: %v", err)
	}
	var agent *fakeAgentZone
	l, err := Start(context.Background(), withStandInAgent(t, opts, &agent))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got := l.Zones[1]; got.NodeAddr().String() != "127.0.2.1" || got.Subnet.String() != "127.0.9.0/24" {
		t.Fatalf("zone b: node %s, subnet %s; want its node on 127.0.2.1, its instances in the agent's 127.0.9.0/24", got.NodeAddr(), got.Subnet)
	}
	if err := l.waitReady(context.Background(), 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	var remote Instance
	for _, in := range l.Instances() {
		if in.Zone == "us-east-1b" {
			remote = in
		}
	}
	if !netip.MustParsePrefix("127.0.9.0/24").Contains(remote.Addr.Addr()) {
		t.Fatalf("zone b's instance %+v is not in the agent's subnet", remote)
	}
	if l, _ := agent.Runtime.List(context.Background()); !slices.Equal(ids(l), []az.InstanceID{remote.ID}) {
		t.Fatalf("the agent runs %v, want only %s", ids(l), remote.ID)
	}
	waitFor(t, "zone b's instance healthy on every node", 20*time.Second, func() bool { return everyNodeSees(l.LB, remote.ID, alb.StateHealthy) })

	l.zoneLost("us-east-1b")
	waitFor(t, "two instances in service in us-east-1a, healthy", 60*time.Second, func() bool {
		now := l.Instances()
		if len(now) != 2 {
			return false
		}
		for _, in := range now {
			if in.Zone != "us-east-1a" || in.State != "InService" || !everyNodeSees(l.LB, in.ID, alb.StateHealthy) {
				return false
			}
		}
		return true
	})
	if err := l.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if list, err := agent.Runtime.List(context.Background()); err == nil && len(list) != 0 {
		t.Errorf("the agent still runs %v after Close", ids(list))
	}
	journal, err := os.ReadFile(filepath.Join(l.Dir, "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Zone us-east-1b: its instances run on the host of agent 127.0.0.1:7459 (subnet 127.0.9.0/24)",
		"Zone us-east-1b is lost: memberlist declared its agent 127.0.0.1:7459 dead", "EC2 health check indicating it has been terminated or stopped"} {
		if !strings.Contains(string(journal), want) {
			t.Errorf("journal lacks %q", want)
		}
	}
}

// TestAZOutageCutsTheAgentsHost: an az-outage on a zone whose instances
// run on an agent cuts the agent's host off once the zone's instance has
// stopped; the group replaces it in the other zone meanwhile (EC2
// terminates it at once; the agent hears of it when its link is back), and
// the revert gives the host its link back.
func TestAZOutageCutsTheAgentsHost(t *testing.T) {
	saved := dialAgent
	t.Cleanup(func() { dialAgent = saved })
	var agent *fakeAgentZone
	opts := Options{Stack: agentStack(t, 18615), Speed: 20, Seed: 7, RunsDir: t.TempDir(), StateDir: t.TempDir(), Driver: DriverProcess}
	l, err := Start(context.Background(), withStandInAgent(t, opts, &agent))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.waitReady(context.Background(), 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	var victim Instance
	for _, in := range l.Instances() {
		if in.Zone == "us-east-1b" {
			victim = in
		}
	}
	journal, err := chaos.OpenFileJournal(filepath.Join(l.Dir, rundir.ChaosFile))
	if err != nil {
		t.Fatal(err)
	}
	defer journal.Close()
	r := l.NewChaosRunner(&scenarios.Scenario{}, 11, journal)
	ctx := context.Background()
	if err := r.Inject(ctx, chaos.Action{Kind: chaos.AZOutage, Zone: "us-east-1b", Duration: time.Hour}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the agent's host cut off", 20*time.Second, func() bool { n, _ := agent.counts(); return n == 1 })
	agent.mu.Lock()
	d, running := agent.cuts[0], agent.runningAt[0]
	agent.mu.Unlock()
	if running {
		t.Error("the host was cut while the zone's instance still ran")
	}
	if want := l.Clock.Wall(time.Hour); d > want || d < want-10*time.Second {
		t.Errorf("cut for %s, want about the outage's hour in wall time (%s)", d, want)
	}
	waitFor(t, "a replacement in service in us-east-1a", 60*time.Second, func() bool {
		now := l.Instances()
		if len(now) != 2 {
			return false
		}
		for _, in := range now {
			if in.Zone != "us-east-1a" || in.State != "InService" || !everyNodeSees(l.LB, in.ID, alb.StateHealthy) {
				return false
			}
		}
		return true
	})
	if list, _ := agent.Runtime.List(ctx); !slices.Equal(ids(list), []az.InstanceID{victim.ID}) {
		t.Fatalf("the cut-off agent runs %v; want the stopped %s, which it could not be told to end", ids(list), victim.ID)
	}
	r.RevertAll(ctx, "the test ended")
	// The revert found its instance replaced (nothing to start), so the
	// link comes back on the revert's event, delivered by the bus.
	waitFor(t, "the host's link back after the revert", 10*time.Second, func() bool { _, n := agent.counts(); return n == 1 })
	// The link is restored first, then the agent is told to end what EC2
	// terminated during the cut: wait for that, with a deadline.
	waitFor(t, "the agent ends "+string(victim.ID)+", terminated during the cut, once its link is back", 10*time.Second, func() bool {
		list, _ := agent.Runtime.List(ctx)
		return !slices.Contains(ids(list), victim.ID)
	})
	if err := l.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	events, err := os.ReadFile(filepath.Join(l.Dir, "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Zone us-east-1b's host (agent 127.0.0.1:7459) is cut off the network",
		"Zone us-east-1b's host (agent 127.0.0.1:7459) takes packets again (the az-outage ended)", "already replaced by the group"} {
		if !strings.Contains(string(events), want) {
			t.Errorf("journal lacks %q", want)
		}
	}
}
