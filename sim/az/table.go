package az

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// Record is the table's part of one instance. A runtime's own instance type
// embeds it and adds what only that runtime keeps (a process, a container).
type Record struct {
	op sync.Mutex // serialises lifecycle operations on the instance; held across waits

	// Spec is the spec the instance was launched with, its RunID filled
	// in. It does not change after Launch.
	Spec Spec

	state   State
	started time.Time
}

func (r *Record) record() *Record { return r }

// State is the instance's state. The caller holds the table's lock.
func (r *Record) State() State { return r.state }

// Started is when the instance last booted. The caller holds the table's lock.
func (r *Record) Started() time.Time { return r.started }

// Exit records that the instance died on its own (OpExit) and says whether
// that is news: true when it was running, paused or pending and is now
// stopped, to be reported on Exited. The caller holds the table's lock.
func (r *Record) Exit() bool { return r.apply(OpExit) }

// apply moves the instance as op says, if op still applies to its state
// now; the caller holds the table's lock.
func (r *Record) apply(op Op) bool {
	to, act, err := Transition(r.state, op)
	if err != nil || !act {
		return false
	}
	r.state = to
	return true
}

// Entry is a runtime's instance type: a pointer to a struct that embeds Record.
type Entry interface{ record() *Record }

// Boot is what a driver says about an instance it booted.
type Boot struct {
	Started time.Time // when it started, as the runtime saw it
	// Running is false when the instance is already gone again: it stays
	// pending until the runtime reports its death (OpExit).
	Running bool
	Log     []any // extra attributes for the "launched instance" log line
}

// Driver is what a runtime does to its instances; the Table does the rest.
// The table calls each method with the instance's operation lock held and
// its own lock not held; a driver guards its own fields of an instance with
// Table.Lock.
type Driver[E Entry] interface {
	// New returns an empty instance; the table fills in its Record.
	New() E
	// Check validates a spec beyond what every runtime checks (an id, a
	// loopback address, a port, the run).
	Check(s *Spec) error
	// Create makes what the instance needs before its first boot; on error
	// it leaves nothing behind.
	Create(ctx context.Context, e E) error
	// Boot starts the instance: after Create, and again after a stop.
	Boot(ctx context.Context, e E) (Boot, error)
	// Halt ends the instance's run as asked for (SIGTERM, the grace period,
	// SIGKILL); its death is not reported on Exited.
	Halt(ctx context.Context, e E) error
	// Remove frees what a halted instance holds, for good: after Terminate,
	// or after a launch whose boot failed.
	Remove(ctx context.Context, e E) error
	// Signal delivers OpKill, OpPause or OpResume to a booted instance.
	Signal(ctx context.Context, e E, op Op) error
}

// Table is a runtime's instance registry: the instances by id, the lock
// that guards them, the EC2 state changes (Transition) and the Exited
// reports. Each runtime holds one and supplies a Driver. Every method is
// safe for concurrent use.
type Table[E Entry] struct {
	d     Driver[E]
	runID string
	log   *slog.Logger

	exited  chan InstanceID
	closing chan struct{} // closed when Shut starts

	mu        sync.Mutex
	instances map[InstanceID]E
	closed    bool
}

// NewTable returns an empty table for the run's instances, driven by d.
func NewTable[E Entry](runID string, d Driver[E], log *slog.Logger) *Table[E] {
	return &Table[E]{d: d, runID: runID, log: log, exited: make(chan InstanceID, 64),
		closing: make(chan struct{}), instances: map[InstanceID]E{}}
}

// Lock takes the table's lock, which guards every instance's fields: the
// Record's and the runtime's own.
func (t *Table[E]) Lock() { t.mu.Lock() }

// Unlock releases the table's lock.
func (t *Table[E]) Unlock() { t.mu.Unlock() }

// Lookup returns the instance; one unknown or terminated is an error
// wrapping ErrNotFound. The caller holds the table's lock.
func (t *Table[E]) Lookup(id InstanceID) (E, error) {
	e, ok := t.instances[id]
	switch {
	case !ok:
		return e, fmt.Errorf("instance %s: %w", id, ErrNotFound)
	case e.record().state == StateTerminated:
		return e, fmt.Errorf("instance %s is terminated: %w", id, ErrNotFound)
	}
	return e, nil
}

// Exited reports instances that died on their own, as they die.
func (t *Table[E]) Exited() <-chan InstanceID { return t.exited }

// Report sends id on Exited, unless the table is shutting down or
// Exited's buffer is full: a reader that falls behind (or none, as in the
// lab, whose group learns of deaths through EC2's status checks) misses
// deaths instead of leaving the dead instance's wait goroutine blocked
// until Close. Call it after Exit said true, without the table's lock.
func (t *Table[E]) Report(id InstanceID) {
	select {
	case t.exited <- id:
	case <-t.closing:
	default:
		t.log.Debug("exit not reported: nobody reads Exited", "instance", id)
	}
}

// Launch checks the spec, records the instance as pending, creates and
// boots it, and returns once it has started (not once it listens).
func (t *Table[E]) Launch(ctx context.Context, s Spec) (Instance, error) {
	fail := func(err error) (Instance, error) {
		return Instance{}, fmt.Errorf("launch instance %s in %s: %w", s.ID, s.Zone.Name, err)
	}
	if err := t.check(&s); err != nil {
		return fail(err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	e := t.d.New()
	rec := e.record()
	rec.Spec = s
	rec.state, _, _ = Transition("", OpLaunch)
	rec.op.Lock()
	defer rec.op.Unlock()
	t.mu.Lock()
	_, dup := t.instances[s.ID]
	switch {
	case t.closed:
		t.mu.Unlock()
		return fail(errors.New("runtime is closed"))
	case dup:
		t.mu.Unlock()
		return fail(errors.New("id already launched"))
	}
	t.instances[s.ID] = e
	t.mu.Unlock()

	err := t.d.Create(ctx, e)
	var b Boot
	if err == nil {
		if b, err = t.boot(ctx, e); err != nil {
			_ = t.d.Remove(context.WithoutCancel(ctx), e)
		}
	}
	if err != nil {
		t.mu.Lock()
		delete(t.instances, s.ID)
		t.mu.Unlock()
		return fail(err)
	}
	t.log.Info("launched instance", append([]any{"instance", s.ID, "zone", s.Zone.Name, "addr", s.Addr, "port", s.Port}, b.Log...)...)
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.view(e), nil
}

// check validates what every runtime needs of a spec, then the driver's
// own rules, and fills in the run.
func (t *Table[E]) check(s *Spec) error {
	switch {
	case s.ID == "":
		return errors.New("spec has no instance id")
	case !s.Addr.IsValid() || !(s.Addr.IsLoopback() || s.Addr.IsLinkLocalUnicast()):
		// loopback on one host; link-local (169.254.N.0/24) on an agent's
		// host, where the zone's subnet is local (issue 20)
		return fmt.Errorf("address %v: want a loopback or link-local address", s.Addr)
	case s.Port <= 0 || s.Port > 65535:
		return fmt.Errorf("port %d: want 1 to 65535", s.Port)
	case s.RunID != "" && s.RunID != t.runID:
		return fmt.Errorf("spec names run %q; this runtime runs %q", s.RunID, t.runID)
	}
	if err := t.d.Check(s); err != nil {
		return err
	}
	s.RunID = t.runID
	return nil
}

// boot boots a pending instance and records the outcome: running (unless
// it died meanwhile), or on failure back to stopped.
func (t *Table[E]) boot(ctx context.Context, e E) (Boot, error) {
	var b Boot
	err := ctx.Err()
	if err == nil {
		b, err = t.d.Boot(ctx, e)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	rec := e.record()
	if err != nil {
		rec.apply(OpBootFailed)
		return b, err
	}
	rec.started = b.Started
	if b.Running {
		rec.apply(OpBooted)
	}
	return b, nil
}

// begin looks an instance up and takes its operation lock. A terminated
// instance counts as not found unless allowTerminated.
func (t *Table[E]) begin(id InstanceID, allowTerminated bool) (E, error) {
	t.mu.Lock()
	e, ok := t.instances[id]
	t.mu.Unlock()
	if !ok {
		return e, fmt.Errorf("instance %s: %w", id, ErrNotFound)
	}
	e.record().op.Lock()
	if !allowTerminated && t.state(e) == StateTerminated {
		e.record().op.Unlock()
		return e, fmt.Errorf("instance %s is terminated: %w", id, ErrNotFound)
	}
	return e, nil
}

func (t *Table[E]) state(e E) State {
	t.mu.Lock()
	defer t.mu.Unlock()
	return e.record().state
}

// may says whether op applies to e now, and the error when it may not.
func (t *Table[E]) may(e E, op Op) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, act, err := Transition(e.record().state, op)
	return act, err
}

// apply moves e as op says, if op still applies to its state now.
func (t *Table[E]) apply(e E, op Op) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e.record().apply(op)
}

// Terminate halts the instance and removes it for good. It is terminated
// once the driver has removed it; terminating twice is not an error.
func (t *Table[E]) Terminate(ctx context.Context, id InstanceID) error {
	e, err := t.begin(id, true)
	if err != nil {
		return fmt.Errorf("terminate: %w", err)
	}
	defer e.record().op.Unlock()
	if act, _ := t.may(e, OpTerminate); !act {
		return nil
	}
	var errs []error
	if err := t.d.Halt(ctx, e); err != nil {
		errs = append(errs, err)
	} else {
		t.apply(e, OpStop)
	}
	if err := t.d.Remove(ctx, e); err != nil {
		errs = append(errs, err)
	} else {
		t.apply(e, OpTerminate)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("terminate instance %s: %w", id, err)
	}
	t.log.Info("terminated instance", "instance", id)
	return nil
}

// Stop halts the instance and keeps it, with its id, address and limits,
// so that Start can boot it again. Stopping a stopped instance does nothing.
func (t *Table[E]) Stop(ctx context.Context, id InstanceID) error {
	e, err := t.begin(id, false)
	if err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	defer e.record().op.Unlock()
	if act, err := t.may(e, OpStop); err != nil || !act {
		return err
	}
	if err := t.d.Halt(ctx, e); err != nil {
		return fmt.Errorf("stop instance %s: %w", id, err)
	}
	t.apply(e, OpStop)
	return nil
}

// Start boots a stopped instance again with the same spec, id and address;
// it is pending meanwhile, and stopped again if the boot fails. Starting a
// running, paused or pending instance does nothing.
func (t *Table[E]) Start(ctx context.Context, id InstanceID) error {
	e, err := t.begin(id, false)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer e.record().op.Unlock()
	t.mu.Lock()
	act := e.record().apply(OpStart)
	t.mu.Unlock()
	if !act {
		return nil
	}
	if _, err := t.boot(ctx, e); err != nil {
		return fmt.Errorf("start instance %s: %w", id, err)
	}
	return nil
}

// Kill ends a running, paused or pending instance abruptly, as a crash
// would; the driver reports its death on Exited, and it is then stopped.
func (t *Table[E]) Kill(ctx context.Context, id InstanceID) error {
	e, err := t.begin(id, false)
	if err != nil {
		return fmt.Errorf("kill: %w", err)
	}
	defer e.record().op.Unlock()
	if _, err := t.may(e, OpKill); err != nil {
		return fmt.Errorf("kill instance %s: %w", id, err)
	}
	if err := t.d.Signal(ctx, e, OpKill); err != nil {
		return fmt.Errorf("kill instance %s: %w", id, err)
	}
	return nil
}

// Pause freezes a running instance; pausing a paused one does nothing.
func (t *Table[E]) Pause(ctx context.Context, id InstanceID) error {
	return t.freeze(ctx, id, OpPause)
}

// Resume thaws a paused instance; resuming a running one does nothing.
func (t *Table[E]) Resume(ctx context.Context, id InstanceID) error {
	return t.freeze(ctx, id, OpResume)
}

func (t *Table[E]) freeze(ctx context.Context, id InstanceID, op Op) error {
	e, err := t.begin(id, false)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer e.record().op.Unlock()
	act, err := t.may(e, op)
	if err != nil {
		return fmt.Errorf("%s instance %s: %w", op, id, err)
	}
	if !act {
		return nil
	}
	if err := t.d.Signal(ctx, e, op); err != nil {
		return fmt.Errorf("%s instance %s: %w", op, id, err)
	}
	t.apply(e, op)
	return nil
}

// List returns the instances that are not terminated, by id.
func (t *Table[E]) List(ctx context.Context) ([]Instance, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Instance, 0, len(t.instances))
	for _, e := range t.instances {
		if e.record().state != StateTerminated {
			out = append(out, t.view(e))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// view is the instance as List reports it; the caller holds the lock. An
// instance type with a PID method (a host process) reports its pid.
func (t *Table[E]) view(e E) Instance {
	r := e.record()
	in := Instance{ID: r.Spec.ID, Zone: r.Spec.Zone.Name, Addr: r.Spec.Addr, Port: r.Spec.Port,
		Type: r.Spec.Type.Name, RunID: r.Spec.RunID, Started: r.started, State: r.state}
	if p, ok := any(e).(interface{ PID() int }); ok {
		in.PID = p.PID()
	}
	return in
}

// Shut refuses further launches, stops reporting on Exited, and terminates
// every instance in parallel. A runtime's Close calls it once, then frees
// what the runtime itself holds.
func (t *Table[E]) Shut(ctx context.Context) error {
	t.mu.Lock()
	t.closed = true
	ids := make([]InstanceID, 0, len(t.instances))
	for id := range t.instances {
		ids = append(ids, id)
	}
	t.mu.Unlock()
	close(t.closing)

	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() { errs[i] = t.Terminate(ctx, id) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
