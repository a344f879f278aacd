package process

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/simplydone/lab/sim/az"
)

// instance is one launched instance. Runtime.mu guards the fields; op
// serialises lifecycle operations on it (held across waits).
type instance struct {
	op      sync.Mutex
	spec    az.Spec
	cg      *instanceCgroup // nil when cgroups are not used
	state   az.State
	started time.Time
	proc    *proc // nil when stopped or terminated

	// the previous CPU reading, for Stats
	lastCPU time.Duration
	lastAt  time.Time
}

func (in *instance) view() az.Instance {
	pid := 0
	if in.proc != nil {
		pid = in.proc.pid
	}
	return az.Instance{
		ID: in.spec.ID, Zone: in.spec.Zone.Name, Addr: in.spec.Addr, Port: in.spec.Port,
		Type: in.spec.Type.Name, RunID: in.spec.RunID, PID: pid, Started: in.started, State: in.state,
	}
}

// Launch starts the instance's command as a process in its own process
// group and cgroup, and returns once it has started (not once it listens).
func (r *Runtime) Launch(ctx context.Context, s az.Spec) (az.Instance, error) {
	fail := func(err error) (az.Instance, error) {
		return az.Instance{}, fmt.Errorf("launch instance %s in %s: %w", s.ID, s.Zone.Name, err)
	}
	if err := r.validate(&s); err != nil {
		return fail(err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	in := &instance{spec: s, state: az.StatePending}
	in.op.Lock()
	defer in.op.Unlock()
	r.mu.Lock()
	switch {
	case r.closed:
		r.mu.Unlock()
		return fail(errors.New("runtime is closed"))
	case r.instances[s.ID] != nil:
		r.mu.Unlock()
		return fail(errors.New("id already launched"))
	}
	r.instances[s.ID] = in
	r.mu.Unlock()

	cg, err := r.cg.create(string(s.ID), s.Type.CPU, s.Type.MemoryMiB)
	if err == nil {
		in.cg = cg
		err = r.spawn(ctx, in)
	}
	if err != nil {
		if cg != nil {
			_ = cg.remove(ctx)
		}
		r.mu.Lock()
		delete(r.instances, s.ID)
		r.mu.Unlock()
		return fail(err)
	}
	r.log.Info("launched instance", "instance", s.ID, "zone", s.Zone.Name, "addr", s.Addr, "port", s.Port, "pid", in.proc.pid)
	r.mu.Lock()
	defer r.mu.Unlock()
	return in.view(), nil
}

func (r *Runtime) validate(s *az.Spec) error {
	switch {
	case s.ID == "":
		return errors.New("spec has no instance id")
	case len(s.Command) == 0 || s.Command[0] == "":
		return errors.New("spec has no command")
	case !s.Addr.IsValid() || !s.Addr.IsLoopback():
		return fmt.Errorf("address %v: want a loopback address", s.Addr)
	case s.Port <= 0 || s.Port > 65535:
		return fmt.Errorf("port %d: want 1 to 65535", s.Port)
	case s.RunID != "" && s.RunID != r.opts.RunID:
		return fmt.Errorf("spec names run %q; this runtime runs %q", s.RunID, r.opts.RunID)
	}
	s.RunID = r.opts.RunID
	return nil
}

// begin looks an instance up and takes its op lock. Terminated instances
// count as not found unless allowTerminated.
func (r *Runtime) begin(id az.InstanceID, allowTerminated bool) (*instance, error) {
	r.mu.Lock()
	in, err := r.lookup(id)
	r.mu.Unlock()
	if err != nil {
		return nil, err
	}
	in.op.Lock()
	if !allowTerminated && r.stateOf(in) == az.StateTerminated {
		in.op.Unlock()
		return nil, fmt.Errorf("instance %s is terminated: %w", id, az.ErrNotFound)
	}
	return in, nil
}

func (r *Runtime) stateOf(in *instance) az.State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return in.state
}

// halt ends the instance's process, if any, as asked for.
func (r *Runtime) halt(ctx context.Context, in *instance) {
	r.mu.Lock()
	p := in.proc
	if p != nil {
		p.expected = true
	}
	r.mu.Unlock()
	if p != nil {
		r.end(ctx, p)
	}
}

// Terminate ends the instance for good: SIGTERM, the grace period, SIGKILL;
// then its cgroup and record are removed. Terminating twice is not an error.
func (r *Runtime) Terminate(ctx context.Context, id az.InstanceID) error {
	in, err := r.begin(id, true)
	if err != nil {
		return fmt.Errorf("terminate: %w", err)
	}
	defer in.op.Unlock()
	if r.stateOf(in) == az.StateTerminated {
		return nil
	}
	r.halt(ctx, in)
	var errs []error
	if in.cg != nil {
		errs = append(errs, in.cg.remove(ctx))
	}
	errs = append(errs, removeRecord(r.opts.StateDir, r.opts.RunID, string(id)))
	r.mu.Lock()
	in.state = az.StateTerminated
	r.mu.Unlock()
	r.log.Info("terminated instance", "instance", id)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("terminate instance %s: %w", id, err)
	}
	return nil
}

// Stop ends the process (SIGTERM, grace, SIGKILL) and keeps the spec, the
// address and the cgroup, so that Start can boot it again.
func (r *Runtime) Stop(ctx context.Context, id az.InstanceID) error {
	in, err := r.begin(id, false)
	if err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	defer in.op.Unlock()
	r.halt(ctx, in)
	r.mu.Lock()
	in.state = az.StateStopped
	r.mu.Unlock()
	return nil
}

// Start boots a stopped instance again with the same spec, id and address.
// Starting a running or paused instance does nothing.
func (r *Runtime) Start(ctx context.Context, id az.InstanceID) error {
	in, err := r.begin(id, false)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer in.op.Unlock()
	if r.stateOf(in) != az.StateStopped {
		return nil
	}
	if err := r.spawn(ctx, in); err != nil {
		return fmt.Errorf("start instance %s: %w", id, err)
	}
	return nil
}

// Pause freezes the instance's process group with SIGSTOP: its sockets stay
// open and nothing answers.
func (r *Runtime) Pause(ctx context.Context, id az.InstanceID) error {
	return r.freeze("pause", id, syscall.SIGSTOP, az.StateRunning, az.StatePaused)
}

// Resume thaws a paused instance with SIGCONT.
func (r *Runtime) Resume(ctx context.Context, id az.InstanceID) error {
	return r.freeze("resume", id, syscall.SIGCONT, az.StatePaused, az.StateRunning)
}

// Kill ends an instance abruptly with SIGKILL to its process group, as a
// crash would: the runtime then reports it on Exited, and it is stopped.
func (r *Runtime) Kill(ctx context.Context, id az.InstanceID) error {
	in, err := r.begin(id, false)
	if err != nil {
		return fmt.Errorf("kill: %w", err)
	}
	defer in.op.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	if in.proc == nil {
		return fmt.Errorf("kill instance %s: it is %s, not running", id, in.state)
	}
	signalGroup(in.proc, syscall.SIGKILL)
	return nil
}

func (r *Runtime) freeze(verb string, id az.InstanceID, sig syscall.Signal, from, to az.State) error {
	in, err := r.begin(id, false)
	if err != nil {
		return fmt.Errorf("%s: %w", verb, err)
	}
	defer in.op.Unlock()
	r.mu.Lock()
	switch {
	case in.state == to:
		r.mu.Unlock()
		return nil
	case in.state != from || in.proc == nil:
		r.mu.Unlock()
		return fmt.Errorf("%s instance %s: it is %s, not %s", verb, id, in.state, from)
	}
	signalGroup(in.proc, sig)
	in.state = to
	pid := in.proc.pid
	r.mu.Unlock()
	if sig == syscall.SIGSTOP {
		waitStopped(pid, time.Second) // a signal is delivered asynchronously
	}
	return nil
}

// waitStopped waits, up to limit, until every thread of pid is stopped, so
// that Pause returns once the instance is frozen, not merely signalled.
func waitStopped(pid int, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		if err != nil {
			return
		}
		stopped := true
		for _, t := range tasks {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, t.Name()))
			if err != nil {
				continue
			}
			// the state is the field after the command's closing parenthesis
			if i := strings.LastIndexByte(string(b), ')'); i < 0 || i+2 >= len(b) || (b[i+2] != 'T' && b[i+2] != 't') {
				stopped = false
				break
			}
		}
		if stopped {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// Stats reads the instance's CPU use since the previous reading (the first:
// since launch) as a percentage of its CPU share, and its resident memory.
// A stopped instance reads zero.
func (r *Runtime) Stats(ctx context.Context, id az.InstanceID) (az.Stats, error) {
	r.mu.Lock()
	in, err := r.lookup(id)
	if err == nil && in.state == az.StateTerminated {
		err = fmt.Errorf("instance %s is terminated: %w", id, az.ErrNotFound)
	}
	if err != nil {
		r.mu.Unlock()
		return az.Stats{}, fmt.Errorf("stats: %w", err)
	}
	p, lastCPU, lastAt, share := in.proc, in.lastCPU, in.lastAt, in.spec.Type.CPU
	r.mu.Unlock()
	if p == nil {
		return az.Stats{}, nil
	}

	now := time.Now()
	used, ok := in.cg.usage()
	if !ok {
		t, err := p.gp.TimesWithContext(ctx)
		if err != nil {
			select {
			case <-p.done: // it just ended: a stopped instance reads zero
				return az.Stats{}, nil
			default:
				return az.Stats{}, fmt.Errorf("stats for instance %s: %w", id, gone(err))
			}
		}
		used = time.Duration((t.User + t.System) * float64(time.Second))
	}
	var st az.Stats
	if m, err := p.gp.MemoryInfoWithContext(ctx); err == nil {
		st.MemoryBytes = m.RSS
	}
	if share <= 0 {
		share = 1
	}
	if wall := now.Sub(lastAt); wall > 0 && used >= lastCPU {
		st.CPUUtilization = 100 * (used - lastCPU).Seconds() / wall.Seconds() / share
	}
	r.mu.Lock()
	if in.proc == p {
		in.lastCPU, in.lastAt = used, now
	}
	r.mu.Unlock()
	return st, nil
}

// gone turns "no such process" into a readable error.
func gone(err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return errors.New("process is gone")
	}
	return err
}
