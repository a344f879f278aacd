package process

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/simplydone/lab/sim/az"
)

// instance is one launched instance: the table's Record and the process.
// The table's lock guards the fields.
type instance struct {
	az.Record
	cg   *instanceCgroup // nil when cgroups are not used
	proc *proc           // nil when stopped or terminated

	// the previous CPU reading, for Stats
	lastCPU time.Duration
	lastAt  time.Time
}

// PID is the instance's process id, 0 when it has none; the table reports it.
func (in *instance) PID() int {
	if in.proc == nil {
		return 0
	}
	return in.proc.pid
}

// Launch starts the instance's command as a process in its own process
// group and cgroup, and returns once it has started (not once it listens).
func (r *Runtime) Launch(ctx context.Context, s az.Spec) (az.Instance, error) {
	return r.t.Launch(ctx, s)
}

// Terminate ends the instance for good: SIGTERM, the grace period, SIGKILL;
// then its cgroup and record are removed. Terminating twice is not an error.
func (r *Runtime) Terminate(ctx context.Context, id az.InstanceID) error {
	return r.t.Terminate(ctx, id)
}

// Stop ends the process (SIGTERM, grace, SIGKILL) and keeps the spec, the
// address and the cgroup, so that Start can boot it again.
func (r *Runtime) Stop(ctx context.Context, id az.InstanceID) error { return r.t.Stop(ctx, id) }

// Start boots a stopped instance again with the same spec, id and address.
// Starting a running or paused instance does nothing.
func (r *Runtime) Start(ctx context.Context, id az.InstanceID) error { return r.t.Start(ctx, id) }

// Pause freezes the instance's process group with SIGSTOP: its sockets stay
// open and nothing answers.
func (r *Runtime) Pause(ctx context.Context, id az.InstanceID) error { return r.t.Pause(ctx, id) }

// Resume thaws a paused instance with SIGCONT.
func (r *Runtime) Resume(ctx context.Context, id az.InstanceID) error { return r.t.Resume(ctx, id) }

// Kill ends an instance abruptly with SIGKILL to its process group, as a
// crash would: the runtime then reports it on Exited, and it is stopped.
func (r *Runtime) Kill(ctx context.Context, id az.InstanceID) error { return r.t.Kill(ctx, id) }

// driver is what the process runtime does to an instance, for its table.
type driver struct{ *Runtime }

func (driver) New() *instance { return &instance{} }

func (d driver) Check(s *az.Spec) error {
	switch {
	case len(s.Command) == 0 || s.Command[0] == "":
		return errors.New("spec has no command")
	case s.Image != "":
		return fmt.Errorf("image %q: the process runtime runs commands, not images", s.Image)
	}
	return nil
}

// Create makes the instance's cgroup.
func (d driver) Create(ctx context.Context, in *instance) error {
	cg, err := d.cg.create(string(in.Spec.ID), in.Spec.Type.CPU, in.Spec.Type.MemoryMiB)
	d.t.Lock()
	in.cg = cg
	d.t.Unlock()
	return err
}

func (d driver) Boot(ctx context.Context, in *instance) (az.Boot, error) { return d.spawn(ctx, in) }

// Halt ends the instance's process, if any, as asked for.
func (d driver) Halt(ctx context.Context, in *instance) error {
	d.t.Lock()
	p := in.proc
	if p != nil {
		p.expected = true
	}
	d.t.Unlock()
	if p != nil {
		d.end(ctx, p)
	}
	return nil
}

// Remove deletes the instance's cgroup and record.
func (d driver) Remove(ctx context.Context, in *instance) error {
	return errors.Join(in.cg.remove(ctx), removeRecord(d.opts.StateDir, d.opts.RunID, string(in.Spec.ID)))
}

// Signal sends SIGKILL, SIGSTOP or SIGCONT to the instance's process group;
// after SIGSTOP it waits until the process is frozen.
func (d driver) Signal(ctx context.Context, in *instance, op az.Op) error {
	sig := map[az.Op]syscall.Signal{az.OpKill: syscall.SIGKILL, az.OpPause: syscall.SIGSTOP, az.OpResume: syscall.SIGCONT}[op]
	if sig == 0 {
		return fmt.Errorf("cannot %s a process", op)
	}
	d.t.Lock()
	p := in.proc
	if p != nil {
		signalGroup(p, sig)
	}
	d.t.Unlock()
	if p == nil {
		return errors.New("its process is gone")
	}
	if sig == syscall.SIGSTOP {
		waitStopped(p.pid, time.Second) // a signal is delivered asynchronously
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
	r.t.Lock()
	in, err := r.t.Lookup(id)
	if err != nil {
		r.t.Unlock()
		return az.Stats{}, fmt.Errorf("stats: %w", err)
	}
	p, lastCPU, lastAt, share := in.proc, in.lastCPU, in.lastAt, in.Spec.Type.CPU
	r.t.Unlock()
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
	r.t.Lock()
	if in.proc == p {
		in.lastCPU, in.lastAt = used, now
	}
	r.t.Unlock()
	return st, nil
}

// gone turns "no such process" into a readable error.
func gone(err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return errors.New("process is gone")
	}
	return err
}
