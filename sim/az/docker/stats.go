package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	gdocker "github.com/shirou/gopsutil/v3/docker"

	"github.com/simplydone/lab/sim/az"
)

// cgroupV1CPU is where a local engine with the cgroupfs driver keeps each
// container's CPU accounting on cgroup v1 (gopsutil's default base).
const cgroupV1CPU = "/sys/fs/cgroup/cpuacct/docker"

// Stats reads the container's CPU use since the previous reading (the
// first: since it started) as a percentage of its CPU share, and its memory
// in use (less inactive page cache, as `docker stats` shows it). A stopped
// instance reads zero.
func (r *Runtime) Stats(ctx context.Context, id az.InstanceID) (az.Stats, error) {
	r.t.Lock()
	in, err := r.t.Lookup(id)
	if err != nil {
		r.t.Unlock()
		return az.Stats{}, fmt.Errorf("stats: %w", err)
	}
	cid, state, lastCPU, lastAt, share, started := in.cid, in.State(), in.lastCPU, in.lastAt, in.Spec.Type.CPU, in.Started()
	r.t.Unlock()
	if state != az.StateRunning && state != az.StatePaused {
		return az.Stats{}, nil
	}
	used, at, mem, err := r.read(ctx, cid)
	if err != nil {
		if cerrdefs.IsNotFound(err) || errors.Is(err, os.ErrNotExist) {
			return az.Stats{}, nil // it just ended: a stopped instance reads zero
		}
		return az.Stats{}, fmt.Errorf("stats for instance %s: %w", id, err)
	}
	st := az.Stats{MemoryBytes: mem}
	if share <= 0 {
		share = 1
	}
	if wall := at.Sub(lastAt); wall > 0 && used >= lastCPU {
		st.CPUUtilization = 100 * (used - lastCPU).Seconds() / wall.Seconds() / share
	}
	r.t.Lock()
	if in.Started().Equal(started) && at.After(in.lastAt) {
		in.lastCPU, in.lastAt = used, at
	}
	r.t.Unlock()
	return st, nil
}

// useCgroup says whether to read the container's cgroup directly.
func (r *Runtime) useCgroup(cid string) bool {
	switch r.opts.Stats {
	case StatsCgroup:
		return true
	case StatsAPI:
		return false
	}
	if !r.local {
		return false
	}
	_, err := os.Stat(filepath.Join(cgroupV1CPU, cid, "cpuacct.usage"))
	return err == nil
}

// read is the container's total CPU time, when it was read, and its memory
// in use: from its cgroup through gopsutil when the engine is local and
// uses cgroup v1, else from the engine's Stats API.
func (r *Runtime) read(ctx context.Context, cid string) (time.Duration, time.Time, uint64, error) {
	if r.useCgroup(cid) {
		cpu, at, mem, err := readCgroup(ctx, cid)
		if err == nil || r.opts.Stats == StatsCgroup {
			return cpu, at, mem, err
		}
	}
	return r.readAPI(ctx, cid)
}

func readCgroup(ctx context.Context, cid string) (time.Duration, time.Time, uint64, error) {
	secs, err := gdocker.CgroupCPUDockerUsageWithContext(ctx, cid)
	if err != nil {
		return 0, time.Time{}, 0, err
	}
	at := time.Now()
	m, err := gdocker.CgroupMemDockerWithContext(ctx, cid)
	if err != nil {
		return 0, time.Time{}, 0, err
	}
	mem := m.MemUsageInBytes
	if m.TotalInactiveFile < mem {
		mem -= m.TotalInactiveFile
	}
	return time.Duration(secs * 1e9), at, mem, nil
}

// readAPI asks the engine for one reading, with at most StatsWorkers such
// calls in flight.
func (r *Runtime) readAPI(ctx context.Context, cid string) (time.Duration, time.Time, uint64, error) {
	select {
	case r.statSem <- struct{}{}:
	case <-ctx.Done():
		return 0, time.Time{}, 0, ctx.Err()
	}
	defer func() { <-r.statSem }()
	resp, err := r.cli.ContainerStatsOneShot(ctx, cid)
	if err != nil {
		return 0, time.Time{}, 0, err
	}
	defer resp.Body.Close()
	var s container.StatsResponse
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return 0, time.Time{}, 0, fmt.Errorf("decode stats: %w", err)
	}
	if s.Read.IsZero() || s.CPUStats.CPUUsage.TotalUsage == 0 && s.MemoryStats.Usage == 0 {
		// The engine answers an empty reading for a container that is not running.
		return 0, time.Time{}, 0, fmt.Errorf("container %.12s: %w", cid, os.ErrNotExist)
	}
	mem := s.MemoryStats.Usage
	inactive, ok := s.MemoryStats.Stats["total_inactive_file"] // cgroup v1
	if !ok {
		inactive = s.MemoryStats.Stats["inactive_file"] // cgroup v2
	}
	if inactive < mem {
		mem -= inactive
	}
	return time.Duration(s.CPUStats.CPUUsage.TotalUsage), s.Read, mem, nil
}
