package lab

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/internal/runlock"
	"github.com/simplydone/lab/internal/termtext"
	"github.com/simplydone/lab/rundir"
	"github.com/simplydone/lab/sim/agent"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/asg"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/cloudwatch"
	"github.com/simplydone/lab/sim/rds"
	"github.com/simplydone/lab/stack"
)

// Options configure a run.
type Options struct {
	Stack    *stack.Stack
	Speed    float64 // AWS seconds per wall second (default 1)
	Seed     uint64  // instance ids, termination ties, chaos victims (default: random)
	RunsDir  string  // where run directories go (default ./runs)
	StateDir string  // the process runtime's records (default: the runtime's own)
	// Driver picks the runtime: "process", "docker", or "auto" (Docker when
	// an engine answers, else processes). Default auto.
	Driver  string
	Console io.Writer // one line per event; nil for none
	// Quiet, when set, says which events the console skips (the journal
	// keeps them all).
	Quiet func(events.Envelope) bool
	// Subscribers get every event from the very first.
	Subscribers []events.Handler
	Logger      *slog.Logger
	// SimplyDone is how to run the built-in SimplyDone (launch template
	// `command: [simplydone]`): cmd/lab sets its own executable and
	// "simplydone". Empty: simplydone is looked up as any command is.
	SimplyDone []string
	// Isolate runs the instances in network namespaces with loopback
	// only (an instance reaches nothing of the host), for programs not
	// trusted with the host's network: processes in the run's own
	// (lab-<run id>), containers each in its own; as root (lab/isolate.go).
	Isolate bool
	// CapacityScale multiplies every instance's CPU share and every
	// request's CPU cost (capacity.go); 0 or 1: full size.
	CapacityScale float64
	// StoreNote says why the stack has no database where the scenario
	// asked for one (stackfallback.go); the run's Store line gives it.
	StoreNote string
	// AgentToken is the token the stack's agents were started with
	// (zones: with agent:, lab/agents.go); unused without agents.
	AgentToken []byte
}

// Lab is a running tier.
type Lab struct {
	opts       Options
	RunID      string
	Dir        string
	Clock      *clock.Scaled
	Bus        *events.Bus
	LB         *alb.LoadBalancer
	Runtime    az.Runtime
	Driver     string // the runtime in use: process or docker
	driverWhy  string // why that runtime (preflight)
	Zones      []az.Zone
	Group      *asg.Group
	Metrics    *cloudwatch.Store
	CloudWatch *cloudwatch.Service

	fleet       *fleet                   // the first service's (services.go)
	services    []*service               // every service's fleet and group, the first's are fleet and Group
	entry       *labEntry                // cluster, DNS, front door (entry.go)
	nodeAgents  map[string]*agent.Remote // zones whose load balancer node runs on their agent (agents.go)
	agentNodes  map[string]*agentNode    // those nodes, once opened (agentnode_remote.go)
	agentBind   netip.Addr               // this host's address toward the agents (startAgentCluster)
	randMu      sync.Mutex               // rand is one source for every service's fleet
	rand        io.Reader                // instance ids, from the seed
	journal     *events.Journal
	journalFile *os.File
	lock        *runlock.Held // the run's lock in the state directory (liveness.go)
	addrs       *az.Addresses
	ctx         context.Context
	cancel      context.CancelFunc
	wg          sync.WaitGroup

	started time.Time // AWS time the run started
	obs     observe   // access log and Prometheus endpoint
	chaos   runChaos  // the run's one chaos runner (handle.go)

	launches launchWatch // the group's failed launches (launches.go)

	DB     *rds.Tier     // the data tier (database.go); nil without a database section
	dbRT   az.Runtime    // the tier's own process runtime, for the host's CPU accounting
	pg     rds.Install   // the PostgreSQL server it runs (preflightDatabase)
	dbLock *runlock.Held // the lock of the tier's own run id (database.go)
	dbNow  dbReadings    // the tier's latest minute (dbmetrics.go)

	repoints        repoints // launch template versions made by repoint-database (dbrepoint.go)
	writesCheckedOn string   // the DB instance lost_writes was checked on, "<identifier> (<role>)" (database.go)

	mu     sync.Mutex
	closed bool
}

// Instance is one of the lab's instances as a person sees it.
type Instance struct {
	ID    az.InstanceID
	Zone  string
	Addr  netip.AddrPort
	State string // the group's lifecycle state
	PID   int
}

// Start reaps what a crashed run left, then brings the tier up:
// load-balancer nodes, CloudWatch and the policies' alarms, and the Auto
// Scaling group with its desired capacity.
func Start(ctx context.Context, opts Options) (_ *Lab, err error) {
	if opts.Stack == nil {
		return nil, errors.New("lab: no stack")
	}
	if opts.Speed == 0 {
		opts.Speed = 1
	}
	if opts.RunsDir == "" {
		opts.RunsDir = "runs"
	}
	if opts.Seed == 0 {
		opts.Seed = rand.Uint64()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c, err := clock.NewScaled(opts.Speed)
	if err != nil {
		return nil, err
	}
	if opts.StateDir, err = stateDir(opts.StateDir); err != nil {
		return nil, &DirError{What: "state directory", Err: err}
	}
	if err := checkRunsDir(opts.RunsDir); err != nil {
		return nil, &DirError{What: "runs directory", Err: err}
	}
	l := &Lab{opts: opts, Clock: c, addrs: az.NewAddresses(), rand: rand.NewChaCha8(seedBytes(opts.Seed))}
	if l.Driver, l.driverWhy, err = preflight(ctx, &l.opts); err != nil {
		return nil, err // before anything starts
	}
	if l.pg, err = preflightDatabase(&l.opts); err != nil {
		return nil, err // before anything starts
	}
	if err := preflightAgents(&l.opts); err != nil {
		return nil, err // before anything starts
	}
	if err := preflightEngineZones(ctx, l.Driver, &l.opts); err != nil { // zones on Docker contexts (agentdocker.go)
		return nil, err // before anything starts
	}
	if l.RunID, err = newRunID(crand.Reader); err != nil {
		return nil, err
	}
	l.Dir = filepath.Join(opts.RunsDir, l.RunID)
	defer func() {
		if err != nil {
			l.Close()
		}
	}()
	// The run's lock first: a live run on the same addresses is refused
	// before anything is created or reaped.
	if err := l.holdRun(); err != nil {
		return nil, err
	}
	if err := makeRunsDir(opts.RunsDir); err != nil {
		return nil, &DirError{What: "runs directory", Err: err}
	}
	// Owner-only, but others may pass through to the data directory (an
	// instance running as another user opens its database there).
	if err := os.Mkdir(l.Dir, 0o711); err != nil {
		return nil, fmt.Errorf("create run directory: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(l.Dir, "data"), 0o755); err != nil {
		return nil, fmt.Errorf("create run directory: %w", err)
	}
	if err := l.startBus(); err != nil {
		return nil, err
	}
	l.Bus.Subscribe(l.launches.handle)
	if l.Zones, err = az.NewZones(opts.Stack.Zones); err != nil {
		return nil, err
	}
	if err := l.startRuntime(ctx); err != nil {
		return nil, err
	}
	if err := l.startDatabase(ctx); err != nil { // before the instances, which use it
		return nil, err
	}
	cfg := albConfig(opts.Stack, l.Zones, c, l.Bus)
	cfg.Seed = opts.Seed // each node's weighted_random source
	// A listener that is not the instance's own is never healthy (lab/owner.go).
	// Nor is it dialled, even failing open.
	cfg.Dial = l.instanceDial() // nil: the host's network
	guardOwned(&cfg, l.ownedProberFor)
	if err := l.openAccessLog(&cfg); err != nil {
		return nil, err
	}
	if err := l.openAgentNodes(ctx, &cfg); err != nil {
		return nil, err
	}
	if l.LB, err = alb.New(cfg); err != nil {
		return nil, err
	}
	l.ctx, l.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if err := l.LB.Start(l.ctx); err != nil {
		return nil, err
	}
	if err := l.startPrometheus(); err != nil {
		return nil, err
	}
	if err := l.startEntry(); err != nil {
		return nil, err
	}
	l.Metrics = newMetricStore(opts.Stack)
	l.CloudWatch = cloudwatch.NewService(l.Metrics, c, l.Bus)
	if err := l.startServices(); err != nil { // each service's fleet and group (services.go)
		return nil, err
	}
	if err := l.addAlarms(); err != nil {
		return nil, err
	}
	for _, g := range l.groups() {
		g.Start(l.ctx)
	}
	l.CloudWatch.Start(l.ctx)
	sampler := l.newMetricsSampler()
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		sampler.run(l.ctx, 10*time.Second)
	}()
	if l.DB != nil {
		m := &dbMetrics{l: l}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			m.run(l.ctx)
		}()
	}
	return l, nil
}

// seedBytes stretches a seed into a ChaCha8 key.
func seedBytes(seed uint64) [32]byte {
	var b [32]byte
	for i := 0; i < 4; i++ {
		binary.LittleEndian.PutUint64(b[i*8:], seed+uint64(i)*0x9e3779b97f4a7c15)
	}
	return b
}

func newRunID(r io.Reader) (string, error) {
	var b [3]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("draw run id: %w", err)
	}
	return fmt.Sprintf("run-%s-%x", time.Now().UTC().Format("20060102T150405"), b), nil
}

func (l *Lab) startBus() error {
	l.Bus = events.NewBus(l.Clock)
	f, err := createOwn(filepath.Join(l.Dir, rundir.EventsFile))
	if err != nil {
		return fmt.Errorf("create event journal: %w", err)
	}
	l.journalFile = f
	l.journal = events.NewJournal(f)
	l.Bus.Subscribe(l.journal.Handle)
	for _, h := range l.opts.Subscribers {
		l.Bus.Subscribe(h)
	}
	l.started = l.Clock.Now()
	if l.opts.Console != nil {
		start := l.started
		l.Bus.Subscribe(func(e events.Envelope) {
			if l.opts.Quiet != nil && l.opts.Quiet(e) {
				return
			}
			printConsole(l.opts.Console, e, start)
		})
	}
	s := l.opts.Stack
	l.Bus.Publish(RunStarted{RunID: l.RunID, Stack: s.Name, Speed: l.opts.Speed, Dir: l.Dir})
	return nil
}

// printConsole writes one event to the console. The text is stripped of
// control characters first: events carry text that instances control (a
// /health body, a launch failure's output), which must not drive the terminal.
func printConsole(w io.Writer, e events.Envelope, start time.Time) {
	if n, ok := e.Event.(Note); ok {
		fmt.Fprintln(w, termtext.Text(n.Text)) // a note is a line of its own, without the time
		return
	}
	fmt.Fprintf(w, "%s  %s\n", awsElapsed(e.Time.Sub(start)), termtext.Line(e.Message()))
}

// awsElapsed prints AWS time since the start as +mm:ss.
func awsElapsed(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	return fmt.Sprintf("+%02d:%02d", s/60, s%60)
}

// say publishes one of the lab's own lines (a Note): what it is doing or
// waiting for. The console prints it as it is.
func (l *Lab) say(format string, args ...any) {
	l.Bus.Publish(Note{Text: fmt.Sprintf(format, args...)})
}

// printf writes a line to the console only (the stats lines: a live view
// shows those figures in its header, and the journal has them in
// seconds.jsonl).
func (l *Lab) printf(format string, args ...any) {
	if l.opts.Console != nil {
		fmt.Fprintf(l.opts.Console, format+"\n", args...)
	}
}

// Note is one of the lab's own lines for people, not something that
// happened in AWS: "Waiting for 2 instance(s) to be InService and
// healthy...".
type Note struct {
	Text string `json:"text"`
}

func (Note) Kind() string      { return "lab" }
func (n Note) Message() string { return n.Text }
