package lab

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/az/process"
	"github.com/simplydone/lab/stack"
)

// Options configure a run.
type Options struct {
	Stack    *stack.Stack
	Speed    float64   // AWS seconds per wall second (default 1)
	RunsDir  string    // where run directories go (default ./runs)
	StateDir string    // the runtime's records (default: the runtime's own)
	Console  io.Writer // one line per event; nil for none
	Logger   *slog.Logger
	Rand     io.Reader // instance ids and run ids (default crypto/rand)
	// DrainWait bounds how long Close waits for in-flight requests to
	// finish draining, in wall time (default 10 s).
	DrainWait time.Duration
}

// Lab is a running tier.
type Lab struct {
	opts    Options
	RunID   string
	Dir     string
	Clock   *clock.Scaled
	Bus     *events.Bus
	LB      *alb.LoadBalancer
	Runtime *process.Runtime
	Zones   []az.Zone

	journal     *events.Journal
	journalFile *os.File
	addrs       *az.Addresses
	ctx         context.Context
	cancel      context.CancelFunc
	wg          sync.WaitGroup

	mu        sync.Mutex
	instances map[az.InstanceID]*Instance
	closed    bool
}

// Instance is one of the lab's instances.
type Instance struct {
	ID      az.InstanceID
	Zone    string
	Addr    netip.AddrPort
	PID     int
	Running bool
}

// Start validates nothing (the stack is already valid), reaps what a crashed
// run left, then brings the tier up: load-balancer nodes, then the group's
// desired capacity, registered with the target group.
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
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.DrainWait == 0 {
		opts.DrainWait = 10 * time.Second
	}
	c, err := clock.NewScaled(opts.Speed)
	if err != nil {
		return nil, err
	}
	l := &Lab{opts: opts, Clock: c, addrs: az.NewAddresses(), instances: map[az.InstanceID]*Instance{}}
	if l.RunID, err = newRunID(opts.Rand); err != nil {
		return nil, err
	}
	l.Dir = filepath.Join(opts.RunsDir, l.RunID)
	if err := os.MkdirAll(filepath.Join(l.Dir, "data"), 0o755); err != nil {
		return nil, fmt.Errorf("create run directory: %w", err)
	}
	defer func() {
		if err != nil {
			l.Close()
		}
	}()
	if err := l.startBus(); err != nil {
		return nil, err
	}
	if n, err := process.Reap(ctx, opts.StateDir, opts.Logger); err != nil {
		opts.Logger.Warn("reaping earlier runs", "err", err)
	} else if n > 0 {
		l.say("Reaped %d process(es) left behind by an earlier run that crashed", n)
	}
	l.Runtime, err = process.New(process.Options{RunID: l.RunID, StateDir: opts.StateDir, Logger: opts.Logger, LogDir: filepath.Join(l.Dir, "logs")})
	if err != nil {
		return nil, err
	}
	if ok, why := l.Runtime.Enforced(); !ok {
		l.say("CPU shares are NOT enforced: %s", why)
	}
	if l.Zones, err = az.NewZones(opts.Stack.Zones); err != nil {
		return nil, err
	}
	l.LB, err = alb.New(albConfig(opts.Stack, l.Zones, c, l.Bus))
	if err != nil {
		return nil, err
	}
	l.ctx, l.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if err := l.LB.Start(l.ctx); err != nil {
		return nil, err
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		l.watchExits()
	}()
	for i := 0; i < opts.Stack.AutoScalingGroup.DesiredCapacity; i++ {
		if _, err := l.Launch(ctx); err != nil {
			return nil, err
		}
	}
	return l, nil
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
	f, err := os.Create(filepath.Join(l.Dir, "events.jsonl"))
	if err != nil {
		return fmt.Errorf("create event journal: %w", err)
	}
	l.journalFile = f
	l.journal = events.NewJournal(f)
	l.Bus.Subscribe(l.journal.Handle)
	if l.opts.Console != nil {
		start := l.Clock.Now()
		l.Bus.Subscribe(func(e events.Envelope) {
			fmt.Fprintf(l.opts.Console, "%s  %s\n", awsElapsed(e.Time.Sub(start)), e.Message())
		})
	}
	s := l.opts.Stack
	l.Bus.Publish(RunStarted{RunID: l.RunID, Stack: s.Name, Speed: l.opts.Speed, Dir: l.Dir})
	return nil
}

// awsElapsed prints AWS time since the start as +mm:ss.
func awsElapsed(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	return fmt.Sprintf("+%02d:%02d", s/60, s%60)
}

func (l *Lab) say(format string, args ...any) {
	if l.opts.Console != nil {
		fmt.Fprintf(l.opts.Console, format+"\n", args...)
	}
}
