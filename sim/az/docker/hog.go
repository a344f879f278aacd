package docker

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"

	"github.com/docker/docker/api/types/container"

	"github.com/simplydone/lab/sim/az"
)

var _ az.Hogger = (*Runtime)(nil)

// hogCmd burns CPU inside a container built from SimplyDone's binary (/app,
// FROM scratch: there is no shell to loop in).
var hogCmd = []string{"/app", "hog"}

// Hog burns the container's CPU with `docker exec`: the process runs inside
// the container's own cgroup, so the container's CPU limit caps it and its
// CPU reading counts it. It is labelled az.HogEnv=<run> and killed by its
// host pid on stop. A user's image without /app cannot run it.
func (r *Runtime) Hog(ctx context.Context, id az.InstanceID) (func() error, error) {
	r.t.Lock()
	in, err := r.t.Lookup(id)
	var cid string
	running := false
	if err == nil {
		cid, running = in.cid, in.State() == az.StateRunning
	}
	r.t.Unlock()
	switch {
	case err != nil:
		return nil, fmt.Errorf("hog: %w", err)
	case !running:
		return nil, fmt.Errorf("hog: instance %s is not running", id)
	}
	ex, err := r.cli.ContainerExecCreate(ctx, cid, container.ExecOptions{Cmd: hogCmd, Env: []string{az.HogEnv + "=" + r.opts.RunID}})
	if err != nil {
		return nil, fmt.Errorf("hog instance %s: docker exec: %w", id, err)
	}
	if err := r.cli.ContainerExecStart(ctx, ex.ID, container.ExecStartOptions{Detach: true}); err != nil {
		return nil, fmt.Errorf("hog instance %s: docker exec start: %w", id, err)
	}
	insp, err := r.cli.ContainerExecInspect(ctx, ex.ID)
	if err != nil || insp.Pid <= 1 || !insp.Running {
		return nil, fmt.Errorf("hog instance %s: the exec is not running (pid %d, exit %d): %v", id, insp.Pid, insp.ExitCode, err)
	}
	pid := insp.Pid
	var once sync.Once
	var stopErr error
	return func() error {
		once.Do(func() {
			if !isHog(pid, r.opts.RunID) {
				return // already gone (the container stopped)
			}
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && err != syscall.ESRCH {
				stopErr = fmt.Errorf("stop the hog in %s (pid %d): %w", id, pid, err)
			}
		})
		return stopErr
	}, nil
}

// isHog says whether pid is still the run's hog.
func isHog(pid int, runID string) bool {
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	return err == nil && strings.Contains("\x00"+string(env)+"\x00", "\x00"+az.HogEnv+"="+runID+"\x00")
}
