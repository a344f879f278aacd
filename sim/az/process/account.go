package process

import (
	"context"
	"fmt"

	"github.com/simplydone/lab/sim/az"
)

var _ az.CPUAccounter = (*Runtime)(nil)

// CPUAccount reads the instance's CPU accounting from its cgroup (its
// threads' run-queue delay, its usage and its throttling), or from its
// process's threads when cgroups are not used. A stopped instance reads a
// zero account.
func (r *Runtime) CPUAccount(_ context.Context, id az.InstanceID) (az.CPUAccount, error) {
	r.t.Lock()
	in, err := r.t.Lookup(id)
	if err != nil {
		r.t.Unlock()
		return az.CPUAccount{}, fmt.Errorf("cpu account: %w", err)
	}
	p, cg, share := in.proc, in.cg, in.Spec.Type.CPU
	r.t.Unlock()
	if p == nil {
		return az.CPUAccount{}, nil
	}
	var a az.CPUAccount
	if cg != nil && cg.cpu != "" {
		a, err = az.ReadCgroupCPU("/proc", cg.cpu, cg.acct)
	} else {
		a, err = az.ReadProcessCPU("/proc", p.pid)
	}
	if err != nil {
		return az.CPUAccount{}, fmt.Errorf("cpu account of instance %s: %w", id, err)
	}
	a.Share = share
	return a, nil
}
