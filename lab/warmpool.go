package lab

import (
	"context"
	"net"
	"strconv"
	"time"

	"github.com/simplydone/lab/sim/asg"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/stack"
	"github.com/simplydone/lab/todo/storefile"
)

// warmPool is the stack's warm pool as the group takes it; nil for none.
func warmPool(w *stack.WarmPool) *asg.WarmPool {
	if w == nil {
		return nil
	}
	return &asg.WarmPool{PoolState: w.PoolState, MinSize: w.MinSize, MaxGroupPreparedCapacity: w.MaxGroupPreparedCapacity,
		ReuseOnScaleIn: w.ReuseOnScaleIn}
}

// Stop is EC2's StopInstances for the warm pool: the runtime stops the
// process or container and keeps it (its id, address and first-boot mark).
func (f *fleet) Stop(ctx context.Context, id az.InstanceID) error { return f.l.Runtime.Stop(ctx, id) }

// Start is EC2's StartInstances: the runtime boots the stopped instance
// again, which finds its first-boot mark and waits only restart_time.
func (f *fleet) Start(ctx context.Context, id az.InstanceID) error { return f.l.Runtime.Start(ctx, id) }

// Initialised says whether the instance's first boot has finished: its
// first-boot mark is in the data directory (SimplyDone leaves one), or, for
// a workload that leaves none, it accepts connections on its port.
func (f *fleet) Initialised(id az.InstanceID) bool {
	if storefile.HasBooted(dataDir(f.l.Dir), string(id)) {
		return true
	}
	f.mu.Lock()
	addr, ok := f.addrs[id]
	f.mu.Unlock()
	if !ok {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	dial := f.l.instanceDial()
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	c, err := dial(ctx, "tcp", net.JoinHostPort(addr.String(), strconv.Itoa(f.st.LaunchTemplate.Port)))
	if err != nil {
		return false
	}
	c.Close()
	return true
}
