package az

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"
)

// fakeInstance is a runtime's instance as the fake driver keeps it.
type fakeInstance struct {
	Record
	booted, halted, removed, killed int
}

// fakeDriver boots, halts and signals nothing; it fails or leaves an
// instance pending when told to.
type fakeDriver struct {
	t        *Table[*fakeInstance]
	failBoot error
	pending  bool // Boot says the instance is already gone again
}

func (d *fakeDriver) New() *fakeInstance { return &fakeInstance{} }
func (d *fakeDriver) Check(s *Spec) error {
	if len(s.Command) == 0 {
		return errors.New("spec has no command")
	}
	return nil
}
func (d *fakeDriver) Create(context.Context, *fakeInstance) error { return nil }
func (d *fakeDriver) Boot(_ context.Context, e *fakeInstance) (Boot, error) {
	if d.failBoot != nil {
		return Boot{}, d.failBoot
	}
	d.t.Lock()
	e.booted++
	d.t.Unlock()
	return Boot{Started: time.Unix(1, 0), Running: !d.pending}, nil
}
func (d *fakeDriver) Halt(_ context.Context, e *fakeInstance) error {
	d.t.Lock()
	e.halted++
	d.t.Unlock()
	return nil
}
func (d *fakeDriver) Remove(_ context.Context, e *fakeInstance) error {
	d.t.Lock()
	e.removed++
	d.t.Unlock()
	return nil
}
func (d *fakeDriver) Signal(_ context.Context, e *fakeInstance, op Op) error {
	if op == OpKill {
		d.t.Lock()
		e.killed++
		d.t.Unlock()
	}
	return nil
}

func newFakeTable() (*Table[*fakeInstance], *fakeDriver) {
	d := &fakeDriver{}
	d.t = NewTable[*fakeInstance]("run-1", d, slog.New(slog.NewTextHandler(io.Discard, nil)))
	return d.t, d
}

func fakeSpec(id InstanceID) Spec {
	return Spec{ID: id, Addr: netip.MustParseAddr("127.0.1.10"), Port: 8080, Command: []string{"app"}}
}

func stateIn(t *testing.T, tb *Table[*fakeInstance], id InstanceID) State {
	t.Helper()
	list, _ := tb.List(context.Background())
	for _, in := range list {
		if in.ID == id {
			return in.State
		}
	}
	return StateTerminated
}

var bg = context.Background()

func TestTableLaunchChecksAndRecords(t *testing.T) {
	tb, d := newFakeTable()
	in, err := tb.Launch(bg, fakeSpec("i-2"))
	if err != nil || in.State != StateRunning || in.RunID != "run-1" || !in.Started.Equal(time.Unix(1, 0)) {
		t.Fatalf("Launch = %+v, %v", in, err)
	}
	if _, err := tb.Launch(bg, fakeSpec("i-2")); err == nil {
		t.Error("the same id launched twice")
	}
	for name, s := range map[string]Spec{
		"no id":        {Addr: netip.MustParseAddr("127.0.1.11"), Port: 1, Command: []string{"app"}},
		"not loopback": {ID: "i-3", Addr: netip.MustParseAddr("192.0.2.1"), Port: 1, Command: []string{"app"}},
		"bad port":     {ID: "i-3", Addr: netip.MustParseAddr("127.0.1.11"), Command: []string{"app"}},
		"other run":    {ID: "i-3", Addr: netip.MustParseAddr("127.0.1.11"), Port: 1, Command: []string{"app"}, RunID: "run-2"},
		"driver's own": {ID: "i-3", Addr: netip.MustParseAddr("127.0.1.11"), Port: 1},
	} {
		if _, err := tb.Launch(bg, s); err == nil {
			t.Errorf("%s: launched", name)
		}
	}
	d.failBoot = errors.New("no such program")
	if _, err := tb.Launch(bg, fakeSpec("i-4")); err == nil {
		t.Error("a launch whose boot failed succeeded")
	}
	if list, _ := tb.List(bg); len(list) != 1 || list[0].ID != "i-2" {
		t.Errorf("List = %+v; want only i-2: a failed launch leaves nothing", list)
	}
}

// An agent's zone (issue 20) has its subnet link-local on the agent's
// host: such an address is launched on; one neither loopback nor
// link-local is not (TestTableLaunchChecksAndRecords).
func TestTableLaunchesOnALinkLocalAddress(t *testing.T) {
	tb, _ := newFakeTable()
	s := fakeSpec("i-1")
	s.Addr = netip.MustParseAddr("169.254.1.10")
	if in, err := tb.Launch(bg, s); err != nil || in.Addr != s.Addr {
		t.Fatalf("Launch on %s = %+v, %v", s.Addr, in, err)
	}
}

// A failed start of a stopped instance leaves it stopped, as EC2 does.
func TestTableFailedStartLeavesStopped(t *testing.T) {
	tb, d := newFakeTable()
	if _, err := tb.Launch(bg, fakeSpec("i-1")); err != nil {
		t.Fatal(err)
	}
	if err := tb.Stop(bg, "i-1"); err != nil {
		t.Fatal(err)
	}
	d.failBoot = errors.New("boom")
	if err := tb.Start(bg, "i-1"); err == nil {
		t.Fatal("Start succeeded")
	}
	if st := stateIn(t, tb, "i-1"); st != StateStopped {
		t.Fatalf("after a failed start: %s, want stopped", st)
	}
	d.failBoot = nil
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if err := tb.Start(ctx, "i-1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Start with a canceled context = %v", err)
	}
	if st := stateIn(t, tb, "i-1"); st != StateStopped {
		t.Fatalf("after a canceled start: %s, want stopped", st)
	}
	if err := tb.Start(bg, "i-1"); err != nil || stateIn(t, tb, "i-1") != StateRunning {
		t.Fatalf("Start = %v; state %s", err, stateIn(t, tb, "i-1"))
	}
}

// Kill takes a pending instance (a crash while it boots), and its death
// stops it; a stopped one cannot be killed.
func TestTableKillPendingThenExit(t *testing.T) {
	tb, d := newFakeTable()
	d.pending = true
	in, err := tb.Launch(bg, fakeSpec("i-1"))
	if err != nil || in.State != StatePending {
		t.Fatalf("Launch = %+v, %v; want pending", in, err)
	}
	if err := tb.Kill(bg, "i-1"); err != nil {
		t.Fatalf("Kill of a pending instance: %v", err)
	}
	tb.Lock()
	e, _ := tb.Lookup("i-1")
	news := e.Exit()
	again := e.Exit()
	tb.Unlock()
	if !news || again {
		t.Fatalf("Exit = %v, then %v; want news once", news, again)
	}
	tb.Report("i-1")
	if id := <-tb.Exited(); id != "i-1" {
		t.Fatalf("Exited reported %s", id)
	}
	if st := stateIn(t, tb, "i-1"); st != StateStopped {
		t.Fatalf("after the death: %s", st)
	}
	if err := tb.Kill(bg, "i-1"); !errors.Is(err, ErrIncorrectInstanceState) || err.Error() != "kill instance i-1: it is stopped, not running" {
		t.Errorf("Kill of a stopped instance = %v", err)
	}
}

func TestTablePauseResumeTerminateShut(t *testing.T) {
	tb, _ := newFakeTable()
	for _, id := range []InstanceID{"i-b", "i-a"} {
		if _, err := tb.Launch(bg, fakeSpec(id)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tb.Resume(bg, "i-a"); err != nil {
		t.Errorf("Resume of a running instance: %v", err)
	}
	if err := tb.Pause(bg, "i-a"); err != nil || stateIn(t, tb, "i-a") != StatePaused {
		t.Fatalf("Pause = %v, %s", err, stateIn(t, tb, "i-a"))
	}
	if err := tb.Pause(bg, "i-a"); err != nil {
		t.Errorf("second Pause: %v", err)
	}
	if list, _ := tb.List(bg); len(list) != 2 || list[0].ID != "i-a" {
		t.Errorf("List not sorted by id: %+v", list)
	}
	if err := tb.Terminate(bg, "i-a"); err != nil {
		t.Fatal(err)
	}
	if err := tb.Terminate(bg, "i-a"); err != nil {
		t.Errorf("second Terminate: %v", err)
	}
	for name, err := range map[string]error{"Stop": tb.Stop(bg, "i-a"), "Resume": tb.Resume(bg, "i-a"), "Kill": tb.Kill(bg, "i-x")} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s of a terminated or unknown instance = %v", name, err)
		}
	}
	if err := tb.Shut(bg); err != nil {
		t.Fatal(err)
	}
	if list, _ := tb.List(bg); len(list) != 0 {
		t.Errorf("after Shut: %+v", list)
	}
	if _, err := tb.Launch(bg, fakeSpec("i-c")); err == nil {
		t.Error("Launch after Shut succeeded")
	}
	tb.Report("i-c") // does not block once shut
}

// TestReportDoesNotBlockWithoutAReader: the lab reads no Exited, so a long
// run with many deaths must not leave their wait goroutines blocked.
func TestReportDoesNotBlockWithoutAReader(t *testing.T) {
	tb, _ := newFakeTable()
	tb.log = slog.New(slog.DiscardHandler)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 3*cap(tb.exited); i++ {
			tb.Report(InstanceID(fmt.Sprintf("i-%d", i)))
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Report blocked with Exited's buffer full and no reader")
	}
	if id := <-tb.Exited(); id != "i-0" {
		t.Errorf("first reported %s, want i-0 (the buffer keeps the first deaths)", id)
	}
}
