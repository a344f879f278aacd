package lab

import (
	"context"

	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/rundir"
	"math/rand/v2"
	"net/netip"

	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/asg"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/stack"
)

// Several services in one stack (issue 16, item 2; stack/services.go): each
// service runs its own fleet (its launch template) and its own Auto Scaling
// group, registering its instances in its own target group, with its
// policies' alarms on its own metrics. The first service's fleet and group
// are Lab.fleet and Lab.Group, so that what reads one group (a one-service
// stack's every reader) reads as before.

// service is one of the stack's services as the lab runs it.
type service struct {
	name  string       // the target group's and the group's name
	st    *stack.Stack // the stack as the service sees it (stack.ServiceStack)
	fleet *fleet
	group *asg.Group
}

// startServices builds every service's fleet and group (not started).
func (l *Lab) startServices() error {
	s := l.opts.Stack
	for i, sv := range s.ServiceList() {
		st := s.ServiceStack(i)
		f := newFleetFor(l, st)
		cfg := groupConfigFor(st, l, f)
		cfg.Targets = targets{lb: l.LB, group: sv.Name}
		if i > 0 { // the first keeps the stream it always had
			cfg.Rand = rand.New(rand.NewPCG(l.opts.Seed, 0x617367+uint64(i)))
		}
		g, err := asg.New(cfg)
		if err != nil {
			return err
		}
		l.services = append(l.services, &service{name: sv.Name, st: st, fleet: f, group: g})
	}
	l.fleet, l.Group = l.services[0].fleet, l.services[0].group
	return nil
}

// groups are every service's Auto Scaling group, the first first.
func (l *Lab) groups() []*asg.Group {
	var gs []*asg.Group
	for _, sv := range l.services {
		if sv.group != nil {
			gs = append(gs, sv.group)
		}
	}
	if len(gs) == 0 && l.Group != nil {
		gs = append(gs, l.Group)
	}
	return gs
}

// allInstances are every group's instances.
func (l *Lab) allInstances() []asg.Instance {
	var out []asg.Instance
	for _, g := range l.groups() {
		out = append(out, g.Instances()...)
	}
	return out
}

// fleetOf is the fleet that launched instance id (the first's when none did).
func (l *Lab) fleetOf(id az.InstanceID) *fleet {
	for _, sv := range l.services {
		sv.fleet.mu.Lock()
		_, ok := sv.fleet.zones[id]
		sv.fleet.mu.Unlock()
		if ok {
			return sv.fleet
		}
	}
	return l.fleet
}

// fleetAt returns the instance some fleet gave address a.
func (l *Lab) fleetAt(a netip.Addr) (az.InstanceID, bool) {
	for _, sv := range l.services {
		if id, ok := sv.fleet.at(a); ok {
			return id, true
		}
	}
	if l.fleet != nil && len(l.services) == 0 {
		return l.fleet.at(a)
	}
	return "", false
}

// serviceOf is the service whose group has instance id; nil for none.
func (l *Lab) serviceOf(id az.InstanceID) *service {
	f := l.fleetOf(id)
	for _, sv := range l.services {
		if sv.fleet == f {
			return sv
		}
	}
	return nil
}

// extraTargetGroups are the load balancer's target groups beyond the
// first service's: one per other service, each with its own health check.
func extraTargetGroups(s *stack.Stack) []alb.TargetGroupConfig {
	var out []alb.TargetGroupConfig
	for i, sv := range s.ServiceList() {
		if i == 0 {
			continue
		}
		out = append(out, alb.TargetGroupConfig{Name: sv.Name, HealthCheck: albHealthCheck(sv.TargetGroup.HealthCheck)})
	}
	return out
}

func albHealthCheck(hc stack.HealthCheck) alb.HealthCheck {
	return alb.HealthCheck{
		Path:       hc.Path,
		Interval:   hc.Interval,
		Timeout:    hc.Timeout,
		Thresholds: alb.Thresholds{Healthy: hc.HealthyThreshold, Unhealthy: hc.UnhealthyThreshold},
		Matches:    hc.Matches,
	}
}

// closeGroups closes every service's group.
func (l *Lab) closeGroups() {
	for _, g := range l.groups() {
		g.Close(context.Background())
	}
}

// serviceDims points a service's load balancer alarm at its own target
// group, on a stack with several services: AWS/ApplicationELB by
// LoadBalancer and TargetGroup (what the load balancer publishes per target
// group, alb.MetricPublisher), as AWS's ALBRequestCountPerTarget reads a
// target group's. A one-service stack's alarms stay as they were.
func (l *Lab) serviceDims(s *stack.Stack, a *asg.Alarm) {
	if !l.opts.Stack.MultiService() || a.Namespace != alb.Namespace {
		return
	}
	a.Dimensions = map[string]string{alb.DimLoadBalancer: l.opts.Stack.Name, alb.DimTargetGroup: s.Name}
}

// inService is every group's in-service instances by zone.
func (l *Lab) inService() map[string]int {
	gs := l.groups()
	if len(gs) == 1 {
		return gs[0].InService()
	}
	out := map[string]int{}
	for _, g := range gs {
		for z, n := range g.InService() {
			out[z] += n
		}
	}
	return out
}

// desired is every group's desired capacity, summed.
func (l *Lab) desired() int {
	n := 0
	for _, g := range l.groups() {
		n += g.Desired()
	}
	return n
}

// servicesCPU is the mean of the services' groups' CPUUtilization.
func (l *Lab) servicesCPU() (float64, bool) {
	sum, n := 0.0, 0
	for _, sv := range l.services {
		if v, ok := l.groupCPUOf(sv.name); ok {
			sum, n = sum+v, n+1
		}
	}
	if n == 0 {
		return 0, false
	}
	return sum / float64(n), true
}

// ServiceState is one service as a view shows it: its group's capacity,
// its target group's healthy targets and traffic so far.
type ServiceState struct {
	Name      string  `json:"name"`
	Desired   int     `json:"desired"`
	Min       int     `json:"min"`
	Max       int     `json:"max"`
	InService int     `json:"in_service"`
	Healthy   int     `json:"healthy"`  // targets the live nodes fold to healthy
	Requests  int64   `json:"requests"` // routed to its targets since the start
	Errors5xx int64   `json:"errors_5xx"`
	CPU       float64 `json:"cpu"` // its group's CPUUtilization over the last AWS minute (HasCPU)
	HasCPU    bool    `json:"has_cpu"`
}

// servicesObserved is each service's state, and the groups summed.
func (l *Lab) servicesObserved() (GroupState, []ServiceState) {
	sum := GroupState{Name: l.opts.Stack.Name}
	var out []ServiceState
	for _, sv := range l.services {
		g := sv.st.AutoScalingGroup
		ss := ServiceState{Name: sv.name, Desired: sv.group.Desired(), Min: g.MinSize, Max: g.MaxSize}
		for _, n := range sv.group.InService() {
			ss.InService += n
		}
		c := l.LB.TargetGroupCounts(sv.name)
		ss.Healthy, ss.Requests = c.Healthy, c.Requests
		ss.Errors5xx = c.Target5XX + c.ELBErrors()
		ss.CPU, ss.HasCPU = l.groupCPUOf(sv.name)
		sum.Desired, sum.Min, sum.Max = sum.Desired+ss.Desired, sum.Min+g.MinSize, sum.Max+g.MaxSize
		out = append(out, ss)
	}
	return sum, out
}

// serviceScaling is group's own scaling counts; c.mu must be held. It
// counts into a scratch value for a group no service has.
func (c *collector) serviceScaling(group string) *Scaling {
	if c.svcScaling == nil {
		c.svcScaling = map[string]*Scaling{}
	}
	sc := c.svcScaling[group]
	if sc == nil {
		sc = &Scaling{}
		c.svcScaling[group] = sc
	}
	return sc
}

// observeServices samples each service's in-service count, on a stack with
// several services.
func (c *collector) observeServices(l *Lab) {
	if !l.opts.Stack.MultiService() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.svcInSvc == nil {
		c.svcInSvc = map[string]*rundir.MinMax{}
	}
	for _, sv := range l.services {
		n := 0
		for _, v := range sv.group.InService() {
			n += v
		}
		mm := c.svcInSvc[sv.name]
		if mm == nil {
			c.svcInSvc[sv.name] = &rundir.MinMax{Min: n, Max: n}
			continue
		}
		mm.Min, mm.Max = min(mm.Min, n), max(mm.Max, n)
	}
}

// fillServices writes the per-service summary, on a stack with several.
func (c *collector) fillServices(s *Summary, l *Lab) {
	if !l.opts.Stack.MultiService() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, sv := range l.services {
		tc := l.LB.TargetGroupCounts(sv.name)
		ss := rundir.ServiceSummary{Name: sv.name, Requests: tc.Requests, Target2xx: tc.Target2XX, Target4xx: tc.Target4XX, Target5xx: tc.Target5XX,
			ELBErrors: tc.ELBErrors(), Desired: sv.group.Desired()}
		if mm := c.svcInSvc[sv.name]; mm != nil {
			ss.InService = *mm
		}
		if sc := c.svcScaling[sv.name]; sc != nil {
			ss.Scaling = *sc
		}
		s.Services = append(s.Services, ss)
	}
}

// capacity is what a zone's power loss impairs: every service's group's
// launches into the zone (the first group alone on a one-service stack).
func (l *Lab) capacity() chaos.Capacity {
	if len(l.services) < 2 {
		return l.Group
	}
	return groupsCapacity(l.groups())
}

// groupsCapacity impairs and restores a zone for several groups at once.
type groupsCapacity []*asg.Group

func (gs groupsCapacity) ImpairZone(zone string) (func(), error) {
	var restores []func()
	undo := func() {
		for i := len(restores) - 1; i >= 0; i-- {
			restores[i]()
		}
	}
	for _, g := range gs {
		r, err := g.ImpairZone(zone)
		if err != nil {
			undo()
			return nil, err
		}
		restores = append(restores, r)
	}
	return undo, nil
}

func (gs groupsCapacity) ZoneImpaired(zone string) bool {
	for _, g := range gs {
		if g.ZoneImpaired(zone) {
			return true
		}
	}
	return false
}
