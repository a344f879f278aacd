package lab

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/simplydone/lab/sim/agent"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/stack"
)

// Zones on other hosts (issue 20). A stack's zones: may name an agent per
// zone (stack/zones.go): `lab agent` on that zone's host runs the zone's
// instances, their metrics and the instance-level faults, and the
// controller (this process: the load balancer nodes, the group,
// CloudWatch, chaos, the load) drives them through remoteZone. A stack
// without agents takes none of this: the run's one local runtime is
// l.Runtime, as it always was.

// remoteZone is a zone's runtime on an agent's host as the lab drives it;
// sim/agent's *Remote satisfies it. Cut cuts the agent's host off the
// network for d at most (the agent ends it at d by its own timer, since the
// controller cannot reach it meanwhile); restore ends it early.
type remoteZone interface {
	az.Runtime
	az.Hogger
	az.CPUAccounter
	Cut(ctx context.Context, d time.Duration) (restore func() error, err error)
}

// dialAgent opens run runID on the agent at addr (the token proves the
// controller to it), with its instances on driver, and returns the zone's
// runtime there and the agent's subnet; join, when set, has the agent
// join the controller's cluster for the run. openOnAgent (agentdial.go,
// sim/agent) in a lab binary; tests put a stand-in here; nil: this binary
// reaches no agent, and a stack naming one is refused.
var dialAgent func(ctx context.Context, addr string, token []byte, runID, driver string, join *agent.JoinSpec) (remoteZone, netip.Prefix, error) = openOnAgent

// agentDialTimeout bounds dialling one agent and opening the run there.
const agentDialTimeout = 15 * time.Second

// preflightAgents refuses, before anything starts, a stack naming agents
// that this run cannot use.
func preflightAgents(o *Options) error {
	st := o.Stack
	if !st.HasAgents() {
		return nil
	}
	var named []string
	for _, z := range st.Zones {
		if a := st.ZoneAgent(z); a != "" {
			named = append(named, z+" on "+a)
		}
	}
	refuse := func(format string, args ...any) error {
		return &PreflightError{Err: fmt.Errorf("%s: zones: %s run on agents, but %s", st.At("zones"), strings.Join(named, ", "), fmt.Sprintf(format, args...))}
	}
	switch {
	case dialAgent == nil:
		return refuse("this lab binary has no agent client built in; run every zone on this host (remove agent:)")
	case o.Isolate:
		return refuse("--isolate is not yet supported with agents (the run's namespace is on this host only)")
	case len(o.AgentToken) == 0:
		return refuse("no agent token was given; give the token the agents were started with (--agent-token-file or LAB_AGENT_TOKEN_FILE)")
	}
	return nil
}

// startAgents opens the run on every zone's agent, gives each such zone
// the agent's subnet (on a real agent its load balancer node runs there
// too, az.Zone.Elsewhere, opened by openAgentNodes; on a stand-in it stays
// here, az.Zone.OnHost), and puts l.Runtime behind a zonedRuntime. The instances' Spec.DataDir
// stays the run's data directory path here: the agent maps it to the run's
// directory on its own host, so SimplyDone's store is per host. A stack
// without agents is left alone: l.Runtime stays the one local runtime.
func (l *Lab) startAgents(ctx context.Context) error {
	st := l.opts.Stack
	if !st.HasAgents() && len(st.ZoneContexts) == 0 {
		return nil
	}
	if err := preflightAgents(&l.opts); err != nil {
		return err
	}
	remotes, agents, err := l.startEngineZones(ctx) // zones on Docker contexts' engines (agentdocker.go)
	if err != nil {
		return err
	}
	if remotes == nil {
		remotes, agents = map[string]remoteZone{}, map[string]string{}
	}
	if !st.HasAgents() {
		zr := newZonedRuntime(l.Runtime, remotes, agents, l.opts.Logger)
		zr.say = l.say
		l.Runtime = zr
		return nil
	}
	subnets := map[netip.Prefix]string{}
	fail := func(err error) error {
		for _, r := range remotes {
			if cerr := r.Close(); cerr != nil {
				l.opts.Logger.Warn("close the run on an agent", "err", cerr)
			}
		}
		return err
	}
	local := slices.DeleteFunc(slices.Clone(l.Zones), func(z az.Zone) bool { return st.ZoneAgent(z.Name) != "" })
	var zr *zonedRuntime // set once every agent has opened the run
	cluster, join, err := l.startAgentCluster(st.ZoneAgent(firstAgentZone(st)), func() *zonedRuntime { return zr })
	if err != nil {
		return err
	}
	fail0 := fail
	fail = func(err error) error {
		cluster.Close()
		return fail0(err)
	}
	for i, z := range l.Zones {
		addr := st.ZoneAgent(z.Name)
		if addr == "" {
			continue
		}
		dctx, cancel := context.WithTimeout(ctx, agentDialTimeout)
		rz, subnet, err := dialAgent(dctx, addr, l.opts.AgentToken, l.RunID, l.Driver, join(z.Name))
		cancel()
		if err != nil {
			return fail(fmt.Errorf("zone %s: agent %s: %w", z.Name, addr, err))
		}
		remotes[z.Name], agents[z.Name] = rz, addr
		if why := agentSubnetProblem(subnet, local); why != "" {
			return fail(fmt.Errorf("zone %s: agent %s gives the subnet %s: %s", z.Name, addr, subnet, why))
		}
		if other, dup := subnets[subnet.Masked()]; dup {
			return fail(fmt.Errorf("zone %s: agent %s gives the subnet %s, already zone %s's; give each agent a /24 of its own (lab agent --subnet)", z.Name, addr, subnet, other))
		}
		subnets[subnet.Masked()] = z.Name
		if ar, ok := rz.(*agent.Remote); ok { // a real agent: the zone's node runs there too (agentnode.go)
			l.Zones[i] = z.Elsewhere(subnet.Masked())
			if l.nodeAgents == nil {
				l.nodeAgents = map[string]*agent.Remote{}
			}
			l.nodeAgents[z.Name] = ar
			where := "the host of agent " + addr
			if st.AgentsInProcess {
				where = "agent " + addr + ", in this process (--agents-in-process)"
			}
			l.say("Zone %s: its instances and its load balancer node (%s) run on %s (subnet %s)", z.Name, l.Zones[i].NodeAddr(), where, subnet.Masked())
			continue
		}
		l.Zones[i] = z.OnHost(subnet.Masked())
		l.say("Zone %s: its instances run on the host of agent %s (subnet %s); its load balancer node stays here, on %s", z.Name, addr, subnet.Masked(), l.Zones[i].NodeAddr())
	}
	zr = newZonedRuntime(l.Runtime, remotes, agents, l.opts.Logger)
	zr.say, zr.onLost, zr.cluster, zr.sameHost = l.say, l.zoneLost, cluster, st.AgentsInProcess
	l.Runtime = zr
	l.Bus.Subscribe(zoneCuts{l: l, zr: zr}.handle) // az-outage cuts a remote zone's host off (agentchaos.go)
	return nil
}

// agentSubnetProblem says what is wrong with an agent's subnet for the
// lab's zone plan (instances at .10-.199 of an IPv4 /24), or "".
func agentSubnetProblem(p netip.Prefix, zones []az.Zone) string {
	switch {
	case !p.IsValid():
		return "not a subnet"
	case !p.Addr().Is4() || p.Bits() != 24:
		return "the lab's zone plan needs an IPv4 /24 (instances at .10 to .199)"
	}
	for _, z := range zones {
		if z.Subnet.Masked() == p.Masked() {
			return "it is zone " + z.Name + "'s subnet on this host"
		}
	}
	return ""
}

// zonedRuntime is the run's runtime when zones run on agents: it
// implements az.Runtime (and az.Hogger, az.CPUAccounter) by dispatching on
// the instance's zone: Launch by Spec.Zone, everything else by the zone
// recorded at launch. Zones on this host share the run's one local
// runtime. List and Exited merge every zone's. It owns one goroutine per
// runtime that forwards its Exited, stopped by Close.
type zonedRuntime struct {
	local   az.Runtime
	remotes map[string]remoteZone // by zone name
	agents  map[string]string     // zone -> its agent's address, for what the lab says
	log     *slog.Logger
	// sameHost: the agents run in this process (stack.Stack.AgentsInProcess),
	// so their instances use this host's CPU (hostAccounting).
	sameHost bool

	say func(format string, args ...any) // the lab's notes; nil: none

	mu    sync.Mutex
	where map[az.InstanceID]string // the zone each instance was launched in
	last  map[string][]az.Instance // each remote zone's last List, for when its agent does not answer
	lost  map[string]bool          // zones whose host is gone (zoneLost)
	cuts  map[string]*hostCut      // zones whose host is cut off (az-outage; agentchaos.go)
	// doomed are instances terminated while their host was cut off: EC2
	// terminates them at once; their agent is told when the link is back.
	doomed map[string][]az.InstanceID
	// deadInCut are zones whose agent memberlist declared dead while an
	// az-outage cut their host off: expected then, so they are asked
	// again once the link is back, and lost (onLost) if they do not answer.
	deadInCut map[string]bool
	onLost    func(zone string) // the lab's zoneLost; nil: none
	cluster   io.Closer         // the controller's member of the agents' cluster; nil: none
	closing   bool              // Close has begun: no zone is lost any more (under mu)
	// gone ends, per remote zone, when the zone is lost (markLost) or the
	// runtime closes: every call to the zone's agent is bound to it, so a
	// call stuck on a host that answers nothing (a host without power drops
	// packets: no reset, no answer) ends when memberlist declares it dead,
	// instead of holding its caller (the group's loop) for the call's own
	// limit.
	gone     map[string]context.Context
	goneStop map[string]context.CancelFunc

	exited chan az.InstanceID
	ctx    context.Context // ends with Close: the forwarders and the cuts being made stop
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
	err    error // Close's
}

// exitedBuffer is how many exits the merged Exited holds for a slow
// reader; as az.Table does, an exit nobody reads is dropped rather than
// blocking its runtime.
const exitedBuffer = 64

func newZonedRuntime(local az.Runtime, remotes map[string]remoteZone, agents map[string]string, log *slog.Logger) *zonedRuntime {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	z := &zonedRuntime{local: local, remotes: remotes, agents: agents, log: log,
		where: map[az.InstanceID]string{}, last: map[string][]az.Instance{}, lost: map[string]bool{},
		cuts: map[string]*hostCut{}, doomed: map[string][]az.InstanceID{}, deadInCut: map[string]bool{},
		gone: map[string]context.Context{}, goneStop: map[string]context.CancelFunc{},
		exited: make(chan az.InstanceID, exitedBuffer)}
	z.ctx, z.cancel = context.WithCancel(context.Background())
	for name := range remotes {
		z.gone[name], z.goneStop[name] = context.WithCancel(context.Background())
	}
	for _, rt := range z.runtimes() {
		z.wg.Add(1)
		go func() {
			defer z.wg.Done()
			z.forward(rt.Exited())
		}()
	}
	return z
}

// runtimes is every runtime once: the local one, then each remote zone's
// in zone order.
func (z *zonedRuntime) runtimes() []az.Runtime {
	out := []az.Runtime{z.local}
	for _, name := range z.remoteZones() {
		out = append(out, z.remotes[name])
	}
	return out
}

func (z *zonedRuntime) remoteZones() []string {
	names := make([]string, 0, len(z.remotes))
	for n := range z.remotes {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// forward passes one runtime's exits on until Close.
func (z *zonedRuntime) forward(ch <-chan az.InstanceID) {
	for {
		select {
		case <-z.ctx.Done():
			return
		case id, ok := <-ch:
			if !ok {
				return
			}
			select {
			case z.exited <- id:
			default:
				z.log.Debug("exit not reported: nobody reads Exited", "instance", id)
			}
		}
	}
}

// zone is the runtime of the named zone.
func (z *zonedRuntime) zone(name string) az.Runtime {
	if r, ok := z.remotes[name]; ok {
		return r
	}
	return z.local
}

// of is the runtime and zone of a launched instance.
func (z *zonedRuntime) of(id az.InstanceID) (az.Runtime, string, error) {
	z.mu.Lock()
	name, ok := z.where[id]
	z.mu.Unlock()
	if !ok {
		return nil, "", fmt.Errorf("instance %s: %w", id, az.ErrNotFound)
	}
	return z.zone(name), name, nil
}

// zoneCall is ctx for one call to zone's runtime: for a remote zone it
// also ends when the zone is lost (gone), and a zone lost already is an
// error at once (errHostGone): its hardware is gone, nothing there answers.
func (z *zonedRuntime) zoneCall(ctx context.Context, zone string) (context.Context, context.CancelFunc, error) {
	gone, ok := z.gone[zone]
	if !ok {
		return ctx, func() {}, nil
	}
	if err := z.hostGone(zone); err != nil {
		return ctx, func() {}, err
	}
	cctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(gone, cancel)
	return cctx, func() { stop(); cancel() }, nil
}

// hostGone is the error of a call to a lost zone, or nil.
func (z *zonedRuntime) hostGone(zone string) error {
	z.mu.Lock()
	lost := z.lost[zone]
	z.mu.Unlock()
	if lost {
		return fmt.Errorf("zone %s: the host of agent %s is gone", zone, z.agents[zone])
	}
	return nil
}

func (z *zonedRuntime) Launch(ctx context.Context, s az.Spec) (az.Instance, error) {
	z.mu.Lock()
	lost := z.lost[s.Zone.Name]
	if !lost {
		z.where[s.ID] = s.Zone.Name // before the launch: what a failed launch left is found by its id
	}
	z.mu.Unlock()
	if lost {
		return az.Instance{}, fmt.Errorf("zone %s: the host of agent %s is gone", s.Zone.Name, z.agents[s.Zone.Name])
	}
	ctx, done, err := z.zoneCall(ctx, s.Zone.Name)
	if err != nil {
		return az.Instance{}, err
	}
	defer done()
	return z.zone(s.Zone.Name).Launch(ctx, s)
}

// lostTerminate bounds the try to terminate an instance on a host that is gone.
const lostTerminate = 2 * time.Second

func (z *zonedRuntime) Terminate(ctx context.Context, id az.InstanceID) error {
	rt, name, err := z.of(id)
	if err != nil {
		return err
	}
	z.mu.Lock()
	lost := z.lost[name]
	z.mu.Unlock()
	if z.isCut(name) {
		// The host is cut off (az-outage): EC2 terminates the instance
		// all the same; the agent is told once the link is back, so
		// that the outage's revert cannot start it again.
		tctx, cancel := context.WithTimeout(ctx, lostTerminate)
		err := rt.Terminate(tctx, id)
		cancel()
		if err != nil && !errors.Is(err, az.ErrNotFound) {
			z.mu.Lock()
			z.doomed[name] = append(z.doomed[name], id)
			z.mu.Unlock()
		}
		z.forget(id)
		return nil
	}
	if lost {
		// EC2 terminates an instance whose hardware is gone at once; the
		// agent, if its host ever answers again, ends the run's leftovers
		// (its run's lease lapses).
		tctx, cancel := context.WithTimeout(ctx, lostTerminate)
		if err := rt.Terminate(tctx, id); err != nil {
			z.log.Debug("terminate on a lost zone's host", "zone", name, "instance", id, "err", err)
		}
		cancel()
		z.forget(id)
		return nil
	}
	err = rt.Terminate(ctx, id)
	if err == nil || errors.Is(err, az.ErrNotFound) {
		z.forget(id)
	}
	return err
}

func (z *zonedRuntime) forget(id az.InstanceID) {
	z.mu.Lock()
	defer z.mu.Unlock()
	name := z.where[id]
	delete(z.where, id)
	if last, ok := z.last[name]; ok {
		z.last[name] = slices.DeleteFunc(slices.Clone(last), func(in az.Instance) bool { return in.ID == id })
	}
}

// do runs one instance action on its zone's runtime, with the call's ctx
// (zoneCall).
func (z *zonedRuntime) do(ctx context.Context, id az.InstanceID, act func(context.Context, az.Runtime) error) error {
	rt, name, err := z.of(id)
	if err != nil {
		return err
	}
	ctx, done, err := z.zoneCall(ctx, name)
	if err != nil {
		return err
	}
	defer done()
	return act(ctx, rt)
}

func (z *zonedRuntime) Stop(ctx context.Context, id az.InstanceID) error {
	return z.do(ctx, id, func(ctx context.Context, rt az.Runtime) error { return rt.Stop(ctx, id) })
}

// Start boots a stopped instance. In a zone whose host is cut off (an
// az-outage), the host's link comes back first, as power and network
// return before instances boot: the outage's revert starts the zone's
// instances as its first step.
func (z *zonedRuntime) Start(ctx context.Context, id az.InstanceID) error {
	rt, name, err := z.of(id)
	if err != nil {
		return err
	}
	z.uncut(name, "its instances start again")
	ctx, done, err := z.zoneCall(ctx, name)
	if err != nil {
		return err
	}
	defer done()
	return rt.Start(ctx, id)
}

func (z *zonedRuntime) Kill(ctx context.Context, id az.InstanceID) error {
	return z.do(ctx, id, func(ctx context.Context, rt az.Runtime) error { return rt.Kill(ctx, id) })
}

func (z *zonedRuntime) Pause(ctx context.Context, id az.InstanceID) error {
	return z.do(ctx, id, func(ctx context.Context, rt az.Runtime) error { return rt.Pause(ctx, id) })
}

func (z *zonedRuntime) Resume(ctx context.Context, id az.InstanceID) error {
	return z.do(ctx, id, func(ctx context.Context, rt az.Runtime) error { return rt.Resume(ctx, id) })
}

func (z *zonedRuntime) Stats(ctx context.Context, id az.InstanceID) (az.Stats, error) {
	var s az.Stats
	err := z.do(ctx, id, func(ctx context.Context, rt az.Runtime) (err error) {
		s, err = rt.Stats(ctx, id)
		return err
	})
	return s, err
}

// Hog burns CPU inside the instance, where its zone's runtime can.
func (z *zonedRuntime) Hog(ctx context.Context, id az.InstanceID) (func() error, error) {
	rt, name, err := z.of(id)
	if err != nil {
		return nil, err
	}
	h, ok := rt.(az.Hogger)
	if !ok {
		return nil, fmt.Errorf("zone %s's runtime cannot burn CPU inside an instance", name)
	}
	ctx, done, err := z.zoneCall(ctx, name)
	if err != nil {
		return nil, err
	}
	defer done()
	return h.Hog(ctx, id)
}

// CPUAccount is the instance's CPU accounting from its zone's runtime.
func (z *zonedRuntime) CPUAccount(ctx context.Context, id az.InstanceID) (az.CPUAccount, error) {
	rt, name, err := z.of(id)
	if err != nil {
		return az.CPUAccount{}, err
	}
	a, ok := rt.(az.CPUAccounter)
	if !ok {
		return az.CPUAccount{}, fmt.Errorf("zone %s's runtime keeps no CPU accounting: %w", name, az.ErrNotFound)
	}
	ctx, done, err := z.zoneCall(ctx, name)
	if err != nil {
		return az.CPUAccount{}, err
	}
	defer done()
	return a.CPUAccount(ctx, id)
}

// hostAccounting is what the host sampler (contention.go) reads: the local
// runtime's CPU accounting, for the instances on this host; an agent's
// instances use another host's CPU, which this host's figures do not
// include, unless the agent runs in this process (sameHost).
func (z *zonedRuntime) hostAccounting() (az.CPUAccounter, func(az.InstanceID) bool) {
	acct, _ := z.local.(az.CPUAccounter)
	for name := range z.remotes {
		if z.onThisHost(name) {
			acct = z // dispatches by zone
		}
	}
	return acct, func(id az.InstanceID) bool {
		z.mu.Lock()
		defer z.mu.Unlock()
		name, ok := z.where[id]
		return ok && (z.remotes[name] == nil || z.onThisHost(name))
	}
}

// onThisHost reports whether a remote zone's instances use this host's
// CPU: a Docker context's engine on this host, or an agent in this process.
func (z *zonedRuntime) onThisHost(zone string) bool {
	return z.sameHost || z.engineOnly(zone)
}

// Enforced is the local runtime's word on its CPU limits.
func (z *zonedRuntime) Enforced() (bool, string) {
	if e, ok := z.local.(enforcer); ok {
		return e.Enforced()
	}
	return true, ""
}

// OwnsListener asks the local runtime whose listener answers at a local
// zone's instance's address. An agent's host cannot be asked (its API has
// no such call): a remote instance's is taken as its own.
func (z *zonedRuntime) OwnsListener(ctx context.Context, id az.InstanceID, addr netip.AddrPort) error {
	rt, _, err := z.of(id)
	if ez, ok := rt.(engineZone); ok && err == nil { // an engine on this host (agentdocker.go)
		return ez.OwnsListener(ctx, id, addr)
	}
	if err != nil || rt != z.local {
		return nil
	}
	if o, ok := z.local.(listenerOwner); ok {
		return o.OwnsListener(ctx, id, addr)
	}
	return nil
}

// LogPlace is where instance id's output is, for what the run says: ""
// for an instance of this host's runtime (logs/ID.log in the run's
// directory); for one on an agent in this process, where it is once the
// run ends (InProcessAgentRunDir); for one on another host, its path
// there.
func (z *zonedRuntime) LogPlace(id az.InstanceID) string {
	rt, zone, err := z.of(id)
	if err != nil || rt == z.local {
		return ""
	}
	name := filepath.Base(string(id)) + ".log"
	if z.sameHost {
		return filepath.Join(InProcessAgentRunDir(zone), agent.LogsDir, name)
	}
	if r, ok := rt.(interface{ Dir() string }); ok && r.Dir() != "" {
		return fmt.Sprintf("%s on agent %s", filepath.Join(r.Dir(), agent.LogsDir, name), z.agents[zone])
	}
	return ""
}

// Output is an instance's last output: a local container's, or an
// agent's instance's, read by its agent on its host.
func (z *zonedRuntime) Output(ctx context.Context, id az.InstanceID, lines int) (string, error) {
	rt, name, err := z.of(id)
	if err != nil {
		return "", err
	}
	if ez, ok := rt.(engineZone); ok { // an engine on this host (agentdocker.go)
		return ez.Output(ctx, id, lines)
	}
	if o, ok := rt.(outputter); ok { // a local container, or an agent's instance (its output read there)
		return o.Output(ctx, id, lines)
	}
	return "", fmt.Errorf("zone %s: the instance's output is on its host", name)
}

// List is every zone's instances, sorted by id. A remote zone whose agent
// does not answer is reported as it last answered: EC2's view of its
// instances does not change because the controller lost sight of them for
// a moment (memberlist decides when the host is gone: zoneLost). A lost
// zone's instances are not listed: their hardware is gone. A remote
// instance's PID is 0, as for a container: its process is on another host.
func (z *zonedRuntime) List(ctx context.Context) ([]az.Instance, error) {
	out, err := z.local.List(ctx)
	if err != nil {
		return nil, err
	}
	out = slices.Clone(out)
	// each agent at once: a slow or lost host delays only its own answer
	names := z.remoteZones()
	lists := make([][]az.Instance, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() { // ended before List returns
			defer wg.Done()
			lists[i] = z.remoteList(ctx, name)
		}()
	}
	wg.Wait()
	for _, l := range lists {
		out = append(out, l...)
	}
	slices.SortFunc(out, func(a, b az.Instance) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// remoteList is a remote zone's instances for List: none when its host is
// lost, as it last answered when its agent does not answer.
func (z *zonedRuntime) remoteList(ctx context.Context, name string) []az.Instance {
	z.mu.Lock()
	lost := z.lost[name]
	z.mu.Unlock()
	if lost {
		return nil
	}
	cctx, done, err := z.zoneCall(ctx, name) // ends when the zone is lost
	var list []az.Instance
	if err == nil {
		list, err = z.remotes[name].List(cctx)
		done()
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.lost[name] { // lost while it was asked: its hardware is gone
		return nil
	}
	if err != nil {
		z.log.Debug("agent does not answer: its zone as it last answered", "zone", name, "err", err)
		return z.last[name]
	}
	list = slices.Clone(list)
	for i := range list {
		list[i].PID = 0 // a process on another host: its pid means nothing here
	}
	z.last[name] = list
	return list
}

// Instance is one instance as List shows it, asking only its own zone's
// runtime: the lab asks whether each instance runs on every Auto Scaling
// tick (fleet.Running), and listing every zone for each would cost each
// agent a request per instance of the whole group per tick (K agents of I
// instances: K*K*I requests a tick, not K*I).
func (z *zonedRuntime) Instance(ctx context.Context, id az.InstanceID) (az.Instance, bool, error) {
	z.mu.Lock()
	name, ok := z.where[id]
	z.mu.Unlock()
	var list []az.Instance
	switch {
	case !ok:
		return az.Instance{}, false, nil
	case z.remotes[name] == nil:
		l, err := z.local.List(ctx)
		if err != nil {
			return az.Instance{}, false, err
		}
		list = l
	default:
		list = z.remoteList(ctx, name)
	}
	for _, in := range list {
		if in.ID == id {
			return in, true, nil
		}
	}
	return az.Instance{}, false, nil
}

// Exited reports instances that died on their own, in any zone.
func (z *zonedRuntime) Exited() <-chan az.InstanceID { return z.exited }

// Close ends the cuts still on, stops the forwarders and closes every
// zone's runtime (an agent's ends the run there: its instances are
// terminated). Safe to call twice.
func (z *zonedRuntime) Close() error {
	z.once.Do(func() {
		var errs []error
		if z.cluster != nil { // first: the agents about to leave are not lost
			errs = append(errs, z.cluster.Close())
		}
		z.mu.Lock()
		z.closing = true
		z.mu.Unlock()
		z.cancel()
		z.wg.Wait() // the forwarders, the cuts being made, the zones being lost
		z.mu.Lock()
		cut := slices.Sorted(maps.Keys(z.cuts))
		z.mu.Unlock()
		for _, name := range cut {
			errs = append(errs, z.uncut(name, "the run ends"))
		}
		for _, name := range z.remoteZones() {
			if err := z.closeZone(name); err != nil {
				errs = append(errs, fmt.Errorf("zone %s: close the run on agent %s: %w", name, z.agents[name], err))
			}
		}
		for _, stop := range z.goneStop {
			stop()
		}
		errs = append(errs, z.local.Close())
		z.err = errors.Join(errs...)
	})
	return z.err
}

// closeWithin is what a remote zone's runtime may offer (sim/agent's
// *Remote does): its Close, waiting for the agent at most d.
type closeWithin interface {
	CloseWithin(d time.Duration) error
}

// closeZone closes a remote zone's runtime: a lost zone's host answers
// nothing (a host without power drops packets), so its close waits
// lostTerminate at most, not the agent's own limit for ending a run (its
// agent, if its host comes back, ends the run's leftovers when the lease
// lapses); the end of a run then does not hang on a dead host. An error
// from a lost zone is not the run's: its host is known gone.
func (z *zonedRuntime) closeZone(name string) error {
	rt := z.remotes[name]
	if z.hostGone(name) == nil {
		return rt.Close()
	}
	var err error
	if c, ok := rt.(closeWithin); ok {
		err = c.CloseWithin(lostTerminate)
	} else {
		err = rt.Close()
	}
	if err != nil {
		z.log.Debug("close the run on a lost zone's agent", "zone", name, "err", err)
	}
	return nil
}

// memberDead is memberlist declaring zone's agent dead: zoneLost runs on
// a goroutine of the zonedRuntime's own (memberlist's callback must return
// quickly), unless the run is closing.
func (z *zonedRuntime) memberDead(zone string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.closing || z.onLost == nil || z.remotes[zone] == nil {
		return
	}
	z.wg.Add(1)
	go func() {
		defer z.wg.Done()
		z.onLost(zone)
	}()
}

// firstAgentZone is the first zone of st that runs on an agent.
func firstAgentZone(st *stack.Stack) string {
	for _, z := range st.Zones {
		if st.ZoneAgent(z) != "" {
			return z
		}
	}
	return ""
}
