package docker

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/simplydone/lab/internal/sockowner"
	"github.com/simplydone/lab/sim/az"
)

// OwnsListener returns nil when whatever listens at addr is a process of
// the instance's container (its cgroup, found from the pid the engine
// gives), or nothing listens there; else an error naming the listener's
// process: another server on the address, or a crashed run's container.
// Containers share the host's network, so their sockets are in this host's
// /proc.
func (r *Runtime) OwnsListener(ctx context.Context, id az.InstanceID, addr netip.AddrPort) error {
	r.t.Lock()
	in, err := r.t.Lookup(id)
	cid := ""
	if err == nil {
		cid = in.cid
	}
	r.t.Unlock()
	if err != nil {
		return err
	}
	var pids []int
	nsPID := 0 // the container's own namespace (Isolate); 0: the host's
	if cid != "" {
		c, err := r.cli.ContainerInspect(ctx, cid)
		if err != nil {
			// The engine did not say; a check that cannot tell must not
			// fail a healthy target (the HTTP check still runs).
			r.log.Warn("listener owner: inspect", "instance", id, "err", err)
			return nil
		}
		if c.State != nil && c.State.Running && c.State.Pid > 0 {
			pids = cgroupPeers(c.State.Pid)
			if r.opts.Isolate {
				nsPID = c.State.Pid
			}
		}
	}
	if r.opts.Isolate && nsPID == 0 {
		return nil // nothing of the container runs: nothing in its namespace to place
	}
	check := sockowner.Host.Check
	if nsPID > 0 {
		check = func(addr netip.AddrPort, pids []int) error { return sockowner.Host.CheckIn(nsPID, addr, pids) }
	}
	if err := check(addr, pids); err != nil {
		return fmt.Errorf("instance %s: %w", id, err)
	}
	return nil
}

// cgroupPeers lists the processes in pid's cgroup (v2, or v1's pids or
// memory hierarchy), pid among them.
func cgroupPeers(pid int) []int {
	out := []int{pid}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return out
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		var dir string
		switch {
		case parts[0] == "0" && parts[1] == "":
			dir = filepath.Join("/sys/fs/cgroup", parts[2])
		case parts[1] == "pids" || parts[1] == "memory":
			dir = filepath.Join("/sys/fs/cgroup", parts[1], parts[2])
		default:
			continue
		}
		procs, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(procs)) {
			if p, err := strconv.Atoi(f); err == nil && p != pid {
				out = append(out, p)
			}
		}
		return out
	}
	return out
}
