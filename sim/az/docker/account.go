package docker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/simplydone/lab/sim/az"
)

var _ az.CPUAccounter = (*Runtime)(nil)

// cgroupDirs are where a local engine keeps a container's cpu and cpuacct
// cgroups: cgroup v1 with the cgroupfs driver, v1 with systemd, and v2
// with systemd (one directory for both).
func cgroupDirs(cid string) [][2]string {
	return [][2]string{
		{"/sys/fs/cgroup/cpu/docker/" + cid, "/sys/fs/cgroup/cpuacct/docker/" + cid},
		{"/sys/fs/cgroup/cpu/system.slice/docker-" + cid + ".scope", "/sys/fs/cgroup/cpuacct/system.slice/docker-" + cid + ".scope"},
		{"/sys/fs/cgroup/system.slice/docker-" + cid + ".scope", "/sys/fs/cgroup/system.slice/docker-" + cid + ".scope"},
		{"/sys/fs/cgroup/docker/" + cid, "/sys/fs/cgroup/docker/" + cid},
	}
}

// CPUAccount reads the container's CPU accounting from its cgroup (its
// threads' run-queue delay, usage and throttling) when the engine is local
// and its cgroup is found; otherwise it says it cannot. A container that
// is not running reads a zero account.
func (r *Runtime) CPUAccount(_ context.Context, id az.InstanceID) (az.CPUAccount, error) {
	r.t.Lock()
	in, err := r.t.Lookup(id)
	if err != nil {
		r.t.Unlock()
		return az.CPUAccount{}, fmt.Errorf("cpu account: %w", err)
	}
	cid, state, share := in.cid, in.State(), in.Spec.Type.CPU
	r.t.Unlock()
	if state != az.StateRunning || cid == "" {
		return az.CPUAccount{}, nil
	}
	if !r.local {
		return az.CPUAccount{}, errors.New("cpu account: the Docker engine is not local; its cgroups cannot be read")
	}
	for _, d := range cgroupDirs(cid) {
		if _, err := os.Stat(filepath.Join(d[0], "cpu.stat")); err != nil {
			continue
		}
		a, err := az.ReadCgroupCPU("/proc", d[0], d[1])
		if err != nil {
			return az.CPUAccount{}, fmt.Errorf("cpu account of instance %s: %w", id, err)
		}
		a.Share = share
		return a, nil
	}
	return az.CPUAccount{}, fmt.Errorf("cpu account of instance %s: container %.12s's cgroup not found", id, cid)
}
