package process

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"

	"github.com/simplydone/lab/sim/az"
)

var _ az.Hogger = (*Runtime)(nil)

// hogShell burns one CPU until killed.
var hogShell = []string{"/bin/sh", "-c", "while :; do :; done"}

// Hog burns the instance's CPU share: one busy shell loop per vCPU (rounded
// up), each started inside the instance's own cgroup, so the CPU limit caps
// them and the instance's CPU reading counts them. Each carries
// LAB_RUN_ID and az.HogEnv in its environment and dies with the lab
// (Pdeathsig). Without cgroups the loops would neither be limited nor
// counted, so Hog refuses.
func (r *Runtime) Hog(ctx context.Context, id az.InstanceID) (func() error, error) {
	r.t.Lock()
	in, err := r.t.Lookup(id)
	var cg *instanceCgroup
	var share float64
	running := false
	if err == nil {
		cg, share, running = in.cg, in.Spec.Type.CPU, in.State() == az.StateRunning && in.proc != nil
	}
	r.t.Unlock()
	switch {
	case err != nil:
		return nil, fmt.Errorf("hog: %w", err)
	case !running:
		return nil, fmt.Errorf("hog: instance %s is not running", id)
	case cg == nil || cg.acct == "":
		_, why := r.cg.enforced()
		return nil, fmt.Errorf("hog: instance %s has no cgroup to burn CPU in (%s)", id, why)
	}
	h := &hog{}
	for range max(1, int(math.Ceil(share))) {
		if err := r.startHog(h, cg, id); err != nil {
			h.stop()
			return nil, fmt.Errorf("hog instance %s: %w", id, err)
		}
	}
	r.log.Info("hog started", "instance", id, "processes", len(h.pids))
	return h.stop, nil
}

// hog is the processes burning one instance's CPU.
type hog struct {
	mu   sync.Mutex
	pids []int
	done []chan struct{}
	once sync.Once
}

func (r *Runtime) startHog(h *hog, cg *instanceCgroup, id az.InstanceID) error {
	cmd := exec.Command(hogShell[0], hogShell[1:]...)
	cmd.Env = []string{"LAB_RUN_ID=" + r.opts.RunID, "LAB_INSTANCE_ID=" + string(id), az.HogEnv + "=" + r.opts.RunID}
	cmd.SysProcAttr = sysProcAttr()
	throughShim(cmd) // as root with a shim: no bounding set, no_new_privs
	if cg.v2 {
		fd, err := os.Open(cg.cpu)
		if err != nil {
			return fmt.Errorf("open cgroup: %w", err)
		}
		defer fd.Close()
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, int(fd.Fd())
	}
	if err := r.startCmd(cmd); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }() // owned by the hog: stop waits for it
	h.mu.Lock()
	h.pids, h.done = append(h.pids, cmd.Process.Pid), append(h.done, done)
	h.mu.Unlock()
	if !cg.v2 {
		if err := cg.add(cmd.Process.Pid); err != nil {
			return fmt.Errorf("join cgroup: %w", err)
		}
	}
	return nil
}

// stop kills every hog process and waits until each is reaped.
func (h *hog) stop() error {
	h.once.Do(func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		for i, pid := range h.pids {
			if pid > 1 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			<-h.done[i]
		}
	})
	return nil
}

// KillHogs ends every hog process labelled with runID (az.HogEnv in its
// environment), such as a crashed run left. It returns how many it killed.
func KillHogs(runID string) (int, error) {
	if runID == "" {
		return 0, errors.New("kill hogs: empty run id")
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, fmt.Errorf("kill hogs: %w", err)
	}
	want := []byte(az.HogEnv + "=" + runID)
	n := 0
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 1 || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil || !slicesContain(bytes.Split(env, []byte{0}), want) {
			continue
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
			n++
		}
	}
	return n, nil
}

func slicesContain(kvs [][]byte, want []byte) bool {
	for _, kv := range kvs {
		if bytes.Equal(kv, want) {
			return true
		}
	}
	return false
}
