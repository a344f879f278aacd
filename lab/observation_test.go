package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/rundir"
	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/sim/entry"
	"github.com/simplydone/lab/stack"
)

// TestObservationDisagreements: only targets the live nodes disagree on
// are listed, with every node's state, "" where a node has no view of the
// target. (It was the TUI's viewsDiffer test; the lab computes it now.)
func TestObservationDisagreements(t *testing.T) {
	got := disagreements(entry.Views{
		"us-east-1a": {"i-1": "healthy", "i-2": "healthy", "i-3": "healthy"},
		"us-east-1b": {"i-1": "healthy", "i-2": "unhealthy"},
		"us-east-1c": {"i-1": "healthy", "i-2": "healthy", "i-3": "healthy"},
	})
	want := map[string]map[string]string{
		"i-2": {"us-east-1a": "healthy", "us-east-1b": "unhealthy", "us-east-1c": "healthy"},
		"i-3": {"us-east-1a": "healthy", "us-east-1b": "", "us-east-1c": "healthy"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for _, d := range got {
		if !maps.Equal(d.States, want[d.Target]) {
			t.Errorf("%s: %v, want %v", d.Target, d.States, want[d.Target])
		}
	}
}

// observedStack is testStack with a CPU alarm driving a step policy.
func observedStack(t *testing.T, port int) *stack.Stack {
	t.Helper()
	return testStackWith(t, port, 5, `scaling_policies:
  - name: cpu-high
    policy_type: StepScaling
    adjustment_type: ChangeInCapacity
    step_adjustments: [{metric_interval_lower_bound: 0, scaling_adjustment: 1}]
    alarm: {metric_name: CPUUtilization, namespace: AWS/EC2, statistic: Average, comparison_operator: GreaterThanThreshold, threshold: 80, period: 60s, evaluation_periods: 1}
`)
}

// TestObservationOfALiveLab reads a live lab (three zones, an instance in
// each, speed 20) through its handle: the zones in the stack's order with
// their nodes up and in DNS, each instance InService and healthy on every
// node, the group's capacity, the DNS answer and the alarm; the whole
// value goes through JSON unchanged. A zone's node stopped shows down and,
// once the DNS server's detector acts, out of DNS. Then a fault by hand
// through the handle of a lab that runs no scenario (`lab up`): the lab
// makes its one runner, with the run's journal, on first use.
func TestObservationOfALiveLab(t *testing.T) {
	s := observedStack(t, 18520)
	l, err := Start(context.Background(), Options{Stack: s, Speed: 20, Seed: 5, RunsDir: t.TempDir(), StateDir: t.TempDir(), Driver: DriverProcess})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.waitReady(context.Background(), 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	h := l.Handle()
	if h.Dir() != l.Dir {
		t.Errorf("dir %q, want %q", h.Dir(), l.Dir)
	}
	var o Observation
	waitFor(t, "every node in the DNS answer and seeing three healthy targets", 10*time.Second, func() bool {
		o = h.Observe()
		if o.DNS == nil || len(o.DNS.Zones) != 3 {
			return false
		}
		for _, z := range o.Zones {
			if z.Node == nil || z.Node.Healthy != 3 {
				return false
			}
		}
		return true
	})
	if o.Time.IsZero() || o.Time.After(h.Now()) {
		t.Errorf("observed at %v, now %v", o.Time, h.Now())
	}
	if o.Group != (GroupState{Name: "itest", Desired: 3, Min: 3, Max: 5}) {
		t.Errorf("group %+v", o.Group)
	}
	if o.DNS.Name != l.EntryName() {
		t.Errorf("DNS name %q, want %q", o.DNS.Name, l.EntryName())
	}
	for i, z := range o.Zones {
		if z.Name != s.Zones[i] {
			t.Errorf("zone %d is %s, want %s", i, z.Name, s.Zones[i])
		}
		if n := z.Node; !n.Up || !n.InDNS || n.FailOpen || n.Unhealthy != 0 || !strings.HasPrefix(n.Addr, "127.") {
			t.Errorf("%s's node %+v", z.Name, n)
		}
	}
	if len(o.Instances) != 3 {
		t.Fatalf("instances %+v", o.Instances)
	}
	zones := map[string]bool{}
	for _, in := range o.Instances {
		zones[in.Zone] = true
		if in.State != StateInService || len(in.Health) != 3 {
			t.Errorf("instance %+v", in)
		}
		for node, th := range in.Health {
			if th.State != "healthy" {
				t.Errorf("%s sees %s as %+v", node, in.ID, th)
			}
		}
	}
	if len(zones) != 3 {
		t.Errorf("instances in zones %v, want one in each", zones)
	}
	if len(o.Alarms) != 1 || o.Alarms[0].Name != "cpu-high" || o.Alarms[0].Comparison != "GreaterThanThreshold" ||
		o.Alarms[0].Threshold != 80 || o.Alarms[0].Metric != MetricCPUUtilization || o.Alarms[0].Namespace != "AWS/EC2" || o.Alarms[0].State == "" {
		t.Errorf("alarms %+v", o.Alarms)
	}
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	var back Observation
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if again, _ := json.Marshal(back); !bytes.Equal(again, b) {
		t.Errorf("through JSON:\n%s\n%s", b, again)
	}

	// a zone's node stops: down at once, out of DNS once the detector acts
	if err := l.StopZoneNode("us-east-1b"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the stopped node out of the DNS answer", 30*time.Second, func() bool {
		o = h.Observe()
		return !o.Zones[1].Node.InDNS && len(o.DNS.Zones) == 2
	})
	if o.Zones[1].Node.Up || !o.Zones[0].Node.Up || !o.Zones[2].Node.Up {
		t.Errorf("nodes after the stop: %+v %+v %+v", o.Zones[0].Node, o.Zones[1].Node, o.Zones[2].Node)
	}
	if err := l.StartZoneNode("us-east-1b"); err != nil {
		t.Fatal(err)
	}

	// a fault by hand on a lab that runs no scenario
	log := &chaosEvents{}
	l.Bus.Subscribe(log.handle)
	if n := h.Running("us-east-1a"); n != 1 {
		t.Errorf("running in us-east-1a: %d, want 1", n)
	}
	if err := h.Inject(context.Background(), chaos.Action{Kind: chaos.KillInstance, By: "hand"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the kill by hand published", 5*time.Second, func() bool { return log.has("Chaos #1: kill-instance") })
	j, err := os.ReadFile(filepath.Join(l.Dir, rundir.ChaosFile))
	if err != nil || strings.Count(string(j), `"type":"chaos.FaultInjected"`) != 1 || !strings.Contains(string(j), `"by":"hand"`) {
		t.Errorf("chaos.jsonl (%v):\n%s", err, j)
	}
}

// TestHandleInjectGoesThroughTheRunsRunner runs a short scenario with one
// fault on its timeline; once it is injected, a fault by hand through the
// run's handle is the run's fault #2: the same runner, numbering, journal
// and summary counts. The lab's notes are events on the bus (in the
// journal as lab.Note) and lines of their own on the console, as before.
func TestHandleInjectGoesThroughTheRunsRunner(t *testing.T) {
	s := testStack(t, 18521)
	sc, err := scenarios.Parse("hand.yaml", []byte(`name: hand
stack: simplydone
speed: 20
seed: 9
load:
  phases: [{name: steady, duration: 3m, rate: 5}]
chaos:
  - {at: 20s, action: kill-instance}
slos: [requests >= 1]
`))
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		handle   *Handle
		handErr  = make(chan error, 1)
		injected []chaos.FaultInjected
		notes    []string
		console  syncBuffer
	)
	sub := func(e events.Envelope) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := e.Event.(type) {
		case chaos.FaultInjected:
			injected = append(injected, ev)
			if ev.N == 1 && handle != nil { // the timeline's fault: now one by hand, through the handle
				h := handle
				go func() { handErr <- h.Inject(context.Background(), chaos.Action{Kind: chaos.KillInstance, By: "hand"}) }()
			}
		case Note:
			notes = append(notes, ev.Text)
		}
	}
	runs := t.TempDir()
	sum, err := Run(context.Background(), RunOptions{Scenario: sc, Stack: s, Driver: DriverProcess, RunsDir: runs, StateDir: t.TempDir(),
		Console: &console, Subscribers: []events.Handler{sub},
		OnHandle: func(h *Handle) { mu.Lock(); handle = h; mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-handErr:
		if err != nil {
			t.Fatalf("the fault by hand: %v", err)
		}
	default:
		t.Fatal("no fault by hand was injected")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(injected) != 2 || injected[0].N != 1 || injected[0].By == "hand" || injected[1].N != 2 || injected[1].By != "hand" {
		t.Fatalf("faults %+v, want the timeline's #1 then #2 by hand", injected)
	}
	if sum.Faults.Injected != 2 {
		t.Errorf("summary counts %d faults injected, want 2", sum.Faults.Injected)
	}
	j, err := os.ReadFile(filepath.Join(runs, sum.RunID, rundir.ChaosFile))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(j), `"type":"chaos.JournalOpened"`); n != 1 {
		t.Errorf("chaos.jsonl opened %d times, want once (one runner):\n%s", n, j)
	}
	if n := strings.Count(string(j), `"type":"chaos.FaultInjected"`); n != 2 {
		t.Errorf("chaos.jsonl has %d faults, want 2:\n%s", n, j)
	}

	// the notes: events on the bus and in the journal, lines of their own on the console
	waiting := "Waiting for 3 instance(s) to be InService and healthy..."
	ready := "The tier is ready; hand starts."
	if !slices.Contains(notes, waiting) || !slices.Contains(notes, ready) || !strings.HasPrefix(notes[0], "Runtime: ") {
		t.Errorf("notes on the bus: %q", notes)
	}
	out := console.String()
	for _, line := range []string{waiting, ready} {
		if !strings.Contains(out, "\n"+line+"\n") {
			t.Errorf("the console lacks the line %q:\n%s", line, out)
		}
	}
	if !strings.Contains(out, "  stats: offered ") {
		t.Errorf("the console lacks the stats lines:\n%s", out)
	}
	ev, err := os.ReadFile(filepath.Join(runs, sum.RunID, rundir.EventsFile))
	if err != nil || !strings.Contains(string(ev), `"type":"Note","event":{"text":"`+waiting+`"}`) {
		t.Errorf("events.jsonl lacks the note (%v)", err)
	}
	if strings.Contains(string(ev), "stats: offered") {
		t.Error("a stats line reached events.jsonl")
	}
}

// syncBuffer is a bytes.Buffer safe to write from the bus's goroutine and
// the load's.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
