package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/lab"
	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/stack"
)

// planCmd is `lab plan SCENARIO`: the scenario resolved with its seed, what
// happens when and to which zone or instance, the SLOs and the stop
// conditions, without starting anything.
func planCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	speed := fs.Float64("speed", 0, "AWS seconds per wall second (default: the scenario's)")
	seed := fs.Uint64("seed", 0, "seed for every random choice (default: the scenario's)")
	sf := addStackFlags(fs)
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return exitUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: lab plan SCENARIO [--speed N] [--seed N]")
		return exitUsage
	}
	sc, st, ok := resolveScenario("plan", fs.Arg(0), *speed, stderr)
	if !ok {
		return exitUsage
	}
	if st, ok = sf.apply(sc, st, stderr); !ok {
		return exitUsage
	}
	writePlan(stdout, sc, st, *seed, *speed)
	return exitOK
}

// writePlan prints the resolved scenario. The chaos steps are the ones the
// run's runner will play: the same expansion with the same seed.
func writePlan(w io.Writer, sc *scenarios.Scenario, st *stack.Stack, seed uint64, speed float64) {
	if seed == 0 {
		seed = sc.Seed
	}
	if speed == 0 {
		speed = sc.Speed
	}
	total := sc.TotalDuration()
	wall := time.Duration(float64(total) / speed).Round(time.Second)
	fmt.Fprintf(w, "Plan for %s on stack %s: seed %d, speed %g (%s of AWS time in %s wall). Nothing is started.\n",
		sc.Name, st.Name, seed, speed, clock.Short(total), clock.Short(wall))
	if sc.Description != "" {
		fmt.Fprintf(w, "%s\n", sc.Description)
	}
	asg := st.AutoScalingGroup
	fmt.Fprintf(w, "\nStack: %s; the group starts at %d instance(s) (min %d, max %d) over %s.\n",
		st.Name, asg.DesiredCapacity, asg.MinSize, asg.MaxSize, strings.Join(st.Zones, ", "))

	fmt.Fprintf(w, "\nLoad (AWS time from the start of the load; rates in requests per wall second):\n")
	var at time.Duration
	for _, p := range sc.Load.Phases {
		rate := fmt.Sprintf("%g/s", p.From)
		if p.From != p.To {
			rate = fmt.Sprintf("%g/s to %g/s", p.From, p.To)
		}
		if p.Users { // the closed model: users, each thinking between requests
			rate = fmt.Sprintf("%g users", p.From)
			if p.From != p.To {
				rate = fmt.Sprintf("%g to %g users", p.From, p.To)
			}
			rate += fmt.Sprintf(" (think %s)", clock.Short(p.ThinkTime))
		}
		fmt.Fprintf(w, "  %-7s %-8s %s for %s\n", offset(at), p.Name, rate, clock.Short(p.Duration))
		at += p.Duration
	}
	fmt.Fprintf(w, "  %-7s end\n", offset(at))
	if sc.CapacityScale != 1 {
		fmt.Fprintf(w, "Capacity scale %g: every instance's CPU share and every request's CPU cost x%g.\n", sc.CapacityScale, sc.CapacityScale)
	}

	fmt.Fprintf(w, "\nChaos timeline (instances are chosen when the step happens, among the run's own running instances):\n")
	steps := chaos.Expand(lab.ChaosActions(sc), seed, total)
	if len(steps) == 0 {
		fmt.Fprintf(w, "  none\n")
	}
	for _, s := range steps {
		fmt.Fprintf(w, "  #%-2d %s  %s\n", s.N, s.When(), s.Describe(seed))
	}
	switch {
	case sc.MaxDownInstances > 0 && sc.MaxDownZones > 0:
		fmt.Fprintf(w, "Blast radius: at most %d instance(s) and %d zone(s) down at once; a fault past that is refused.\n", sc.MaxDownInstances, sc.MaxDownZones)
	case sc.MaxDownInstances > 0:
		fmt.Fprintf(w, "Blast radius: at most %d instance(s) down at once; a fault past that is refused.\n", sc.MaxDownInstances)
	case sc.MaxDownZones > 0:
		fmt.Fprintf(w, "Blast radius: at most %d zone(s) down at once; a fault past that is refused.\n", sc.MaxDownZones)
	default:
		fmt.Fprintf(w, "Blast radius: no limit beyond the run's own instances.\n")
	}

	fmt.Fprintf(w, "\nSLOs (the verdict: PASS only if all hold over the whole run):\n")
	for _, s := range sc.SLOs {
		fmt.Fprintf(w, "  %s\n", s.Expr)
	}
	fmt.Fprintf(w, "\nStop conditions (checked every second over the last 10 wall seconds; one that holds ends the run as FAIL and reverts every fault):\n")
	if len(sc.StopConditions) == 0 {
		fmt.Fprintf(w, "  none\n")
	}
	for _, s := range sc.StopConditions {
		if s.For > 0 {
			fmt.Fprintf(w, "  %s  (must hold for %s of AWS time without a break)\n", s.Expr, clock.Short(s.For))
		} else {
			fmt.Fprintf(w, "  %s\n", s.Expr)
		}
	}
}

// offset writes an AWS offset from the start as +MM:SS.
func offset(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	return fmt.Sprintf("+%02d:%02d", s/60, s%60)
}
