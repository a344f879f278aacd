package agent

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/az/aztest"
	"github.com/simplydone/lab/sim/az/process"
)

// fakeCutter records cuts and restores.
type fakeCutter struct {
	mu     sync.Mutex
	events []string
}

func (f *fakeCutter) Cut(context.Context) (func() error, error) {
	f.add("cut")
	return func() error { f.add("restore"); return nil }, nil
}

func (f *fakeCutter) add(e string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, e)
}

func (f *fakeCutter) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := ""
	for _, e := range f.events {
		s += e + " "
	}
	return s
}

// spy is the real process runtime, counting what the dead-man does to it.
type spy struct {
	*process.Runtime
	hogsStopped atomic.Int64
	closed      atomic.Bool
}

func (s *spy) Hog(ctx context.Context, id az.InstanceID) (func() error, error) {
	stop, err := s.Runtime.Hog(ctx, id)
	if err != nil {
		return nil, err
	}
	var once sync.Once
	return func() error {
		once.Do(func() { s.hogsStopped.Add(1) })
		return stop()
	}, nil
}

func (s *spy) Close() error {
	s.closed.Store(true)
	return s.Runtime.Close()
}

// deadmanLab is an agent on a fake clock, with a fake cutter and spied
// process runtimes.
type deadmanLab struct {
	clk    *clock.Fake
	cutter *fakeCutter
	lease  time.Duration
	s      *Server
	addr   string
	tok    []byte
	log    *logBuf
	spies  chan *spy
}

func newDeadmanLab(t *testing.T, opts ...func(*Config)) *deadmanLab {
	t.Helper()
	l := &deadmanLab{clk: clock.NewFake(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)), cutter: &fakeCutter{},
		lease: 15 * time.Second, tok: token(t), log: &logBuf{}, spies: make(chan *spy, 4)}
	cfg := Config{Token: l.tok, Lease: l.lease, Clock: l.clk, Cut: l.cutter, Logger: l.log.logger(),
		NewRuntime: func(ctx context.Context, runID, driver, dir string) (az.Runtime, error) {
			rt, err := processFactory(ctx, runID, driver, dir)
			if err != nil {
				return nil, err
			}
			s := &spy{Runtime: rt.(*process.Runtime)}
			l.spies <- s
			return s, nil
		}}
	for _, o := range opts {
		o(&cfg)
	}
	l.s, l.addr = serve(t, cfg)
	return l
}

func (l *deadmanLab) open(t *testing.T) (*Remote, *spy) {
	t.Helper()
	r, err := DialRun(context.Background(), l.addr, l.tok, newRunID(), "process")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, <-l.spies
}

// advance moves the fake clock by d in steps of a tenth of a lease (the
// watch's tick), waiting after each for the watch to have taken it.
func (l *deadmanLab) advance(d time.Duration) {
	step := l.lease / 10
	for moved := time.Duration(0); moved < d; moved += step {
		l.clk.Advance(min(step, d-moved))
		l.s.settle()
	}
}

func stateOf(t *testing.T, r az.Runtime, id az.InstanceID) az.State { return aztest.StateOf(t, r, id) }

// With no renewal for a lease, the agent reverts the run's pause and hog
// itself and keeps the instances; the renewal after says what it
// reverted; silent for 10 leases, the run ends.
func TestDeadManRevertsFaultsAfterALeaseAndEndsTheRunAfterTen(t *testing.T) {
	l := newDeadmanLab(t)
	r, sp := l.open(t)
	ctx := context.Background()
	a, b := spec(t, "127.0.1.80"), spec(t, "127.0.1.81")
	for _, s := range []az.Spec{a, b} {
		if _, err := r.Launch(ctx, s); err != nil {
			t.Fatal(err)
		}
		aztest.WaitServing(t, s, 30*time.Second)
	}
	if err := r.Pause(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Hog(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	r.stopRenewing() // the controller dies

	l.advance(l.lease - l.lease/10)
	if got := stateOf(t, r, a.ID); got != az.StatePaused || sp.hogsStopped.Load() != 0 {
		t.Fatalf("before a lease passed: %s is %s, %d hog(s) stopped; want paused, none", a.ID, got, sp.hogsStopped.Load())
	}
	l.advance(l.lease / 10)
	if got := stateOf(t, r, a.ID); got != az.StateRunning {
		t.Fatalf("a lease without renewal: %s is %s, want running (resumed by the dead-man)", a.ID, got)
	}
	if n := sp.hogsStopped.Load(); n != 1 {
		t.Fatalf("a lease without renewal: %d hog(s) stopped, want 1", n)
	}
	aztest.WaitServing(t, a, 10*time.Second)
	aztest.WaitServing(t, b, 10*time.Second) // instances kept
	if !contains(l.log.String(), "dead-man switch: no lease renewal") {
		t.Errorf("the agent did not say why it reverted; log:\n%s", l.log)
	}
	var out leaseResponse
	if err := r.c.do(ctx, "POST", r.path("/lease"), nil, &out); err != nil || len(out.Reverted) != 2 {
		t.Fatalf("the renewal after: %+v, %v; want the two faults reverted", out, err)
	}

	l.advance(endAfter*l.lease - l.lease/10)
	if sp.closed.Load() {
		t.Fatal("the run ended before 10 leases of silence")
	}
	l.advance(l.lease / 10)
	if !sp.closed.Load() || l.s.Info().Run != "" {
		t.Fatalf("10 leases of silence: runtime closed %v, open run %q; want the run ended", sp.closed.Load(), l.s.Info().Run)
	}
	if _, err := aztest.Get(aztest.URL(a), 500*time.Millisecond); err == nil {
		t.Error("an instance of the ended run still answers")
	}
	if _, err := r.List(ctx); !errors.Is(err, ErrRunNotOpen) {
		t.Errorf("List of the ended run: %v, want ErrRunNotOpen", err)
	}
}

// A cut ends at its own time, kept by the agent; while it lasts the
// lease waits (the controller cannot renew through it).
func TestCutEndsByItsOwnTimerAndHoldsTheLease(t *testing.T) {
	l := newDeadmanLab(t)
	r, sp := l.open(t)
	ctx := context.Background()
	a := spec(t, "127.0.1.82")
	if _, err := r.Launch(ctx, a); err != nil {
		t.Fatal(err)
	}
	aztest.WaitServing(t, a, 30*time.Second)
	if err := r.Pause(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Cut(ctx, 4*l.lease); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the cutter cuts", func() bool { return l.cutter.String() == "cut " })
	if _, err := r.Cut(ctx, l.lease); err == nil || !contains(err.Error(), "already cut") {
		t.Errorf("a second cut: %v", err)
	}
	r.stopRenewing()

	l.advance(4*l.lease - l.lease/10)
	if got := l.cutter.String(); got != "cut " {
		t.Fatalf("before the cut's time: cutter saw %q", got)
	}
	if got := stateOf(t, r, a.ID); got != az.StatePaused {
		t.Fatalf("the cut held the lease, yet %s is %s", a.ID, got)
	}
	l.advance(l.lease / 10)
	if got := l.cutter.String(); got != "cut restore " {
		t.Fatalf("at the cut's time: cutter saw %q, want it restored", got)
	}
	l.advance(l.lease - l.lease/5) // the lease counts from the cut's end
	if got := stateOf(t, r, a.ID); got != az.StatePaused {
		t.Fatalf("less than a lease after the cut, %s is %s", a.ID, got)
	}
	l.advance(l.lease / 5)
	if got := stateOf(t, r, a.ID); got != az.StateRunning {
		t.Fatalf("a lease after the cut, %s is %s, want resumed", a.ID, got)
	}
	_ = sp
}

// An early restore reaches the agent; the agent's Close restores a cut
// and terminates the instances.
func TestRestoreEarlyAndCloseRevertsEverything(t *testing.T) {
	l := newDeadmanLab(t)
	r, sp := l.open(t)
	ctx := context.Background()
	restore, err := r.Cut(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the cutter cuts", func() bool { return l.cutter.String() == "cut " })
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	if got := l.cutter.String(); got != "cut restore " {
		t.Fatalf("after an early restore: %q", got)
	}
	if _, err := r.Cut(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	a := spec(t, "127.0.1.83")
	if _, err := r.Launch(ctx, a); err != nil {
		t.Fatal(err)
	}
	aztest.WaitServing(t, a, 30*time.Second)
	eventually(t, 5*time.Second, "the cutter cuts again", func() bool { return l.cutter.String() == "cut restore cut " })
	if err := l.s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := l.cutter.String(); got != "cut restore cut restore " {
		t.Errorf("after the agent's Close: %q, want the cut restored", got)
	}
	if !sp.closed.Load() {
		t.Error("the agent's Close left the run's runtime open")
	}
	if _, err := aztest.Get(aztest.URL(a), 500*time.Millisecond); err == nil {
		t.Error("an instance still answers after the agent's Close")
	}
}

// A new Open finds the open run's controller silent for a lease and
// reaps the run first; while the controller renews, it is refused.
func TestOpenReapsADeadRun(t *testing.T) {
	l := newDeadmanLab(t)
	old, sp := l.open(t)
	ctx := context.Background()
	a := spec(t, "127.0.1.84")
	if _, err := old.Launch(ctx, a); err != nil {
		t.Fatal(err)
	}
	aztest.WaitServing(t, a, 30*time.Second)
	c, err := Dial(ctx, l.addr, l.tok)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Open(ctx, newRunID(), "process"); !errors.Is(err, ErrBusy) {
		t.Fatalf("Open while the run's controller renews: %v, want ErrBusy", err)
	}
	old.stopRenewing()
	l.advance(l.lease)
	fresh, err := c.Open(ctx, newRunID(), "process")
	if err != nil {
		t.Fatalf("Open after the run's controller went silent: %v", err)
	}
	defer fresh.Close()
	<-l.spies
	if !sp.closed.Load() || l.s.Info().Run != fresh.RunID() {
		t.Fatalf("the dead run's runtime closed %v, open run %q; want it reaped and %s open", sp.closed.Load(), l.s.Info().Run, fresh.RunID())
	}
	if _, err := aztest.Get(aztest.URL(a), 500*time.Millisecond); err == nil {
		t.Error("the reaped run's instance still answers")
	}
}

// settle waits until the open run's watch has looked at the lease at the
// fake clock's present time (or, the run ended, finished ending it).
func (s *Server) settle() {
	s.mu.Lock()
	r := s.run
	s.mu.Unlock()
	if r == nil {
		return
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		ok := !r.checkedAt.Before(s.clk.Now())
		r.mu.Unlock()
		if ok {
			return
		}
		time.Sleep(time.Millisecond)
	}
	panic("the dead-man's watch did not look at the lease within 10 s")
}
