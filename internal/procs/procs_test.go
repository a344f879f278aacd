package procs

import (
	"context"
	"runtime"
	"slices"
	"testing"
	"time"
)

func TestStep(t *testing.T) {
	p := Policy{Max: 4, Up: 0.6, Down: 0.45, Calm: 3}
	cases := []struct {
		name string
		in   State
		busy float64
		want State
	}{
		{"idle on one P stays", State{Procs: 1}, 0.05, State{Procs: 1}},
		{"just under Up stays", State{Procs: 1}, 0.59, State{Procs: 1}},
		{"above Up doubles", State{Procs: 1}, 0.61, State{Procs: 2}},
		{"saturated two doubles", State{Procs: 2}, 1.9, State{Procs: 4}},
		{"never above Max", State{Procs: 4}, 3.9, State{Procs: 4}},
		{"double capped at Max", State{Procs: 3}, 2.5, State{Procs: 4}},
		{"between Down and Up stays, calm reset", State{Procs: 2, calm: 2}, 0.8, State{Procs: 2}},
		{"calm counts", State{Procs: 2, calm: 1}, 0.3, State{Procs: 2, calm: 2}},
		{"the Calm-th calm interval gives one back", State{Procs: 2, calm: 2}, 0.3, State{Procs: 1}},
		{"down is one at a time", State{Procs: 4, calm: 2}, 0.1, State{Procs: 3}},
		{"down judged per P kept", State{Procs: 3, calm: 2}, 0.95, State{Procs: 3}},
		{"zero Ps read as one", State{}, 0, State{Procs: 1}},
	}
	for _, c := range cases {
		if got := p.Step(c.in, c.busy); got != c.want {
			t.Errorf("%s: Step(%+v, %v) = %+v, want %+v", c.name, c.in, c.busy, got, c.want)
		}
	}
}

// A load that fits one P on one P but reads 1.25 times as much on two (the
// wake-ups, docs/lab-cost.md) does not flap between them.
func TestStepDoesNotFlapOnTheTwoPCost(t *testing.T) {
	p := DefaultPolicy(2)
	s := State{Procs: 1}
	onOne := 0.62 // just above Up: goes to two
	sets := 0
	for i := 0; i < 100; i++ {
		busy := onOne
		if s.Procs == 2 {
			busy = onOne * 1.25
		}
		n := p.Step(s, busy)
		if n.Procs != s.Procs {
			sets++
		}
		s = n
	}
	if sets != 1 || s.Procs != 2 {
		t.Fatalf("%d changes, ended on %d Ps; want one change, to 2", sets, s.Procs)
	}
}

// The governor reads the CPU used between ticks as cores over the wall
// time between them, and sets only changes.
func TestGovernorRun(t *testing.T) {
	// Each tick's CPU used in that interval: 0.4 cores on one P (stays),
	// 0.8 (two), 0.2 and 0.2 (two calm intervals: back to one).
	used := []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond}
	var cpu time.Duration
	at := time.Unix(0, 0)
	read := 0 // Run's goroutine alone reads
	tick := make(chan time.Time)
	sets := make(chan int, 10)
	g := Governor{Policy: Policy{Max: 2, Up: 0.6, Down: 0.45, Calm: 2}, Tick: tick,
		Read: func() (time.Duration, time.Time) {
			cpu += used[read]
			if read > 0 {
				at = at.Add(Interval)
			}
			read++
			return cpu, at
		},
		Set: func(n int) { sets <- n }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); g.Run(ctx) }()
	want := []int{2, 1}
	for range len(used) - 1 {
		tick <- time.Time{}
	}
	cancel()
	<-done
	close(sets)
	var got []int
	for n := range sets {
		got = append(got, n)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("GOMAXPROCS set to %v, want %v", got, want)
	}
}

// Govern starts one governor for the process, sets one P, and puts
// GOMAXPROCS back when the last user stops it.
func TestGovern(t *testing.T) {
	t.Setenv("GOMAXPROCS", "")
	before := runtime.GOMAXPROCS(0)
	a, b := Govern(), Govern()
	if n := Current(); n != 1 {
		t.Errorf("GOMAXPROCS %d while governed and idle, want 1", n)
	}
	a()
	a() // twice is harmless
	if n := Current(); n != 1 {
		t.Errorf("GOMAXPROCS %d after one of two stopped, want 1", n)
	}
	b()
	if n := Current(); n != before {
		t.Errorf("GOMAXPROCS %d after the last stop, want %d as before", n, before)
	}
}

func TestGovernLeavesAnExplicitGOMAXPROCS(t *testing.T) {
	t.Setenv("GOMAXPROCS", "2")
	before := runtime.GOMAXPROCS(0)
	stop := Govern()
	defer stop()
	if n := Current(); n != before {
		t.Errorf("GOMAXPROCS %d with GOMAXPROCS set in the environment, want %d untouched", n, before)
	}
}
