package docker

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/simplydone/lab/internal/runns"
)

// Isolated returns "" and true when each container has a network namespace
// of its own (Options.Isolate); false when they share the host's network.
func (r *Runtime) Isolated() (string, bool) { return "", r.opts.Isolate }

// Dial connects to an instance: on the host's network, or, with Isolate,
// inside the namespace of the container serving address.
func (r *Runtime) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	if !r.opts.Isolate {
		return (&net.Dialer{KeepAlive: -1}).DialContext(ctx, network, address)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", address, err)
	}
	list, err := r.t.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", address, err)
	}
	cid := ""
	for _, i := range list {
		if i.Addr == ap.Addr() && i.Port == int(ap.Port()) {
			r.t.Lock()
			if in, err := r.t.Lookup(i.ID); err == nil {
				cid = in.cid
			}
			r.t.Unlock()
		}
	}
	if cid == "" {
		return nil, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("no container of the run serves %s", address)}
	}
	pid, err := r.containerPID(ctx, cid)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	return runns.DialPID(ctx, pid, network, address)
}

// containerPID is the pid of the container's first process: remembered,
// and asked of the engine again when the remembered process is no longer
// in the container's cgroup (the container restarted).
func (r *Runtime) containerPID(ctx context.Context, cid string) (int, error) {
	r.pidMu.Lock()
	pid, ok := r.pids[cid]
	r.pidMu.Unlock()
	if ok && inContainer(pid, cid) {
		return pid, nil
	}
	c, err := r.cli.ContainerInspect(ctx, cid)
	if err != nil {
		return 0, fmt.Errorf("container %s: %w", cid[:12], err)
	}
	if c.State == nil || !c.State.Running || c.State.Pid <= 0 {
		return 0, fmt.Errorf("container %s is not running", cid[:12])
	}
	r.pidMu.Lock()
	if r.pids == nil {
		r.pids = map[string]int{}
	}
	r.pids[cid] = c.State.Pid
	r.pidMu.Unlock()
	return c.State.Pid, nil
}

// inContainer reports whether pid is a process of container cid (its
// cgroup path names the container).
func inContainer(pid int, cid string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	return err == nil && strings.Contains(string(b), cid)
}
