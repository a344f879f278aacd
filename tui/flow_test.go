package tui

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/lab"
	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/sim/asg"
	"github.com/simplydone/lab/stack"
)

// TestAggregatorHistoryAndMarks: p50 and the instances in service per zone
// reach the history, and scaling and faults mark the second they fall in.
func TestAggregatorHistoryAndMarks(t *testing.T) {
	a := NewAggregator(&scenarios.Scenario{Name: "s", Speed: 10}, &stack.Stack{Name: "st"}, 0)
	var o lab.RunOptions
	a.hook(&o)
	t0 := time.Unix(1000, 0)
	ev := func(e events.Event) { o.Subscribers[0](events.Envelope{Time: t0, Kind: "scaling", Event: e}) }
	sec := func(in int) {
		o.OnSecond(lab.SecondRecord{Offered: 10, Sent: 10, P50: 5, P99: 9, InService: map[string]int{"z-a": in}})
	}
	sec(1)
	ev(asg.DesiredCapacityChanged{From: 1, To: 2, Policy: "p"})
	sec(1)
	ev(asg.DesiredCapacityChanged{From: 2, To: 1, Policy: "p"})
	ev(chaos.FaultInjected{N: 1})
	ev(asg.DesiredCapacityChanged{From: 1, To: 2, Policy: "p"})
	sec(2)
	ev(asg.DesiredCapacityChanged{From: 2, To: 1, Policy: "p"})
	sec(1)
	h := a.Snapshot().History
	if h.Marks != " +!-" {
		t.Errorf("marks %q, want %q", h.Marks, " +!-")
	}
	if len(h.P50) != 4 || h.P50[3] != 5 || len(h.InService["z-a"]) != 4 || h.InService["z-a"][2] != 2 {
		t.Errorf("history %+v", h)
	}
}

func TestAlarmPolicies(t *testing.T) {
	one, cd := 1.0, 2*time.Minute
	st := &stack.Stack{Name: "g", AutoScalingGroup: stack.AutoScalingGroup{DefaultCooldown: 5 * time.Minute}, ScalingPolicies: []stack.ScalingPolicy{
		{Name: "up", PolicyType: stack.StepScaling, AdjustmentType: "ChangeInCapacity", Alarm: &stack.Alarm{Threshold: 70},
			StepAdjustments: []stack.StepAdjustment{{LowerBound: &one, ScalingAdjustment: 2}}},
		{Name: "simple", PolicyType: stack.SimpleScaling, AdjustmentType: "ChangeInCapacity", ScalingAdjustment: 1, Cooldown: &cd, Alarm: &stack.Alarm{Threshold: 70}},
		{Name: "tt", PolicyType: stack.TargetTrackingScaling, TargetTracking: &stack.TargetTracking{TargetValue: 50, DisableScaleIn: true}},
	}}
	now := time.Unix(1000, 0)
	m := alarmPolicies(st, now, map[string]time.Time{"simple": now.Add(-30 * time.Second)})
	if p := m["up"]; p == nil || p.Threshold != 70 || len(p.Steps) != 1 || *p.Steps[0].Lower != 1 || p.Steps[0].Adjustment != 2 {
		t.Errorf("up %+v", p)
	}
	if p := m["simple"]; p == nil || p.CooldownLeft != 90*time.Second {
		t.Errorf("simple %+v", p)
	}
	if h, l := m["TargetTracking-g-AlarmHigh-tt"], m["TargetTracking-g-AlarmLow-tt"]; h == nil || !h.High || l == nil || l.High || !l.NoScaleIn {
		t.Errorf("tracking %+v %+v", h, l)
	}
}

// flow runs the model in a real tea.Program at 160x48, with scripted keys
// and snapshots sent to it, and returns the final model. Keys go in as the
// key messages bubbletea's reader would make of them, through the same
// channel as the snapshots, so they are handled in the order sent: no
// waiting for luck. (teatest would do the same; this uses bubbletea itself.)
func flow(t *testing.T, o Options, script func(p *tea.Program, key func(string))) Model {
	t.Helper()
	o.Renderer = asciiRenderer()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p := tea.NewProgram(New(o), tea.WithInput(nil), tea.WithOutput(io.Discard), tea.WithoutSignalHandler(), tea.WithContext(ctx))
	done := make(chan tea.Model, 1)
	errc := make(chan error, 1)
	go func() {
		m, err := p.Run()
		done <- m
		errc <- err
	}()
	p.Send(tea160x48())
	key := func(k string) { p.Send(keyMsg(k)) }
	script(p, key)
	var m tea.Model
	select {
	case m = <-done:
	case <-time.After(5 * time.Second):
		p.Kill()
		m = <-done
		t.Errorf("the program did not quit")
	}
	if err := <-errc; err != nil && m == nil {
		t.Fatalf("run: %v", err)
	}
	return m.(Model)
}

// keyMsg is the message bubbletea makes of a key's bytes.
func keyMsg(k string) tea.KeyMsg {
	switch k {
	case "\r":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "\x1b[A":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "\x1b":
		return tea.KeyMsg{Type: tea.KeyEsc}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}

func TestFlowFilterSelectWhyQuit(t *testing.T) {
	stopped := 0
	m := flow(t, Options{Stop: func() { stopped++ }}, func(p *tea.Program, key func(string)) {
		p.Send(fixture())
		key("4")                                                      // alarms
		key("\r")                                                     // why the newest alarm
		p.Send(Snapshot{Scenario: "compressed-flash-sale", Up: true}) // more snapshots come while reading
		key("1")                                                      // all: the detail closes
		key("\x1b[A")                                                 // up: select the event before the newest
		key("\r")
		p.Send(tea.WindowSizeMsg{Width: 160, Height: 48})
		key("q") // stops the run; the view stays up
		s := fixture()
		s.Events, s.Done, s.Verdict = nil, true, "PASS"
		p.Send(s) // the run's last snapshot closes it
	})
	if stopped != 1 || !m.Stopping() {
		t.Errorf("q: stopped %d times, stopping %v", stopped, m.Stopping())
	}
	if m.Filter() != "all" {
		t.Errorf("filter %q", m.Filter())
	}
	if e, ok := m.Selected(); !ok || !strings.HasPrefix(e.Text, "Chaos #1") {
		t.Errorf("selected %q", e.Text)
	}
	if !m.detail || !m.Shown().Done {
		t.Errorf("detail %v, done %v", m.detail, m.Shown().Done)
	}
	// the model as it stood before quitting still draws the why of the selection
	m.quitting = false
	if v := m.View(); !strings.Contains(v, "Fault #1 from the scenario's chaos timeline") {
		t.Errorf("why not shown:\n%s", v)
	}
}

func TestFlowPauseHoldsThenResumes(t *testing.T) {
	m := flow(t, Options{Watch: true}, func(p *tea.Program, key func(string)) {
		s := fixture()
		s.Events = s.Events[:2]
		p.Send(s)
		key("p")
		s2 := fixture()
		s2.Events, s2.Phase = s2.Events[2:], "fall"
		p.Send(s2) // held while paused
		key("?")   // help and back: still paused
		key("?")
		key("p")
		key("q") // watching: q closes at once
	})
	if m.Paused() || m.Shown().Phase != "fall" || len(m.Log()) != 8 {
		t.Errorf("after resume: paused %v, phase %q, %d events", m.Paused(), m.Shown().Phase, len(m.Log()))
	}
}

func TestFlowPausedViewShowsHeld(t *testing.T) {
	m := flow(t, Options{Watch: true}, func(p *tea.Program, key func(string)) {
		p.Send(fixture())
		key("p")
		s := fixture()
		s.Phase, s.Events = "fall", nil
		p.Send(s)
		key("q")
	})
	if !m.Paused() || m.Shown().Phase != "peak" {
		t.Errorf("paused %v, shown phase %q", m.Paused(), m.Shown().Phase)
	}
}
