package asg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/sim/az"
)

// Lifecycle states, in the ASG's words.
const (
	Pending     = "Pending"
	InService   = "InService"
	Terminating = "Terminating"
	Terminated  = "Terminated"
)

// Fleet runs instances for the group (the lab wires the runtime in).
type Fleet interface {
	// Launch starts one instance of the given launch template version in
	// zone (with a Config.Booter, only RunInstances: the instance is pending
	// until Boot).
	Launch(ctx context.Context, zone string, version int) (az.InstanceID, netip.AddrPort, error)
	Terminate(ctx context.Context, id az.InstanceID) error
	Running(id az.InstanceID) bool
	CPU(ctx context.Context, id az.InstanceID) (float64, error)
}

// Booter is EC2 finishing a launch: with one set (Config.Booter), the
// Fleet's Launch is only RunInstances (an id and an address for a pending
// instance; nothing runs yet), and the group calls Boot once the pending
// time has passed, when EC2 has the instance running; its workload starts
// then (and takes its boot time). Without one, Launch runs the instance at
// once.
type Booter interface {
	Boot(ctx context.Context, id az.InstanceID) error
}

// TargetGroup is the load balancer's target group as the group sees it.
type TargetGroup interface {
	Register(id az.InstanceID, zone string, addr netip.AddrPort) error
	Deregister(id az.InstanceID) (<-chan struct{}, error)
	// State is the target's health state (healthy, unhealthy, initial, ...).
	State(id az.InstanceID) string
}

// CPUSink receives CPUUtilization samples; groupAverage is false for
// instances still warming up, which stay out of the group's aggregate.
type CPUSink interface {
	PutCPU(t time.Time, id az.InstanceID, percent float64, groupAverage bool)
}

// Publisher takes the group's events.
type Publisher interface{ Publish(events.Event) }

// Config is the group's settings (AWS durations) and its collaborators.
type Config struct {
	Name                   string
	Zones                  []string
	Min, Max, Desired      int
	HealthCheckType        string // EC2 or ELB
	HealthCheckGracePeriod time.Duration
	DefaultCooldown        time.Duration
	DefaultInstanceWarmup  *time.Duration
	TerminationPolicies    []string
	Policies               []Policy
	// LaunchTemplateVersion is the version new instances start from
	// (default 1); an instance refresh or a deploy moves it.
	LaunchTemplateVersion int
	// ScheduledActions set min, max and desired at times after the group starts.
	ScheduledActions []ScheduledAction
	// LifecycleHooks pause instances as they launch or terminate.
	LifecycleHooks []LifecycleHook
	// MaintenancePolicy is the group's instance maintenance policy; nil
	// means none (terminate and launch for health-check replacement).
	MaintenancePolicy *MaintenancePolicy
	// PendingTime is how long EC2 keeps a new instance pending before it is
	// running. AWS documents no figure; the stack's default is an observed
	// one (stack.DefaultPendingTime). The instance is registered with the
	// target group and goes InService only once running (and its launch
	// hooks are done). 0: running at once.
	PendingTime time.Duration
	// Booter starts a pending instance once EC2 has it running; nil: the
	// Fleet's Launch runs it at once.
	Booter Booter
	// WarmPool is the group's warm pool; nil means none. With one, Fleet
	// must also be a WarmFleet (warmpool.go).
	WarmPool *WarmPool
	// Tick is how often health and capacity are checked and CPU sampled
	// (default 10 s).
	Tick    time.Duration
	Clock   clock.Clock
	Fleet   Fleet
	Targets TargetGroup
	CPU     CPUSink
	Events  Publisher
	Rand    *rand.Rand
	Logger  *slog.Logger
}

// Instance is one of the group's instances.
type Instance struct {
	ID        az.InstanceID
	Zone      string
	Addr      netip.AddrPort
	State     string // lifecycle state
	Health    string
	Launched  time.Time
	Running   time.Time // when EC2 had it running (zero while pending)
	InService time.Time
	WarmUntil time.Time
	Template  int // launch template version

	refreshing bool // taken out by an instance refresh: its replacement waits until it is gone
	replacing  bool // unhealthy, kept until its replacement is healthy (maintenance policy above 100%)
	booting    bool // Booter.Boot has been called (or is running): a termination waits for it
	// launchCause is the cause of the activity that launched it: a launch
	// that fails is shown with it (launchfail.go).
	launchCause string
	// coldBooted: EC2 has it running after a cold launch (running); from
	// then until it has served, its program stopping on its own is a
	// failed launch, not a health-check replacement.
	coldBooted bool
	served     bool // its target has been healthy: it launched
	booted     chan struct{}
	// pending fires when EC2's pending time is over; set when the launch
	// (or the start from the warm pool) is made, so the wait counts from
	// then and not from when a goroutine gets to run.
	pending <-chan time.Time
}

// Group is an Auto Scaling group.
type Group struct {
	cfg     Config
	kick    chan struct{}
	closing chan struct{} // closed by Close: waits on the group's clock end

	mu           sync.Mutex
	desired      int
	min, max     int         // the group's size limits; scheduled actions change them
	started      time.Time   // when the group started, for scheduled actions
	nextRun      []time.Time // each scheduled action's next run; zero: done
	instances    map[az.InstanceID]*Instance
	votes        map[string]vote             // target tracking policies' latest proposals
	impaired     map[string]int              // zones whose launches fail (chaos az-outage), by nesting count
	version      int                         // the launch template version new instances start from
	surge        int                         // instances the group may run above desired while it launches before terminating
	replaceSurge int                         // unhealthy instances kept while their replacements launch first
	refresh      *refresh                    // the latest instance refresh, nil before the first
	rebalancing  bool                        // AZRebalance is launching in an under-filled zone
	rebalanced   int                         // AZRebalance's launches are ready: the next scale-ins even the zones
	hookWaits    map[az.InstanceID]*hookWait // instances waiting on a lifecycle hook
	refreshes    int                         // instance refreshes started, for their ids
	warm         *warmPool                   // the warm pool's instances (warmpool.go); nil until the first
	closed       bool

	// Simple scaling's one cooldown for the group (scale.go).
	simpleBusy     bool          // a simple policy's activity is in progress: its cooldown starts when it completes
	simpleCooldown time.Duration // that activity's cooldown
	cooldownEnd    time.Time     // simple policies wait until then (the group's one cooldown)

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New checks the configuration and returns a group that has launched nothing yet.
func New(cfg Config) (*Group, error) {
	if cfg.Clock == nil || cfg.Fleet == nil || cfg.Targets == nil || cfg.Events == nil || cfg.Rand == nil {
		return nil, errors.New("auto scaling group: clock, fleet, target group, events and rand are required")
	}
	if len(cfg.Zones) == 0 {
		return nil, errors.New("auto scaling group: no zones")
	}
	if cfg.Min < 0 || cfg.Min > cfg.Desired || cfg.Desired > cfg.Max {
		return nil, fmt.Errorf("auto scaling group: need min (%d) <= desired (%d) <= max (%d)", cfg.Min, cfg.Desired, cfg.Max)
	}
	for _, p := range cfg.Policies {
		if p.Type == TargetTrackingScaling && !(p.TargetValue > 0) {
			return nil, fmt.Errorf("auto scaling group: target tracking policy %s: target value %v must be above 0", p.Name, p.TargetValue)
		}
	}
	if cfg.Tick == 0 {
		cfg.Tick = 10 * time.Second
	}
	if len(cfg.TerminationPolicies) == 0 {
		cfg.TerminationPolicies = []string{"Default"}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.LaunchTemplateVersion == 0 {
		cfg.LaunchTemplateVersion = 1
	}
	if err := checkHooks(cfg.LifecycleHooks); err != nil {
		return nil, fmt.Errorf("auto scaling group: %w", err)
	}
	if mp := cfg.MaintenancePolicy; mp != nil {
		if err := mp.check(); err != nil {
			return nil, fmt.Errorf("auto scaling group: instance maintenance policy: %w", err)
		}
	}
	if err := checkScheduled(cfg.ScheduledActions); err != nil {
		return nil, fmt.Errorf("auto scaling group: %w", err)
	}
	if err := checkWarmPool(cfg); err != nil {
		return nil, fmt.Errorf("auto scaling group: %w", err)
	}
	return &Group{cfg: cfg, kick: make(chan struct{}, 1), closing: make(chan struct{}), desired: cfg.Desired, version: cfg.LaunchTemplateVersion,
		min: cfg.Min, max: cfg.Max, started: cfg.Clock.Now(), nextRun: firstRuns(cfg.Clock.Now(), cfg.ScheduledActions),
		instances: map[az.InstanceID]*Instance{}, votes: map[string]vote{}}, nil
}

// Start launches the desired capacity and keeps the group in shape until Close.
func (g *Group) Start(ctx context.Context) {
	g.ctx, g.cancel = context.WithCancel(context.WithoutCancel(ctx))
	g.mu.Lock()
	g.started = g.now()
	g.nextRun = firstRuns(g.started, g.cfg.ScheduledActions)
	g.mu.Unlock()
	g.Reconcile(g.ctx)
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		g.loop()
	}()
}

func (g *Group) loop() {
	tk := g.cfg.Clock.NewTicker(g.cfg.Tick)
	defer tk.Stop()
	for {
		select {
		case <-g.ctx.Done():
			return
		case <-tk.C():
			g.sampleCPU(g.ctx)
		case <-g.kick:
		}
		g.Reconcile(g.ctx)
	}
}

func (g *Group) poke() {
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// Desired is the group's desired capacity.
func (g *Group) Desired() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.desired
}

// Instances is a snapshot of the group's instances, by address.
func (g *Group) Instances() []Instance {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]Instance, 0, len(g.instances))
	for _, in := range g.instances {
		out = append(out, *in)
	}
	slices.SortFunc(out, func(a, b Instance) int { return a.Addr.Compare(b.Addr) })
	return out
}

// InService counts in-service instances by zone.
func (g *Group) InService() map[string]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]int{}
	for _, in := range g.instances {
		if in.State == InService {
			out[in.Zone]++
		}
	}
	return out
}

// SetDesired changes the desired capacity by hand, within min and max.
func (g *Group) SetDesired(n int) error {
	g.mu.Lock()
	if n < g.min || n > g.max {
		g.mu.Unlock()
		return fmt.Errorf("desired capacity %d is outside min %d and max %d", n, g.min, g.max)
	}
	from := g.desired
	g.desired = n
	g.mu.Unlock()
	if from != n {
		g.cfg.Events.Publish(DesiredCapacityChanged{Group: g.cfg.Name, From: from, To: n})
		g.poke()
	}
	return nil
}

func (g *Group) now() time.Time { return g.cfg.Clock.Now() }

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// pendingTimer starts EC2's pending time on the group's clock; nil when
// there is none.
func (g *Group) pendingTimer() <-chan time.Time {
	if g.cfg.PendingTime <= 0 {
		return nil
	}
	return g.cfg.Clock.After(g.cfg.PendingTime)
}

// waitPending waits out an instance's pending time; false when the group
// or ctx ended first.
func (g *Group) waitPending(ctx context.Context, in *Instance) bool {
	if in.pending == nil {
		return true
	}
	select {
	case <-in.pending:
		return true
	case <-ctx.Done():
		return false
	case <-g.closing:
		return false
	}
}
