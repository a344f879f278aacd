package stack

import (
	"time"

	"gopkg.in/yaml.v3"
)

// Warm pool instance states (PutWarmPool's PoolState).
const (
	PoolStateStopped    = "Stopped"
	PoolStateRunning    = "Running"
	PoolStateHibernated = "Hibernated"
)

var poolStates = []string{PoolStateStopped, PoolStateRunning, PoolStateHibernated}

// WarmPool is the group's warm pool (aws-behaviour.md 2.10; AWS's
// PutWarmPool): instances launched and initialised ahead of need, kept
// stopped (or running, or hibernated) beside the group, and started into it
// on scale-out faster than a cold launch.
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-warm-pools.html
type WarmPool struct {
	PoolState string // Stopped (AWS default), Running or Hibernated
	MinSize   int    // the fewest instances kept in the pool; AWS default 0
	// MaxGroupPreparedCapacity is the most instances allowed in the pool
	// and the group together; -1 (AWS default) means the group's max size.
	MaxGroupPreparedCapacity int
	ReuseOnScaleIn           bool // instance_reuse_policy.reuse_on_scale_in: scale-in returns instances to the pool; AWS default false
}

// Size is the pool's size for a desired capacity, as AWS computes it: the
// prepared capacity (MaxGroupPreparedCapacity, else the group's max size)
// less the desired capacity, never below MinSize (nor below 0).
func (w WarmPool) Size(maxSize, desired int) int {
	prepared := w.MaxGroupPreparedCapacity
	if prepared < 0 {
		prepared = maxSize
	}
	return max(w.MinSize, prepared-desired, 0)
}

// Restart is how long an instance started again from stopped takes to run
// its workload: restart_time, else boot_time (the lab assumes nothing is
// faster than a first boot unless the stack says so).
func (lt LaunchTemplate) Restart() time.Duration {
	if lt.RestartTime != nil {
		return *lt.RestartTime
	}
	return lt.BootTime
}

// warmPool reads auto_scaling_group.warm_pool.
func (p *parser) warmPool(m map[string]*yaml.Node, g *AutoScalingGroup) {
	const path = "auto_scaling_group.warm_pool"
	wm := p.Mapping(m["warm_pool"], path, "pool_state", "min_size", "max_group_prepared_capacity", "instance_reuse_policy")
	if wm == nil {
		return
	}
	w := &WarmPool{PoolState: PoolStateStopped, MaxGroupPreparedCapacity: -1}
	p.Str(wm, path, "pool_state", &w.PoolState)
	p.Int(wm, path, "min_size", &w.MinSize)
	p.Int(wm, path, "max_group_prepared_capacity", &w.MaxGroupPreparedCapacity)
	const rpath = path + ".instance_reuse_policy"
	rm := p.Mapping(wm["instance_reuse_policy"], rpath, "reuse_on_scale_in")
	p.Bool(rm, rpath, "reuse_on_scale_in", &w.ReuseOnScaleIn)
	g.WarmPool = w
}

// validateWarmPool checks the warm pool against PutWarmPool's ranges, and
// the launch template's restart_time, which only matters with a pool or a
// stopped instance started again.
func (p *parser) validateWarmPool(s *Stack) {
	if rt := s.LaunchTemplate.RestartTime; rt != nil && *rt < 0 {
		p.Errf("launch_template.restart_time", "%s is negative; use 0 or more (the default is boot_time)", fmtDur(*rt))
	}
	w := s.AutoScalingGroup.WarmPool
	if w == nil {
		return
	}
	const path = "auto_scaling_group.warm_pool"
	p.OneOf(path+".pool_state", w.PoolState, poolStates)
	if !p.Bad(path + ".min_size") {
		_ = p.intRange(path+".min_size", w.MinSize, 0, -1) && p.hostRange(path+".min_size", w.MinSize)
	}
	if !p.Bad(path+".max_group_prepared_capacity") && w.MaxGroupPreparedCapacity < -1 {
		p.Errf(path+".max_group_prepared_capacity", "%d is not allowed; use -1 (the group's max size, AWS's default) or 0 or more", w.MaxGroupPreparedCapacity)
	} else if !p.Bad(path + ".max_group_prepared_capacity") {
		p.hostRange(path+".max_group_prepared_capacity", w.MaxGroupPreparedCapacity)
	}
}
