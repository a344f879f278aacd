package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/load"
	"github.com/simplydone/lab/rundir"
	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/sim/az"
)

// The rule for one second: starved only when the host withheld more than
// a fifth of the instances' shares.
func TestSecondStarved(t *testing.T) {
	for _, c := range []struct {
		name string
		s    rundir.HostSecond
		want bool
	}{
		{"no instance read", rundir.HostSecond{Entitled: 0, DeniedPct: 90}, false},
		{"nothing withheld", rundir.HostSecond{Entitled: 0.5, DeniedPct: 0}, false},
		{"at the threshold", rundir.HostSecond{Entitled: 0.5, DeniedPct: 20}, false},
		{"just over", rundir.HostSecond{Entitled: 0.5, DeniedPct: 20.001}, true},
		{"starved", rundir.HostSecond{Entitled: 1.5, DeniedPct: 66}, true},
	} {
		if got := secondStarved(c.s); got != c.want {
			t.Errorf("%s: starved = %v, want %v", c.name, got, c.want)
		}
	}
}

// secs makes n load seconds, those listed starved.
func secs(n int, starved ...int) []rundir.HostSecond {
	out := make([]rundir.HostSecond, n)
	for i := range out {
		out[i] = rundir.HostSecond{Second: i, Entitled: 0.5, Other: 0.2}
	}
	for _, i := range starved {
		out[i].Starved, out[i].DeniedPct, out[i].LabDeniedPct, out[i].Other = true, 60, 30, 1.8
	}
	return out
}

func run(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// The rule for a run: INVALID past 5% of the load seconds starved, or ten
// in a row; the reason names the seconds.
func TestJudgeHost(t *testing.T) {
	for _, c := range []struct {
		name    string
		ss      []rundir.HostSecond
		invalid bool
		reason  string
	}{
		{"none starved", secs(100), false, ""},
		{"5% exactly, scattered", secs(100, 3, 20, 40, 60, 80), false, ""},
		{"6%, scattered", secs(100, 3, 20, 40, 60, 80, 99), true, "6 of 100 load seconds were starved (6% of them, over the 5% allowed; wall seconds 3, 20, 40, 60, 80, 99;"},
		{"nine in a row in a long run", secs(400, run(100, 108)...), false, ""},
		{"ten in a row in a long run", secs(400, run(100, 109)...), true, "10 of 400 load seconds were starved (10 in a row; wall seconds 100-109;"},
		{"all", secs(29, run(0, 28)...), true, "29 of 29 load seconds were starved (100% of them"},
		{"no seconds", nil, false, ""},
	} {
		h, reason := judgeHost(c.ss)
		if h.Invalid != c.invalid || (reason != "") != c.invalid {
			t.Errorf("%s: invalid %v (%q), want %v", c.name, h.Invalid, reason, c.invalid)
			continue
		}
		if c.invalid && !strings.Contains(reason, c.reason) {
			t.Errorf("%s: reason %q\nwant it to contain %q", c.name, reason, c.reason)
		}
		if c.invalid && !strings.Contains(reason, "up to 60% of the instances' share and 30% of the lab's own CPU withheld, the host busy with 1.8 cores outside the lab") {
			t.Errorf("%s: reason %q does not say how much was withheld", c.name, reason)
		}
		if h.Seconds != len(c.ss) || !h.Measured || h.Rule == "" {
			t.Errorf("%s: %+v", c.name, h)
		}
	}
}

// An interval's withheld CPU counts only what idle CPU could not have given
// and what went outside the lab; throttling by the instance's own limit,
// and waits beyond the share it did not use, do not count.
func TestIntervalDenied(t *testing.T) {
	quarter := func(busy, lab float64, ins ...instanceInterval) rundir.HostSecond {
		var s rundir.HostSecond
		for range 4 {
			interval{dt: 0.25, cpus: 2, busy: busy / 4, lab: lab / 4, instances: ins}.addTo(&s)
		}
		return closeSecond(s, 1)
	}
	q := func(share, used, wait, thr float64) instanceInterval {
		return instanceInterval{share: share, used: used / 4, wait: wait / 4, throttled: thr / 4}
	}
	for _, c := range []struct {
		name      string
		s         rundir.HostSecond
		deniedPct float64
		starved   bool
	}{
		{"idle host: waits are the instance's own", quarter(0.4, 0.1, q(0.25, 0.1, 0.2, 0.05), q(0.25, 0.1, 0.2, 0.05)), 0, false},
		{"busy outside the lab", quarter(2, 0.1, q(0.25, 0.05, 1, 0), q(0.25, 0.05, 1, 0)), 80, true},
		{"the lab's own load is not the host's", quarter(2, 1.8, q(0.25, 0.05, 1, 0), q(0.25, 0.05, 1, 0)), 20, false},
		{"an instance using its whole share is not starved", quarter(2, 0.1, q(0.25, 0.25, 2, 0.5)), 0, false},
		{"throttling explains the wait", quarter(2, 0.1, q(0.25, 0.1, 0.3, 0.3)), 0, false},
		{"half the host idle covers the wait", quarter(1, 0.1, q(0.25, 0.05, 0.8, 0)), 0, false},
	} {
		if c.s.DeniedPct != c.deniedPct || c.s.Starved != c.starved {
			t.Errorf("%s: denied %v%% starved %v, want %v%% %v (%+v)", c.name, c.s.DeniedPct, c.s.Starved, c.deniedPct, c.starved, c.s)
		}
	}
}

// The lab's own process is starved when the host's work outside the lab
// kept its threads waiting for more than a fifth of what it asked for; its
// wait behind its own instances, or while a CPU sat idle, is not the host's.
func TestIntervalLabDenied(t *testing.T) {
	second := func(busy, lab, labWait, used float64) rundir.HostSecond {
		var s rundir.HostSecond
		in := instanceInterval{share: 0.5, used: used / 4, wait: 0, throttled: 0}
		for range 4 {
			interval{dt: 0.25, cpus: 2, busy: busy / 4, lab: lab / 4, labWait: labWait / 4, instances: []instanceInterval{in}}.addTo(&s)
		}
		return closeSecond(s, 1)
	}
	for _, c := range []struct {
		name      string
		s         rundir.HostSecond
		deniedPct float64
		starved   bool
	}{
		{"quiet host: the wait fits in idle CPU", second(0.8, 0.4, 0.3, 0.3), 0, false},
		{"behind its own instances", second(2, 0.6, 0.5, 1.4), 0, false},
		{"a burner outside the lab", second(2, 0.3, 0.6, 0.2), 58.778, true},                      // 0.6 x 1.5/1.7 of 0.9
		{"a little outside work, shared out", second(2, 0.5, 0.6, 1.4), 3.636, false},             // 0.6 x 0.1/1.5 of 1.1
		{"saturated by its own instances, 8% outside", second(2, 0.28, 0.48, 1.56), 5.921, false}, // 0.48 x 0.16/1.72 (0.045) of 0.76
		{"at the threshold", second(2, 0.8, 0.2, 0), 20, false},
	} {
		if c.s.LabDeniedPct != c.deniedPct || c.s.Starved != c.starved || c.s.DeniedPct != 0 {
			t.Errorf("%s: lab denied %v%% starved %v, want %v%% %v (%+v)", c.name, c.s.LabDeniedPct, c.s.Starved, c.deniedPct, c.starved, c.s)
		}
	}
}

func TestSpans(t *testing.T) {
	if got := spans([]int{3, 4, 5, 7, 9, 10}); got != "3-5, 7, 9-10" {
		t.Errorf("spans = %q", got)
	}
}

// A stop condition stands (FAIL) when it still holds over the seconds of
// its window the host did not starve; otherwise a starved window makes the
// run INVALID.
func TestStopHoldsUnstarved(t *testing.T) {
	cond, err := scenarios.ParseSLO("error_rate > 50%")
	if err != nil {
		t.Fatal(err)
	}
	window := func(bad ...int) []load.Second { // ten seconds of 20 requests, all failing in the seconds listed
		var out []load.Second
		for i := 100; i < 110; i++ {
			s := load.Second{Index: i, Sent: 20}
			if slices.Contains(bad, i) {
				s.Err5xx = 20
			}
			out = append(out, s)
		}
		return out
	}
	for _, c := range []struct {
		name             string
		window           []load.Second
		starved          []int
		holds, anyStarve bool
	}{
		{"nothing starved", window(run(100, 109)...), nil, true, false},
		{"errors throughout, some seconds starved", window(run(100, 109)...), []int{3, 101, 104}, true, true},
		{"errors only in the starved seconds", window(run(100, 105)...), run(100, 105), false, true},
		{"most of the window starved: cannot say", window(run(100, 109)...), run(100, 106), false, true},
		{"starved outside the window", window(run(100, 109)...), []int{5, 99, 110}, true, false},
	} {
		v := &liveView{stopCond: cond, stopWindow: c.window}
		holds, any := v.stopHoldsUnstarved(c.starved)
		if holds != c.holds || any != c.anyStarve {
			t.Errorf("%s: holds %v, any starved %v; want %v, %v", c.name, holds, any, c.holds, c.anyStarve)
		}
	}
}

// fakeAccounter is a runtime's CPU accounting, set by the test.
type fakeAccounter map[az.InstanceID]az.CPUAccount

func (f fakeAccounter) CPUAccount(_ context.Context, id az.InstanceID) (az.CPUAccount, error) {
	return f[id], nil
}

// The sampler sums its quarter-second readings into wall seconds: a
// second ends with the reading that reaches past it, an instance's first
// reading and a restart (counters going back) are left out, and the host's
// busy time outside the lab bounds what is counted as withheld.
func TestHostSamplerSumsQuarters(t *testing.T) {
	proc := t.TempDir()
	writeStat := func(busyTicks, idleTicks, labTicks int) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(proc, "stat"), fmt.Appendf(nil, "cpu  %d 0 0 %d 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\ncpu1 0 0 0 0 0 0 0 0 0 0\n", busyTicks, idleTicks), 0o644); err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(proc, "7"), 0o755)
		if err := os.WriteFile(filepath.Join(proc, "7", "stat"), fmt.Appendf(nil, "7 (lab) S 1 7 7 0 -1 0 0 0 0 0 %d 0 0 0 20 0 1 0 1 0 0\n", labTicks), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, tid := range []string{"7", "8"} { // the lab's two threads wait 30 ms a quarter each
			os.MkdirAll(filepath.Join(proc, "7", "task", tid), 0o755)
			if err := os.WriteFile(filepath.Join(proc, "7", "task", tid, "schedstat"), fmt.Appendf(nil, "%d %d 9\n", labTicks*1e7/2, labTicks*6e6), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	acct := fakeAccounter{}
	h := &hostSampler{acct: acct, procRoot: proc, self: 7, prev: map[az.InstanceID]az.CPUAccount{},
		ids: func() []az.InstanceID { return []az.InstanceID{"i-1", "i-2"} }}
	start := time.Unix(1000, 0)
	h.start = start
	ms := time.Millisecond
	// each quarter: the host busy 50 ticks (both CPUs), the lab 5 of them;
	// i-1 uses 10 ms and waits 100 ms (nothing throttled); i-2 appears late
	busy, idle, lab := 0, 0, 0
	var got []rundir.HostSecond
	for q := 0; q <= 8; q++ {
		writeStat(busy, idle, lab)
		acct["i-1"] = az.CPUAccount{Share: 0.25, Used: time.Duration(q) * 10 * ms, RunDelay: time.Duration(q) * 100 * ms}
		if q >= 5 {
			acct["i-2"] = az.CPUAccount{Share: 0.25, Used: time.Duration(q) * 10 * ms}
		}
		if q == 7 { // i-1 restarted: its counters begin again
			acct["i-1"] = az.CPUAccount{Share: 0.25}
		}
		if s, ok := h.sample(start.Add(time.Duration(q) * hostTick)); ok {
			got = append(got, s)
		}
		busy, lab = busy+50, lab+5
	}
	if len(got) != 2 || got[0].Second != 0 || got[1].Second != 1 {
		t.Fatalf("seconds %+v", got)
	}
	s0 := got[0] // four quarters of i-1 alone: entitled 0.25, used 0.04, waits 0.4
	if s0.Instances != 1 || s0.Entitled != 0.25 || s0.Used != 0.04 || s0.Wait != 0.4 || s0.HostBusy != 2 || s0.Lab != 0.2 || s0.CPUs != 2 {
		t.Fatalf("second 0 %+v", s0)
	}
	// withheld per quarter min(0.1, 0.0625-0.01) = 0.0525, no idle CPU, outside the lab 0.5-0.05-0.01: all of it counts
	if s0.Denied != 0.21 || s0.DeniedPct != 84 || !s0.Starved || s0.Other != 1.76 {
		t.Fatalf("second 0 %+v", s0)
	}
	// the lab's threads waited 60 ms a quarter, shared out 0.44 outside to 0.01 its instance's: 0.235 of its 0.2 + 0.24 asked for
	if s0.LabWait != 0.24 || s0.LabDenied != 0.235 || s0.LabDeniedPct != 53.409 {
		t.Fatalf("second 0 lab %+v", s0)
	}
	s1 := got[1] // i-1 in three quarters (its restart at 7 left out), i-2 in three (its first reading, at 5, left out)
	if s1.Instances != 2 || s1.Entitled != 0.25*3/4+0.25*3/4 {
		t.Fatalf("second 1 %+v", s1)
	}
}

// A breached SLO on a starved host stays the stack's FAIL only for lost
// writes, or an error rate still breached over the seconds the host did
// not starve.
func TestBreachStands(t *testing.T) {
	slo := func(expr string) scenarios.SLO {
		s, err := scenarios.ParseSLO(expr)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	secs := func(bad ...int) []load.Second { // twenty seconds of 100 requests, 10 failing in the seconds listed
		var out []load.Second
		for i := range 20 {
			s := load.Second{Index: i, Sent: 100}
			if slices.Contains(bad, i) {
				s.Err5xx = 10
			}
			out = append(out, s)
		}
		return out
	}
	for _, c := range []struct {
		name    string
		slo     scenarios.SLO
		secs    []load.Second
		starved []int
		stands  bool
	}{
		{"lost writes", slo("lost_writes == 0"), secs(), run(0, 19), true},
		{"lost session state", slo("lost_session_state == 0"), secs(), run(0, 19), true},
		{"errors outside the starved seconds", slo("success_rate >= 99.9%"), secs(12, 13), run(0, 5), true},
		{"errors only in the starved seconds", slo("success_rate >= 99.9%"), secs(2, 3), run(0, 5), false},
		{"error rate, most seconds starved", slo("error_rate < 0.1%"), secs(run(0, 19)...), run(0, 12), false},
		{"latency is the host's to explain", slo("p99 <= 40ms"), secs(), []int{1}, false},
		{"capacity too", slo("min_in_service >= 2"), secs(), []int{1}, false},
	} {
		if got := breachStands(c.slo, c.secs, c.starved); got != c.stands {
			t.Errorf("%s: stands = %v, want %v", c.name, got, c.stands)
		}
	}
}

// A breach of what the stack lost stands even when the load generator ran
// late; other breaches do not.
func TestCorrectnessBreached(t *testing.T) {
	slos := []scenarios.SLO{}
	for _, e := range []string{"p99 <= 100ms", "lost_writes == 0", "lost_session_state == 0"} {
		s, err := scenarios.ParseSLO(e)
		if err != nil {
			t.Fatal(err)
		}
		slos = append(slos, s)
	}
	for _, c := range []struct {
		pass []bool
		want bool
	}{
		{[]bool{false, true, true}, false},
		{[]bool{true, false, true}, true},
		{[]bool{false, true, false}, true},
		{[]bool{true, true, true}, false},
	} {
		sum := &Summary{}
		for i, p := range c.pass {
			sum.SLOs = append(sum.SLOs, SLOResult{Expr: slos[i].Expr, Pass: p})
		}
		if got := correctnessBreached(sum, slos); got != c.want {
			t.Errorf("%v: %v, want %v", c.pass, got, c.want)
		}
	}
}
