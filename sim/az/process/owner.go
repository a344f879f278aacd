package process

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/simplydone/lab/internal/sockowner"
	"github.com/simplydone/lab/sim/az"
)

// OwnsListener returns nil when whatever listens at addr is the instance's
// own process (or one of its cgroup or process group), or nothing listens
// there; else an error naming the listener's process. A target must not be
// marked healthy, or sent traffic, on the word of another server that took
// its address.
func (r *Runtime) OwnsListener(_ context.Context, id az.InstanceID, addr netip.AddrPort) error {
	r.t.Lock()
	in, err := r.t.Lookup(id)
	var pid int
	var cg *instanceCgroup
	if err == nil {
		pid, cg = in.PID(), in.cg
	}
	r.t.Unlock()
	if err != nil {
		return err
	}
	var pids []int
	if pid > 0 {
		pids = append(pids, pid)
		if cg != nil {
			pids = append(pids, cg.procs()...)
		} else {
			pids = append(pids, groupMembers(pid)...)
		}
	}
	check := sockowner.Host.Check
	if r.ns != nil && pid == 0 {
		return nil // nothing of the instance runs: nothing in its namespace to place
	}
	if r.ns != nil {
		// the instance's sockets are in the run's namespace, not the host's
		check = func(addr netip.AddrPort, pids []int) error { return sockowner.Host.CheckIn(pid, addr, pids) }
	}
	if err := check(addr, pids); err != nil {
		return fmt.Errorf("instance %s: %w", id, err)
	}
	return nil
}

// groupMembers lists the processes in process group pgid (an instance's
// processes, when there is no cgroup to list them).
func groupMembers(pgid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// after the command name in parentheses: state ppid pgrp ...
		i := strings.LastIndexByte(string(b), ')')
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) {
			out = append(out, pid)
		}
	}
	return out
}
