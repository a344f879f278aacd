package procs

import (
	"context"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// Policy decides the number of Ps from the process's CPU use over one
// interval, in cores (CPU seconds per wall second).
type Policy struct {
	Max  int     // at most this many Ps: the host's cores
	Up   float64 // more Ps when the process used more than Up cores per P
	Down float64 // one fewer when it used less than Down cores per P it would keep ...
	Calm int     // ... for this many intervals in a row
}

// DefaultPolicy is the lab's: up above 0.6 of a core per P (one P at 60%
// busy leaves headroom for a burst before the next interval), down below
// 0.45 of a core per P kept, for 8 intervals (2 s at Interval). Between the
// two, the same load stays where it is: at two Ps the same requests cost
// about 1.25 times their CPU on one (docs/lab-cost.md), so a load that was
// just above 0.6 on one P reads about 0.75 on two, well above 0.45.
func DefaultPolicy(cores int) Policy {
	return Policy{Max: max(1, cores), Up: 0.6, Down: 0.45, Calm: 8}
}

// Interval is how often the governor reads the process's CPU.
const Interval = 250 * time.Millisecond

// State is the governor's: the Ps it set and how many intervals in a row
// were calm enough to give one back.
type State struct {
	Procs int
	calm  int
}

// Step returns the state after an interval in which the process used busy
// cores.
func (p Policy) Step(s State, busy float64) State {
	n := min(max(s.Procs, 1), p.Max)
	switch {
	case busy > p.Up*float64(n) && n < p.Max:
		return State{Procs: min(2*n, p.Max)}
	case n > 1 && busy < p.Down*float64(n-1):
		if s.calm+1 >= p.Calm {
			return State{Procs: n - 1}
		}
		return State{Procs: n, calm: s.calm + 1}
	}
	return State{Procs: n}
}

// Governor applies a Policy every Interval. Its fields are the seams tests
// replace: the ticks, the reading, and the setter.
type Governor struct {
	Policy Policy
	Tick   <-chan time.Time // one reading per tick
	// Read returns the process's CPU time (user and system) so far and
	// when it was read.
	Read func() (cpu time.Duration, at time.Time)
	Set  func(int) // sets GOMAXPROCS
}

// Run steps the policy on every tick until ctx ends, from one P (its
// caller set it).
func (g Governor) Run(ctx context.Context) {
	s := State{Procs: 1}
	prevCPU, prevAt := g.Read()
	for {
		select {
		case <-ctx.Done():
			return
		case <-g.Tick:
		}
		cpu, at := g.Read()
		dt := at.Sub(prevAt).Seconds()
		if dt <= 0 {
			continue
		}
		next := g.Policy.Step(s, (cpu-prevCPU).Seconds()/dt)
		prevCPU, prevAt = cpu, at
		if next.Procs != s.Procs {
			g.Set(next.Procs)
		}
		s = next
	}
}

// ProcessCPU is the calling process's CPU time, user and system, all its
// threads (getrusage RUSAGE_SELF: its children's are not in it), and now.
func ProcessCPU() (time.Duration, time.Time) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, time.Now()
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), time.Now()
}

// The process has one governor however many runs share it (tests run
// several labs in one process): the first Govern starts it, the last one's
// stop ends it and puts GOMAXPROCS back.
var (
	mu     sync.Mutex
	users  int
	cancel context.CancelFunc
	done   chan struct{}
	before int
)

// Govern starts the process's governor unless GOMAXPROCS is set in the
// environment, and returns what stops it. Every call needs its stop.
func Govern() (stop func()) {
	if os.Getenv("GOMAXPROCS") != "" {
		return func() {}
	}
	mu.Lock()
	defer mu.Unlock()
	users++
	if users == 1 {
		var ctx context.Context
		ctx, cancel = context.WithCancel(context.Background())
		done = make(chan struct{})
		before = runtime.GOMAXPROCS(1)
		tk := time.NewTicker(Interval)
		g := Governor{Policy: DefaultPolicy(runtime.NumCPU()), Read: ProcessCPU, Tick: tk.C,
			Set: func(n int) { runtime.GOMAXPROCS(n) }}
		go func(done chan struct{}) {
			defer close(done)
			defer tk.Stop()
			g.Run(ctx)
		}(done)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			mu.Lock()
			defer mu.Unlock()
			users--
			if users == 0 {
				cancel()
				<-done
				runtime.GOMAXPROCS(before)
			}
		})
	}
}

// Current is the number of Ps now (GOMAXPROCS), for the run's records.
func Current() int { return runtime.GOMAXPROCS(0) }
