package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/events"
)

// fakeFleet records what chaos did, in order, with the events around it.
type fakeFleet struct {
	mu      sync.Mutex
	running map[string]string // id -> zone
	stopped map[string]string
	log     []string
}

func newFleet() *fakeFleet {
	return &fakeFleet{running: map[string]string{"i-a1": "a", "i-a2": "a", "i-b1": "b", "i-c1": "c"}, stopped: map[string]string{}}
}

func (f *fakeFleet) note(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, s)
}

func (f *fakeFleet) Running() []Victim {
	f.mu.Lock()
	defer f.mu.Unlock()
	var vs []Victim
	for id, z := range f.running {
		vs = append(vs, Victim{ID: id, Zone: z})
	}
	return vs
}

func (f *fakeFleet) Kill(_ context.Context, id string) error {
	f.note("kill " + id)
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.running, id)
	return nil
}

func (f *fakeFleet) Stop(_ context.Context, id string) error {
	f.note("stop " + id)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped[id] = f.running[id]
	delete(f.running, id)
	return nil
}

func (f *fakeFleet) Start(_ context.Context, id string) error {
	f.note("start " + id)
	f.mu.Lock()
	defer f.mu.Unlock()
	z, ok := f.stopped[id]
	if !ok {
		return fmt.Errorf("%s is not stopped", id)
	}
	f.running[id] = z
	delete(f.stopped, id)
	return nil
}

// pub writes each event into the fleet's log, so order is checked.
type pub struct{ f *fakeFleet }

func (p pub) Publish(e events.Event) { p.f.note(e.Kind() + ": " + e.Message()) }

func (f *fakeFleet) lines() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

func TestKillIsJournalledBeforeItActsAndSeeded(t *testing.T) {
	pickWith := func(seed uint64) []string {
		f := newFleet()
		r := NewRunner(nil, clock.NewFake(time.Unix(0, 0)), f, pub{f}, nil, seed)
		if err := r.Inject(context.Background(), Action{Kind: KillInstance}); err != nil {
			t.Fatal(err)
		}
		return f.lines()
	}
	a, b := pickWith(42), pickWith(42)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("same seed, different runs:\n%v\n%v", a, b)
	}
	if len(a) != 3 || a[0][:6] != "chaos:" || a[1][:5] != "kill " {
		t.Fatalf("want the event before the kill, then the note: %v", a)
	}
}

func TestKillInNamedZone(t *testing.T) {
	f := newFleet()
	r := NewRunner(nil, clock.NewFake(time.Unix(0, 0)), f, pub{f}, nil, 1)
	if err := r.Inject(context.Background(), Action{Kind: KillInstance, Zone: "b"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.running["i-b1"]; ok {
		t.Fatal("the only instance in zone b survived")
	}
	if err := r.Inject(context.Background(), Action{Kind: KillInstance, Zone: "b"}); err == nil {
		t.Fatal("a kill in an empty zone succeeded")
	}
}

func TestStopIsRevertedWhenItsDurationEnds(t *testing.T) {
	f := newFleet()
	c := clock.NewFake(time.Unix(0, 0))
	r := NewRunner([]Action{{At: 30 * time.Second, Kind: StopInstance, Zone: "c", Duration: 3 * time.Minute}}, c, f, pub{f}, nil, 1)
	done := make(chan struct{})
	go func() { r.Run(context.Background()); close(done) }()
	waitFor(t, func() bool { return c.Waiters() == 1 })
	c.Advance(30 * time.Second)
	waitFor(t, func() bool { return !stillRunning(f, "i-c1") })
	<-done
	c.Advance(3 * time.Minute)
	waitFor(t, func() bool { return stillRunning(f, "i-c1") })
	if inj, rev := r.Counts(); inj != 1 || rev != 1 {
		t.Fatalf("injected %d reverted %d", inj, rev)
	}
}

func TestRevertAllUndoesWhatIsStillInEffect(t *testing.T) {
	f := newFleet()
	r := NewRunner(nil, clock.NewFake(time.Unix(0, 0)), f, pub{f}, nil, 1)
	if err := r.Inject(context.Background(), Action{Kind: StopInstance, Duration: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if len(f.Running()) != 3 {
		t.Fatal("stop did not stop")
	}
	r.RevertAll(context.Background(), "the run was interrupted")
	r.RevertAll(context.Background(), "again")
	if len(f.Running()) != 4 {
		t.Fatal("RevertAll left an instance stopped")
	}
	if inj, rev := r.Counts(); inj != 1 || rev != 1 {
		t.Fatalf("injected %d reverted %d", inj, rev)
	}
}

func stillRunning(f *fakeFleet, id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.running[id]
	return ok
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(time.Millisecond)
	}
}

// journalCheck is a fleet whose Kill checks that the journal already holds
// the fault.
type journalCheck struct {
	*fakeFleet
	t    *testing.T
	path string
}

func (j journalCheck) Kill(ctx context.Context, id string) error {
	b, err := os.ReadFile(j.path)
	if err != nil || !strings.Contains(string(b), `"instance":"`+id+`"`) {
		j.t.Errorf("kill of %s before the journal had it: %q %v", id, b, err)
	}
	return j.fakeFleet.Kill(ctx, id)
}

func TestFaultIsOnRecordBeforeItActs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chaos.jsonl")
	j, err := OpenFileJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	f := newFleet()
	r := NewRunner(nil, clock.NewFake(time.Unix(0, 0)), journalCheck{f, t, path}, pub{f}, j, 3)
	if err := r.Inject(context.Background(), Action{Kind: KillInstance}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if n := strings.Count(string(b), "\n"); n != 3 || !strings.HasPrefix(string(b), `{"type":"chaos.JournalOpened"`) {
		t.Fatalf("journal has %d lines, want its owner, the injection and its revert:\n%s", n, b)
	}
}

type brokenJournal struct{}

func (brokenJournal) Record(any) error { return errors.New("disk full") }

func TestNoJournalNoFault(t *testing.T) {
	f := newFleet()
	r := NewRunner(nil, clock.NewFake(time.Unix(0, 0)), f, pub{f}, brokenJournal{}, 3)
	if err := r.Inject(context.Background(), Action{Kind: KillInstance}); err == nil {
		t.Fatal("a fault acted without being on record")
	}
	if len(f.Running()) != 4 {
		t.Fatal("an instance was killed anyway")
	}
}

// gatedFleet's Start waits for its gate: a host slow to answer.
type gatedFleet struct {
	*fakeFleet
	entered chan struct{} // closed when a Start begins
	gate    chan struct{}
	once    sync.Once
}

func (g *gatedFleet) Start(ctx context.Context, id string) error {
	g.once.Do(func() { close(g.entered) })
	<-g.gate
	return g.fakeFleet.Start(ctx, id)
}

// A fault whose duration ends just before the run's end is being
// reverted by its timer, slowly: RevertAll waits for that revert to be on
// record, so that the counts read after it include it (they said 0
// reverted when a zone's host was slow to answer the revert).
func TestRevertAllWaitsForARevertUnderWay(t *testing.T) {
	g := &gatedFleet{fakeFleet: newFleet(), entered: make(chan struct{}), gate: make(chan struct{})}
	c := clock.NewFake(time.Unix(0, 0))
	r := NewRunner(nil, c, g, pub{g.fakeFleet}, nil, 1)
	if err := r.Inject(context.Background(), Action{Kind: StopInstance, Duration: time.Minute}); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Minute) // its timer starts the revert, which waits on the host
	<-g.entered
	done := make(chan struct{})
	go func() { r.RevertAll(context.Background(), "the run ended"); close(done) }()
	select {
	case <-done:
		t.Fatal("RevertAll returned while a revert was under way")
	case <-time.After(100 * time.Millisecond): // a negative check: it must not return yet
	}
	close(g.gate)
	<-done
	if inj, rev := r.Counts(); inj != 1 || rev != 1 {
		t.Fatalf("injected %d reverted %d, want 1 and 1", inj, rev)
	}
}
