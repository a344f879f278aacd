package lab

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"sync"

	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/asg"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/stack"
)

// fleet runs the group's instances on the runtime: it hands out ids and
// zone addresses and builds each instance's spec from the launch template.
// It is the Auto Scaling group's Fleet and chaos's Instances.
type fleet struct {
	l  *Lab
	st *stack.Stack // its service's view of the stack: the launch template (services.go)

	mu      sync.Mutex
	zones   map[az.InstanceID]string
	addrs   map[az.InstanceID]netip.Addr
	pending map[az.InstanceID]az.Spec      // launched, not yet started (EC2's pending state): Boot starts them
	stopped map[az.InstanceID]bool         // stopped or killed on purpose (chaos): not a failed launch (launches.go)
	held    map[az.InstanceID]net.Listener // a pending instance's address:port, held until it starts (addrguard.go)
}

func newFleet(l *Lab) *fleet { return newFleetFor(l, l.opts.Stack) }

// newFleetFor is the fleet of one service.
func newFleetFor(l *Lab, st *stack.Stack) *fleet {
	return &fleet{l: l, st: st, zones: map[az.InstanceID]string{}, addrs: map[az.InstanceID]netip.Addr{}, pending: map[az.InstanceID]az.Spec{}, stopped: map[az.InstanceID]bool{},
		held: map[az.InstanceID]net.Listener{}}
}

func (f *fleet) zone(name string) (az.Zone, error) {
	for _, z := range f.l.Zones {
		if z.Name == name {
			return z, nil
		}
	}
	return az.Zone{}, fmt.Errorf("no zone %q", name)
}

// Launch is RunInstances: it gives a new instance of a launch template
// version in zone its id and address and leaves it pending; nothing runs
// until Boot (the group calls it once EC2's pending time has passed).
func (f *fleet) Launch(ctx context.Context, zoneName string, version int) (az.InstanceID, netip.AddrPort, error) {
	zone, err := f.zone(zoneName)
	if err != nil {
		return "", netip.AddrPort{}, err
	}
	lt := f.st.LaunchTemplate
	typ, ok := az.LookupInstanceType(lt.InstanceType)
	if !ok {
		return "", netip.AddrPort{}, fmt.Errorf("unknown instance type %q", lt.InstanceType)
	}
	f.l.randMu.Lock()
	id, err := az.NewInstanceID(f.l.rand)
	f.l.randMu.Unlock()
	if err != nil {
		return "", netip.AddrPort{}, err
	}
	addr, ln, err := f.allocateFree(zone, lt.Port)
	if err != nil {
		return "", netip.AddrPort{}, err
	}
	spec := f.l.specFor(lt, zone, typ)
	maps.Copy(spec.Env, f.l.versionEnvironment(f, version)) // a version the team made at run time too (dbrepoint.go)
	if f.l.opts.Stack.ZoneAgent(zone.Name) != "" {
		f.l.agentDatabaseEnv(spec.Env) // the data tier as that host reaches it
	}
	if spec, err = scaleCapacity(spec, f.l.opts.CapacityScale); err != nil {
		if ln != nil {
			ln.Close()
		}
		f.l.addrs.Release(addr)
		return "", netip.AddrPort{}, err
	}
	spec.ID, spec.Addr = id, addr
	f.mu.Lock()
	f.zones[id], f.addrs[id], f.pending[id] = zone.Name, addr, spec
	if ln != nil {
		f.held[id] = ln
	}
	f.mu.Unlock()
	return id, netip.AddrPortFrom(addr, uint16(lt.Port)), nil
}

// Boot starts a pending instance on the runtime: EC2 has it running, and
// its workload boots (launch_template.boot_time) from now.
func (f *fleet) Boot(ctx context.Context, id az.InstanceID) error {
	f.mu.Lock()
	spec, ok := f.pending[id]
	delete(f.pending, id)
	f.mu.Unlock()
	if !ok {
		return fmt.Errorf("instance %s is not pending", id)
	}
	f.unhold(id) // the instance binds it now
	if _, err := f.l.Runtime.Launch(ctx, spec); err != nil {
		return fmt.Errorf("start instance %s in %s: %w", id, spec.Zone.Name, err)
	}
	return nil
}

// spec is the launch template as a runtime spec, for one zone; the caller
// fills in the id and the address.
func (l *Lab) spec(zone az.Zone, typ az.InstanceType) az.Spec {
	return l.specFor(l.opts.Stack.LaunchTemplate, zone, typ)
}

// specFor is launch template lt as a runtime spec (a service's own).
func (l *Lab) specFor(lt stack.LaunchTemplate, zone az.Zone, typ az.InstanceType) az.Spec {
	env := map[string]string{"SIMPLYDONE_BOOT_DELAY": l.Clock.Wall(lt.BootTime).String(),
		"SIMPLYDONE_RESTART_DELAY": l.Clock.Wall(lt.Restart()).String()} // after a stop (warm pool): storefile.Booted
	maps.Copy(env, l.databaseEnv())
	maps.Copy(env, lt.Environment)
	return az.Spec{Zone: zone, Port: lt.Port, Type: typ, Command: l.opts.command(lt.Command), Image: lt.Image, Env: env,
		DataDir: dataDir(l.Dir), RunID: l.RunID}
}

// Terminate ends an instance and frees its address.
func (f *fleet) Terminate(ctx context.Context, id az.InstanceID) error {
	f.unhold(id) // terminated while pending
	err := f.l.Runtime.Terminate(ctx, id)
	f.mu.Lock()
	addr, ok := f.addrs[id]
	delete(f.addrs, id)
	delete(f.zones, id)
	delete(f.pending, id)
	f.mu.Unlock()
	if ok {
		f.l.addrs.Release(addr)
	}
	if err != nil && !errors.Is(err, az.ErrNotFound) {
		return err
	}
	return nil
}

// instanceFinder is a runtime that finds one instance without listing
// every zone's (zonedRuntime: an agent's List is a request to its host).
type instanceFinder interface {
	Instance(ctx context.Context, id az.InstanceID) (az.Instance, bool, error)
}

// instance is the runtime's view of one instance.
func (f *fleet) instance(id az.InstanceID) (az.Instance, bool) {
	if one, ok := f.l.Runtime.(instanceFinder); ok {
		in, found, err := one.Instance(context.Background(), id)
		return in, found && err == nil
	}
	list, err := f.l.Runtime.List(context.Background())
	if err != nil {
		return az.Instance{}, false
	}
	for _, in := range list {
		if in.ID == id {
			return in, true
		}
	}
	return az.Instance{}, false
}

// Running is EC2's view: a frozen instance is still running.
func (f *fleet) Running(id az.InstanceID) bool {
	in, ok := f.instance(id)
	return ok && (in.State == az.StateRunning || in.State == az.StatePaused)
}

// CPU is the instance's CPUUtilization since the last reading.
func (f *fleet) CPU(ctx context.Context, id az.InstanceID) (float64, error) {
	s, err := f.l.Runtime.Stats(ctx, id)
	return s.CPUUtilization, err
}

// chaosFleet is what chaos may act on: this run's running instances.
type chaosFleet struct{ f *fleet }

func (c chaosFleet) Running() []chaos.Victim {
	var vs []chaos.Victim
	for _, in := range c.f.l.allInstances() {
		if c.f.l.fleetOf(in.ID).Running(in.ID) {
			vs = append(vs, chaos.Victim{ID: string(in.ID), Zone: in.Zone, Launched: in.Launched})
		}
	}
	return vs
}

// InService is how many of the group's instances are in service: a
// replacement still pending or held by a launch hook does not serve yet.
func (c chaosFleet) InService() int {
	n := 0
	for _, in := range c.f.l.allInstances() {
		if in.State == asg.InService {
			n++
		}
	}
	return n
}

// Kill ends the instance abruptly, as a crash or a pulled plug.
func (c chaosFleet) Kill(ctx context.Context, id string) error {
	c.f.l.fleetOf(az.InstanceID(id)).onPurpose(id, true)
	return c.f.l.Runtime.Kill(ctx, az.InstanceID(id))
}

func (c chaosFleet) Stop(ctx context.Context, id string) error {
	c.f.l.fleetOf(az.InstanceID(id)).onPurpose(id, true)
	return c.f.l.Runtime.Stop(ctx, az.InstanceID(id))
}

func (c chaosFleet) Start(ctx context.Context, id string) error {
	c.f.l.fleetOf(az.InstanceID(id)).onPurpose(id, false)
	return gone(c.f.l.Runtime.Start(ctx, az.InstanceID(id)))
}

// gone tells chaos that an instance a revert acts on is terminated: there
// is nothing left to undo (chaos.ErrGone), not a revert that failed.
func gone(err error) error {
	if errors.Is(err, az.ErrNotFound) {
		return fmt.Errorf("%w: %w", chaos.ErrGone, err)
	}
	return err
}

// Pause freezes the instance (the gray failure): EC2 still says running,
// the load balancer's health checks time out.
func (c chaosFleet) Pause(ctx context.Context, id string) error {
	return c.f.l.Runtime.Pause(ctx, az.InstanceID(id))
}

func (c chaosFleet) Resume(ctx context.Context, id string) error {
	return gone(c.f.l.Runtime.Resume(ctx, az.InstanceID(id)))
}

// Paused is the runtime's word that the instance is frozen.
func (c chaosFleet) Paused(_ context.Context, id string) (bool, error) {
	in, ok := c.f.instance(az.InstanceID(id))
	if !ok {
		return false, fmt.Errorf("no instance %s", id)
	}
	return in.State == az.StatePaused, nil
}

// targets is the load balancer's target group as the group sees it.
type targets struct {
	lb    *alb.LoadBalancer
	group string // the service's target group; "": the load balancer's own
}

func (t targets) Register(id az.InstanceID, zone string, addr netip.AddrPort) error {
	if t.group == "" || len(t.lb.TargetGroupNames()) == 1 {
		return t.lb.Register(id, zone, addr)
	}
	return t.lb.RegisterIn(t.group, id, zone, addr)
}

func (t targets) Deregister(id az.InstanceID) (<-chan struct{}, error) { return t.lb.Deregister(id) }

// State is the target's health as DescribeTargetHealth shows it: the
// live nodes' views folded into one (alb.FoldHealth); a stopped node's frozen view does not count.
func (t targets) State(id az.InstanceID) string { return string(t.lb.TargetHealth(id)) }
