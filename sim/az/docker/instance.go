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
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/simplydone/lab/internal/capfile"
	"github.com/simplydone/lab/sim/az"
)

// DataMount is where the run's shared data directory appears in every
// container (LAB_DATA_DIR).
const DataMount = "/data"

// User is the unprivileged user and group every container runs as.
const User = "65534:65534"

// instance is one launched instance: the table's Record and the container.
// The table's lock guards the fields.
type instance struct {
	az.Record
	cid string // container id
	// since is when this runtime last asked the engine to start the
	// container; a die event from before it belongs to an earlier life (or
	// was reported already).
	since time.Time
	// halting is set while Stop or Terminate ends the container, whose
	// death is then expected and not reported; a stop that succeeded leaves
	// it set until the next start.
	halting bool

	// the previous CPU reading, for Stats
	lastCPU time.Duration
	lastAt  time.Time
}

// ContainerName is the name of an instance's container.
func ContainerName(runID string, id az.InstanceID) string {
	return "lab-" + runID + "-" + string(id)
}

// Launch ensures the instance's image, creates its container and starts
// it, and returns once it has started (not once it listens).
func (r *Runtime) Launch(ctx context.Context, s az.Spec) (az.Instance, error) {
	return r.t.Launch(ctx, s)
}

// Terminate stops the container (SIGTERM, grace, SIGKILL) and removes it;
// its output goes to LogDir first when one is set. Terminating twice is not
// an error.
func (r *Runtime) Terminate(ctx context.Context, id az.InstanceID) error {
	return r.t.Terminate(ctx, id)
}

// Stop stops the container (SIGTERM, grace, SIGKILL) and keeps it, with its
// id, address and limits, so that Start can boot it again.
func (r *Runtime) Stop(ctx context.Context, id az.InstanceID) error { return r.t.Stop(ctx, id) }

// Start boots a stopped instance again: the same container, id and
// address. Starting a running or paused instance does nothing.
func (r *Runtime) Start(ctx context.Context, id az.InstanceID) error { return r.t.Start(ctx, id) }

// Pause freezes the container (the engine's cgroup freezer): its sockets
// stay open and nothing answers.
func (r *Runtime) Pause(ctx context.Context, id az.InstanceID) error { return r.t.Pause(ctx, id) }

// Resume thaws a paused container.
func (r *Runtime) Resume(ctx context.Context, id az.InstanceID) error { return r.t.Resume(ctx, id) }

// Kill ends the container abruptly with SIGKILL, as a crash would: the
// runtime then reports it on Exited, and it is stopped.
func (r *Runtime) Kill(ctx context.Context, id az.InstanceID) error { return r.t.Kill(ctx, id) }

// driver is what the Docker runtime does to an instance, for its table.
type driver struct{ *Runtime }

func (driver) New() *instance { return &instance{} }

func (d driver) Check(s *az.Spec) error {
	switch {
	case (len(s.Command) == 0 || s.Command[0] == "") && s.Image == "":
		return errors.New("spec has no command and no image")
	case s.DataDir != "" && !filepath.IsAbs(s.DataDir):
		return fmt.Errorf("data dir %q: want an absolute path", s.DataDir)
	}
	return nil
}

func (d driver) Create(ctx context.Context, in *instance) error { return d.create(ctx, in) }

func (d driver) Boot(ctx context.Context, in *instance) (az.Boot, error) { return d.start(ctx, in) }

func (d driver) Halt(ctx context.Context, in *instance) error { return d.halt(ctx, in) }

// Remove saves the container's output to LogDir, if set, and removes it.
func (d driver) Remove(ctx context.Context, in *instance) error {
	d.saveLogs(ctx, in)
	return removeContainer(ctx, d.cli, in.cid)
}

// Signal kills, pauses or unpauses the container. The engine refuses to
// signal a paused container, so a kill unpauses it first.
func (d driver) Signal(ctx context.Context, in *instance, op az.Op) error {
	switch op {
	case az.OpKill:
		d.t.Lock()
		paused := in.State() == az.StatePaused
		d.t.Unlock()
		if paused {
			if err := d.cli.ContainerUnpause(ctx, in.cid); err != nil {
				return fmt.Errorf("unpause: %w", err)
			}
		}
		return d.cli.ContainerKill(ctx, in.cid, "SIGKILL")
	case az.OpPause:
		return d.cli.ContainerPause(ctx, in.cid)
	case az.OpResume:
		return d.cli.ContainerUnpause(ctx, in.cid)
	}
	return fmt.Errorf("cannot %s a container", op)
}

// create builds or checks the image and creates the container.
func (r *Runtime) create(ctx context.Context, in *instance) error {
	s := in.Spec
	ref, err := r.ensureImage(ctx, s)
	if err != nil {
		return err
	}
	var mounts []mount.Mount
	if s.DataDir != "" {
		if err := dataDirForNobody(s.DataDir); err != nil {
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
	network := container.NetworkMode("host")
	if r.opts.Isolate {
		network = "none" // a namespace of its own, loopback only
	}
	host := &container.HostConfig{
		NetworkMode:    network,
		ReadonlyRootfs: true,
		CapDrop:        []string{"ALL"},
		SecurityOpt:    []string{"no-new-privileges"},
		Mounts:         mounts,
		Tmpfs:          map[string]string{"/tmp": "rw,noexec,nosuid,size=16m"},
		RestartPolicy:  container.RestartPolicy{Name: container.RestartPolicyDisabled},
		// the engine's copy of the output is capped as the run's log file is
		LogConfig: container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": fmt.Sprintf("%dk", capfile.Limit>>10), "max-file": "1"}},
		Resources: container.Resources{
			PidsLimit: &pids,
		},
	}
	// The share as a CFS quota over Docker's 100 ms period, or over a
	// longer one for a share under 0.01 core (a capacity scale), which
	// NanoCPUs refuses.
	host.Resources.CPUQuota, host.Resources.CPUPeriod = az.CFSQuota(s.Type.CPU, 100000)
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
	r.t.Lock()
	in.cid = resp.ID
	r.t.Unlock()
	return nil
}

// start starts the container and reads back when it started.
func (r *Runtime) start(ctx context.Context, in *instance) (az.Boot, error) {
	r.t.Lock()
	in.halting, in.since = false, time.Now()
	r.t.Unlock()
	if err := r.cli.ContainerStart(ctx, in.cid, container.StartOptions{}); err != nil {
		return az.Boot{}, fmt.Errorf("start container: %w", err)
	}
	insp, err := r.cli.ContainerInspect(ctx, in.cid)
	if err != nil {
		return az.Boot{}, fmt.Errorf("inspect container: %w", err)
	}
	started, err := time.Parse(time.RFC3339Nano, insp.State.StartedAt)
	if err != nil || started.IsZero() {
		started = time.Now()
	}
	r.t.Lock()
	// Each start gets a fresh cgroup, whose CPU counter starts at zero.
	in.lastCPU, in.lastAt = 0, started
	r.t.Unlock()
	// A container that already died stays pending until its die event
	// reports it (and marks it stopped).
	return az.Boot{Started: started, Running: insp.State.Running, Log: []any{"container", in.cid[:12]}}, nil
}

// halt stops the container (SIGTERM, the grace period, SIGKILL) as asked
// for, so that its death is not reported.
func (r *Runtime) halt(ctx context.Context, in *instance) error {
	r.t.Lock()
	in.halting = true
	paused := in.State() == az.StatePaused
	r.t.Unlock()
	if paused {
		if err := r.cli.ContainerUnpause(ctx, in.cid); err != nil && !cerrdefs.IsNotFound(err) {
			r.log.Warn("unpause before stop", "instance", in.Spec.ID, "err", err)
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
	if err != nil {
		r.t.Lock()
		in.halting = false
		r.t.Unlock()
		return fmt.Errorf("stop container: %w", err)
	}
	return nil
}

// removeContainer removes a container and its anonymous volumes, killing it
// if it still runs; one already gone is not an error.
func removeContainer(ctx context.Context, cli containerRemover, cid string) error {
	if cid == "" {
		return nil
	}
	// Volumes are never removed with a container: a volume is the user's.
	err := cli.ContainerRemove(ctx, cid, container.RemoveOptions{Force: true, RemoveVolumes: false})
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
		r.log.Warn("read instance output", "instance", in.Spec.ID, "err", err)
		return
	}
	defer rc.Close()
	w, f, err := capfile.Open(filepath.Join(r.opts.LogDir, string(in.Spec.ID)+".log"), capfile.Limit)
	if err != nil {
		r.log.Warn("write instance output", "instance", in.Spec.ID, "err", err)
		return
	}
	defer f.Close()
	if _, err := stdcopy.StdCopy(w, w, io.LimitReader(rc, 2*capfile.Limit)); err != nil {
		r.log.Warn("copy instance output", "instance", in.Spec.ID, "err", err)
	}
}

var labVars = map[string]bool{"LAB_RUN_ID": true, "LAB_INSTANCE_ID": true, "LAB_ZONE": true,
	"LAB_ADDR": true, "LAB_PORT": true, "LAB_DATA_DIR": true}

// environ is the container's environment: the spec's Env and the LAB_
// variables, which win over Env. LAB_DATA_DIR is the mount
// point inside the container.
func environ(s az.Spec, runID string) []string {
	keys := make([]string, 0, len(s.Env))
	for k := range s.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var env []string
	for _, k := range keys {
		if labVars[k] {
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

// dataDirForNobody makes the shared data directory take the writes of the
// containers, which run as nobody: as root it is given to nobody, mode
// 0700; a user who is not root cannot give it away, so it is left open to
// all (0777) for nobody to write.
func dataDirForNobody(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return os.Chmod(dir, 0o777)
	}
	if err := os.Chown(dir, 65534, 65534); err != nil {
		return err
	}
	return os.Chmod(dir, 0o700)
}
