package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/simplydone/lab/sim/az"
)

// DataMount is where the run's shared data directory appears in every
// container (LAB_DATA_DIR).
const DataMount = "/data"

// User is the unprivileged user and group every container runs as.
const User = "65534:65534"

// instance is one launched instance. Runtime.mu guards the fields; op
// serialises lifecycle operations on it (held across engine calls).
type instance struct {
	op    sync.Mutex
	spec  az.Spec
	cid   string // container id
	state az.State
	// started is when the container last started, as the engine says.
	started time.Time
	// since is when this runtime last asked the engine to start the
	// container; a die event from before it belongs to an earlier life.
	since time.Time
	// halting is set while Stop or Terminate ends the container, whose
	// death is then expected and not reported.
	halting bool

	// the previous CPU reading, for Stats
	lastCPU time.Duration
	lastAt  time.Time
}

func (in *instance) view() az.Instance {
	return az.Instance{
		ID: in.spec.ID, Zone: in.spec.Zone.Name, Addr: in.spec.Addr, Port: in.spec.Port,
		Type: in.spec.Type.Name, RunID: in.spec.RunID, Started: in.started, State: in.state,
	}
}

// ContainerName is the name of an instance's container.
func ContainerName(runID string, id az.InstanceID) string {
	return "lab-" + runID + "-" + string(id)
}

// Launch ensures the instance's image, creates its container and starts
// it, and returns once it has started (not once it listens).
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

	err := r.create(ctx, in)
	if err == nil {
		err = r.start(ctx, in)
		if err != nil {
			_ = removeContainer(context.WithoutCancel(ctx), r.cli, in.cid)
		}
	}
	if err != nil {
		r.mu.Lock()
		delete(r.instances, s.ID)
		r.mu.Unlock()
		return fail(err)
	}
	r.log.Info("launched instance", "instance", s.ID, "zone", s.Zone.Name, "addr", s.Addr, "port", s.Port, "container", in.cid[:12])
	r.mu.Lock()
	defer r.mu.Unlock()
	return in.view(), nil
}

func (r *Runtime) validate(s *az.Spec) error {
	switch {
	case s.ID == "":
		return errors.New("spec has no instance id")
	case (len(s.Command) == 0 || s.Command[0] == "") && s.Env[EnvImage] == "":
		return errors.New("spec has no command and no " + EnvImage)
	case !s.Addr.IsValid() || !s.Addr.IsLoopback():
		return fmt.Errorf("address %v: want a loopback address", s.Addr)
	case s.Port <= 0 || s.Port > 65535:
		return fmt.Errorf("port %d: want 1 to 65535", s.Port)
	case s.RunID != "" && s.RunID != r.opts.RunID:
		return fmt.Errorf("spec names run %q; this runtime runs %q", s.RunID, r.opts.RunID)
	case s.DataDir != "" && !filepath.IsAbs(s.DataDir):
		return fmt.Errorf("data dir %q: want an absolute path", s.DataDir)
	}
	s.RunID = r.opts.RunID
	return nil
}

// create builds or checks the image and creates the container. The caller
// holds in.op.
func (r *Runtime) create(ctx context.Context, in *instance) error {
	s := in.spec
	ref, err := r.ensureImage(ctx, s)
	if err != nil {
		return err
	}
	var mounts []mount.Mount
	if s.DataDir != "" {
		if err := os.MkdirAll(s.DataDir, 0o777); err != nil {
			return fmt.Errorf("data dir: %w", err)
		}
		// The container runs as nobody; the shared directory must take its writes.
		if err := os.Chmod(s.DataDir, 0o777); err != nil {
			return fmt.Errorf("data dir: %w", err)
		}
		mounts = append(mounts, mount.Mount{Type: mount.TypeBind, Source: s.DataDir, Target: DataMount})
	}
	pids := r.opts.PidsLimit
	mem := int64(s.Type.MemoryMiB) << 20
	labels := map[string]string{LabelZone: s.Zone.Name, LabelInstance: string(s.ID)}
	for k, v := range r.owner {
		labels[k] = v
	}
	cfg := &container.Config{
		User:   User,
		Env:    environ(s, r.opts.RunID),
		Cmd:    ref.args,
		Image:  ref.tag,
		Labels: labels,
	}
	if len(ref.args) == 0 {
		cfg.Cmd = nil
	}
	host := &container.HostConfig{
		NetworkMode:    "host",
		ReadonlyRootfs: true,
		CapDrop:        []string{"ALL"},
		SecurityOpt:    []string{"no-new-privileges"},
		Mounts:         mounts,
		Tmpfs:          map[string]string{"/tmp": "rw,noexec,nosuid,size=16m"},
		RestartPolicy:  container.RestartPolicy{Name: container.RestartPolicyDisabled},
		Resources: container.Resources{
			NanoCPUs:  int64(s.Type.CPU * 1e9),
			PidsLimit: &pids,
		},
	}
	if mem > 0 {
		host.Memory, host.MemorySwap = mem, mem // no swap beyond the memory size
	}
	resp, err := r.cli.ContainerCreate(ctx, cfg, host, nil, nil, ContainerName(r.opts.RunID, s.ID))
	if err != nil {
		return fmt.Errorf("create container: %w", err)
	}
	for _, w := range resp.Warnings {
		r.log.Warn("engine warning", "instance", s.ID, "warning", w)
	}
	in.cid = resp.ID
	return nil
}

// start starts the container and reads back when it started. The caller
// holds in.op.
func (r *Runtime) start(ctx context.Context, in *instance) error {
	r.mu.Lock()
	in.state, in.halting, in.since = az.StatePending, false, time.Now()
	r.mu.Unlock()
	if err := r.cli.ContainerStart(ctx, in.cid, container.StartOptions{}); err != nil {
		return fmt.Errorf("start container: %w", err)
	}
	insp, err := r.cli.ContainerInspect(ctx, in.cid)
	if err != nil {
		return fmt.Errorf("inspect container: %w", err)
	}
	started, err := time.Parse(time.RFC3339Nano, insp.State.StartedAt)
	if err != nil || started.IsZero() {
		started = time.Now()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// Each start gets a fresh cgroup, whose CPU counter starts at zero.
	in.started, in.lastCPU, in.lastAt = started, 0, started
	// A container that already died stays pending until its die event
	// reports it (and marks it stopped).
	if in.state == az.StatePending && insp.State.Running {
		in.state = az.StateRunning
	}
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

// halt stops the container (SIGTERM, the grace period, SIGKILL) as asked
// for, so that its death is not reported. The caller holds in.op.
func (r *Runtime) halt(ctx context.Context, in *instance) error {
	r.mu.Lock()
	in.halting = true
	paused := in.state == az.StatePaused
	r.mu.Unlock()
	if paused {
		if err := r.cli.ContainerUnpause(ctx, in.cid); err != nil && !cerrdefs.IsNotFound(err) {
			r.log.Warn("unpause before stop", "instance", in.spec.ID, "err", err)
		}
	}
	secs := int(r.opts.Grace.Round(time.Second) / time.Second)
	if secs < 1 {
		secs = 1
	}
	err := r.cli.ContainerStop(ctx, in.cid, container.StopOptions{Timeout: &secs})
	if cerrdefs.IsNotFound(err) {
		err = nil
	}
	r.mu.Lock()
	in.halting = false
	if err == nil {
		in.state = az.StateStopped
	}
	r.mu.Unlock()
	return err
}

// Terminate stops the container (SIGTERM, grace, SIGKILL) and removes it;
// its output goes to LogDir first when one is set. Terminating twice is not
// an error.
func (r *Runtime) Terminate(ctx context.Context, id az.InstanceID) error {
	in, err := r.begin(id, true)
	if err != nil {
		return fmt.Errorf("terminate: %w", err)
	}
	defer in.op.Unlock()
	if r.stateOf(in) == az.StateTerminated {
		return nil
	}
	var errs []error
	if err := r.halt(ctx, in); err != nil {
		errs = append(errs, fmt.Errorf("stop container: %w", err))
	}
	r.saveLogs(ctx, in)
	if err := removeContainer(ctx, r.cli, in.cid); err != nil {
		errs = append(errs, err)
	} else {
		r.mu.Lock()
		in.state = az.StateTerminated
		r.mu.Unlock()
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("terminate instance %s: %w", id, err)
	}
	r.log.Info("terminated instance", "instance", id)
	return nil
}

// Stop stops the container (SIGTERM, grace, SIGKILL) and keeps it, with its
// id, address and limits, so that Start can boot it again.
func (r *Runtime) Stop(ctx context.Context, id az.InstanceID) error {
	in, err := r.begin(id, false)
	if err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	defer in.op.Unlock()
	if err := r.halt(ctx, in); err != nil {
		return fmt.Errorf("stop instance %s: %w", id, err)
	}
	return nil
}

// Start boots a stopped instance again: the same container, id and
// address. Starting a running or paused instance does nothing.
func (r *Runtime) Start(ctx context.Context, id az.InstanceID) error {
	in, err := r.begin(id, false)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer in.op.Unlock()
	if r.stateOf(in) != az.StateStopped {
		return nil
	}
	if err := r.start(ctx, in); err != nil {
		r.mu.Lock()
		if in.state == az.StatePending {
			in.state = az.StateStopped
		}
		r.mu.Unlock()
		return fmt.Errorf("start instance %s: %w", id, err)
	}
	return nil
}

// Pause freezes the container (the engine's cgroup freezer): its sockets
// stay open and nothing answers.
func (r *Runtime) Pause(ctx context.Context, id az.InstanceID) error {
	return r.freeze(ctx, "pause", id, az.StateRunning, az.StatePaused, r.cli.ContainerPause)
}

// Resume thaws a paused container.
func (r *Runtime) Resume(ctx context.Context, id az.InstanceID) error {
	return r.freeze(ctx, "resume", id, az.StatePaused, az.StateRunning, r.cli.ContainerUnpause)
}

func (r *Runtime) freeze(ctx context.Context, verb string, id az.InstanceID, from, to az.State, call func(context.Context, string) error) error {
	in, err := r.begin(id, false)
	if err != nil {
		return fmt.Errorf("%s: %w", verb, err)
	}
	defer in.op.Unlock()
	switch st := r.stateOf(in); {
	case st == to:
		return nil
	case st != from:
		return fmt.Errorf("%s instance %s: it is %s, not %s", verb, id, st, from)
	}
	if err := call(ctx, in.cid); err != nil {
		return fmt.Errorf("%s instance %s: %w", verb, id, err)
	}
	r.mu.Lock()
	if in.state == from {
		in.state = to
	}
	r.mu.Unlock()
	return nil
}

// Kill ends the container abruptly with SIGKILL, as a crash would: the
// runtime then reports it on Exited, and it is stopped.
func (r *Runtime) Kill(ctx context.Context, id az.InstanceID) error {
	in, err := r.begin(id, false)
	if err != nil {
		return fmt.Errorf("kill: %w", err)
	}
	defer in.op.Unlock()
	st := r.stateOf(in)
	if st != az.StateRunning && st != az.StatePaused && st != az.StatePending {
		return fmt.Errorf("kill instance %s: it is %s, not running", id, st)
	}
	if st == az.StatePaused {
		// The engine refuses to signal a paused container.
		if err := r.cli.ContainerUnpause(ctx, in.cid); err != nil {
			return fmt.Errorf("kill instance %s: unpause: %w", id, err)
		}
	}
	if err := r.cli.ContainerKill(ctx, in.cid, "SIGKILL"); err != nil {
		return fmt.Errorf("kill instance %s: %w", id, err)
	}
	return nil
}

// removeContainer removes a container and its anonymous volumes, killing it
// if it still runs; one already gone is not an error.
func removeContainer(ctx context.Context, cli containerRemover, cid string) error {
	if cid == "" {
		return nil
	}
	err := cli.ContainerRemove(ctx, cid, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove container %.12s: %w", cid, err)
	}
	return nil
}

type containerRemover interface {
	ContainerRemove(ctx context.Context, id string, opts container.RemoveOptions) error
}

// saveLogs copies the container's output to LogDir/<id>.log, if LogDir is
// set.
func (r *Runtime) saveLogs(ctx context.Context, in *instance) {
	if r.opts.LogDir == "" || in.cid == "" {
		return
	}
	rc, err := r.cli.ContainerLogs(ctx, in.cid, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		r.log.Warn("read instance output", "instance", in.spec.ID, "err", err)
		return
	}
	defer rc.Close()
	f, err := os.OpenFile(filepath.Join(r.opts.LogDir, string(in.spec.ID)+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		r.log.Warn("write instance output", "instance", in.spec.ID, "err", err)
		return
	}
	defer f.Close()
	if _, err := stdcopy.StdCopy(f, f, io.LimitReader(rc, 64<<20)); err != nil {
		r.log.Warn("copy instance output", "instance", in.spec.ID, "err", err)
	}
}

var labVars = map[string]bool{"LAB_RUN_ID": true, "LAB_INSTANCE_ID": true, "LAB_ZONE": true,
	"LAB_ADDR": true, "LAB_PORT": true, "LAB_DATA_DIR": true}

// environ is the container's environment: the spec's Env (less LAB_IMAGE)
// and the LAB_ variables, which win over Env. LAB_DATA_DIR is the mount
// point inside the container.
func environ(s az.Spec, runID string) []string {
	keys := make([]string, 0, len(s.Env))
	for k := range s.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var env []string
	for _, k := range keys {
		if k == EnvImage || labVars[k] {
			continue
		}
		env = append(env, k+"="+s.Env[k])
	}
	env = append(env,
		"LAB_RUN_ID="+runID,
		"LAB_INSTANCE_ID="+string(s.ID),
		"LAB_ZONE="+s.Zone.Name,
		"LAB_ADDR="+s.Addr.String(),
		"LAB_PORT="+strconv.Itoa(s.Port),
	)
	if s.DataDir != "" {
		env = append(env, "LAB_DATA_DIR="+DataMount)
	}
	return env
}
