package tui

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/lab"
	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/sim/asg"
	"github.com/simplydone/lab/stack"
)

func isQuit(cmd tea.Cmd) bool {
	if cmd == nil {
		return false
	}
	_, ok := cmd().(tea.QuitMsg)
	return ok
}

func TestSnapshotIsShownAndEventsLogged(t *testing.T) {
	m := step(newModel(160, 48), fixture())
	if got := m.Shown().Group.Desired; got != 4 {
		t.Errorf("desired %d", got)
	}
	if len(m.Log()) != 8 || m.Shown().Events != nil {
		t.Errorf("log %d entries; the shown snapshot keeps %d events", len(m.Log()), len(m.Shown().Events))
	}
	// a second snapshot adds only its own events
	s := fixture()
	s.Events = s.Events[:1]
	m = step(m, s)
	if len(m.Log()) != 9 {
		t.Errorf("log %d entries, want 9", len(m.Log()))
	}
}

func TestFilterKeys(t *testing.T) {
	m := step(newModel(160, 48), fixture())
	for _, c := range []struct {
		key, name string
		n         int
	}{{"2", "target health", 2}, {"3", "scaling", 2}, {"4", "alarms", 1}, {"5", "chaos", 1}, {"6", "load", 2}, {"1", "all", 8}} {
		m = keys(m, c.key)
		if m.Filter() != c.name || len(m.Log()) != c.n {
			t.Errorf("key %s: filter %q with %d events, want %q with %d", c.key, m.Filter(), len(m.Log()), c.name, c.n)
		}
	}
	var seen []string
	for range numClasses {
		m = keys(m, "f")
		seen = append(seen, m.Filter())
	}
	if got := strings.Join(seen, ","); got != "target health,scaling,alarms,chaos,load,all" {
		t.Errorf("f cycles %s", got)
	}
	if v := keys(m, "5").View(); strings.Contains(v, "Phase rise") || !strings.Contains(v, "Chaos #1") {
		t.Errorf("chaos filter shows other kinds or hides chaos:\n%s", v)
	}
}

func TestScrollAndSelect(t *testing.T) {
	m := newModel(80, 24)
	s := fixture()
	s.Events = nil
	for i := range 100 {
		s.Events = append(s.Events, Entry{Seq: uint64(i + 1), At: time.Duration(i) * time.Second, Class: ClassLoad, Text: fmt.Sprintf("event %03d", i)})
	}
	m = step(m, s)
	sel := func() string { e, _ := m.Selected(); return e.Text }
	if sel() != "event 099" {
		t.Fatalf("following: selected %q", sel())
	}
	m = keys(m, "up")
	if sel() != "event 098" {
		t.Errorf("up: %q", sel())
	}
	// new events do not move a selection scrolled back
	more := fixture()
	more.Events = []Entry{{Seq: 200, Class: ClassLoad, Text: "event 100"}}
	m = step(m, more)
	if sel() != "event 098" {
		t.Errorf("after new events: %q", sel())
	}
	rows := m.logRows()
	m = keys(m, "pgup")
	if want := fmt.Sprintf("event %03d", 98-(rows-1)); sel() != want {
		t.Errorf("pgup: %q, want %q", sel(), want)
	}
	m = keys(m, "pgdown", "pgdown", "pgdown")
	if sel() != "event 100" || !m.follow {
		t.Errorf("pgdown past the end: %q, following %v", sel(), m.follow)
	}
	m = keys(m, "home")
	m = step(m, tea.KeyMsg{Type: tea.KeyHome})
	if sel() != "event 000" {
		t.Errorf("home: %q", sel())
	}
	if v := m.View(); !strings.Contains(v, "▶+00:00 load   event 000") || !strings.Contains(v, "scrolled back") {
		t.Errorf("the selection is not marked:\n%s", v)
	}
	m = keys(m, "end")
	if sel() != "event 100" {
		t.Errorf("end: %q", sel())
	}
}

func TestEnterExplainsAndEscCloses(t *testing.T) {
	m := step(newModel(160, 48), fixture())
	m = keys(m, "3", "enter") // the newest scaling event: the launch
	v := m.View()
	if !strings.Contains(v, "Cause: At 2026-11-22T03:38:00Z an instance was started in response to a difference between desired and actual") {
		t.Errorf("why lacks the activity's cause:\n%s", v)
	}
	m = keys(m, "up", "enter", "enter") // close, select the policy's decision, open
	if v := m.View(); !strings.Contains(v, "Policy cpu-high ran because alarm cpu-high was in ALARM with the metric at 99.8") {
		t.Errorf("why lacks the policy:\n%s", v)
	}
	m = keys(m, "esc")
	if v := m.View(); !strings.Contains(v, "Events") {
		t.Errorf("esc did not return to the log:\n%s", v)
	}
}

func TestPauseHoldsSnapshotsAndLosesNothing(t *testing.T) {
	m := step(newModel(160, 48), fixture())
	m = keys(m, "p")
	if !m.Paused() || !strings.Contains(m.View(), "PAUSED") {
		t.Fatal("p did not pause")
	}
	for i := range 3 {
		s := fixture()
		s.Group.Desired = 5 + i
		s.Events = []Entry{{Seq: uint64(100 + i), Class: ClassScaling, Text: fmt.Sprintf("held %d", i)}}
		m = step(m, s)
	}
	if m.Shown().Group.Desired != 4 || len(m.Log()) != 8 {
		t.Errorf("paused view changed: desired %d, %d events", m.Shown().Group.Desired, len(m.Log()))
	}
	m = keys(m, "p")
	if m.Paused() || m.Shown().Group.Desired != 7 || len(m.Log()) != 11 {
		t.Errorf("resumed: desired %d, %d events; want 7 and 11", m.Shown().Group.Desired, len(m.Log()))
	}
}

func TestQuitStopsTheRunThenCloses(t *testing.T) {
	stops := 0
	m := New(Options{Renderer: asciiRenderer(), Stop: func() { stops++ }})
	m = step(m, tea.WindowSizeMsg{Width: 80, Height: 24}, fixture())
	next, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("q")})
	m = next.(Model)
	if stops != 1 || !m.Stopping() || isQuit(cmd) {
		t.Fatalf("first q: stops %d, stopping %v, quit %v", stops, m.Stopping(), isQuit(cmd))
	}
	if !strings.Contains(m.View(), "Stopping the run") {
		t.Errorf("no stopping notice:\n%s", m.View())
	}
	// the run's last snapshot closes the view
	end := fixture()
	end.Done, end.Verdict = true, lab.Interrupted
	_, cmd = m.Update(end)
	if !isQuit(cmd) {
		t.Error("the final snapshot did not close a stopping view")
	}
	// a second q closes at once
	_, cmd = m.Update(tea.KeyMsg{Type: tea.KeyCtrlC})
	if !isQuit(cmd) || stops != 1 {
		t.Errorf("second key: quit %v, stops %d", isQuit(cmd), stops)
	}
}

func TestFinishedRunStaysUntilQ(t *testing.T) {
	stops := 0
	m := New(Options{Renderer: asciiRenderer(), Stop: func() { stops++ }})
	end := fixture()
	end.Done, end.Verdict = true, lab.Pass
	next, cmd := m.Update(end)
	m = step(next.(Model), tea.WindowSizeMsg{Width: 100, Height: 30})
	if isQuit(cmd) {
		t.Fatal("a finished run closed the view by itself")
	}
	if v := m.View(); !strings.Contains(v, "✓ PASS") || !strings.Contains(v, "q closes the view") {
		t.Errorf("no verdict:\n%s", v)
	}
	_, cmd = m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("q")})
	if !isQuit(cmd) || stops != 0 {
		t.Errorf("q after the end: quit %v, stops %d", isQuit(cmd), stops)
	}
}

func TestResize(t *testing.T) {
	m := step(newModel(160, 48), fixture())
	m = step(m, tea.WindowSizeMsg{Width: 90, Height: 26})
	checkSize(t, m.View(), 90, 26)
	m = step(m, tea.WindowSizeMsg{Width: 60, Height: 20})
	if !strings.Contains(m.View(), "needs 80 x 24") {
		t.Error("no size message")
	}
}

func TestLogIsBounded(t *testing.T) {
	m := newModel(80, 24)
	s := Snapshot{}
	for i := range maxLog + 10 {
		s.Events = append(s.Events, Entry{Seq: uint64(i), Class: ClassLoad, Text: "x"})
	}
	m = step(m, s)
	if n := len(m.Log()); n > maxLog || n < maxLog/2 {
		t.Errorf("log holds %d", n)
	}
}

func slo(t *testing.T, expr string) scenarios.SLO {
	s, err := scenarios.ParseSLO(expr)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLiveSLOBadges(t *testing.T) {
	l := newLiveSLO([]scenarios.SLO{slo(t, "success_rate >= 99%"), slo(t, "p99 <= 500ms"), slo(t, "max_in_service <= 4"),
		slo(t, "lost_writes == 0"), slo(t, "scale_out_activities >= 1"), slo(t, "min_in_service >= 2")})
	status := func() []string {
		var out []string
		for _, b := range l.badges(false, nil) {
			out = append(out, b.Status)
		}
		return out
	}
	if got := strings.Join(status(), ","); got != "pending,pending,pending,pending,pending,pending" {
		t.Errorf("before load: %s", got)
	}
	for range 20 {
		l.add(lab.SecondRecord{Sent: 100, OK: 100, P50: 10, P95: 20, P99: 30, Max: 40})
	}
	l.inService(2, true)
	if got := strings.Join(status(), ","); got != "holding,holding,holding,pending,pending,at risk" {
		t.Errorf("steady: %s", got)
	}
	// a bad second: recent errors and slow p99 put both at risk, the run so far still holds
	l.add(lab.SecondRecord{Sent: 100, OK: 80, Err5xx: 20, P50: 10, P95: 200, P99: 900, Max: 1200})
	l.scaled(true)
	l.inService(4, true)
	if got := strings.Join(status(), ","); got != "at risk,at risk,at risk,pending,holding,at risk" {
		t.Errorf("one bad second: %s", got)
	}
	// many bad seconds breach
	for range 30 {
		l.add(lab.SecondRecord{Sent: 100, OK: 80, Err5xx: 20, P50: 400, P95: 800, P99: 900, Max: 1200})
	}
	l.inService(5, true)
	l.inService(1, true)
	if got := strings.Join(status(), ","); got != "breached,breached,breached,pending,holding,breached" {
		t.Errorf("bad run: %s", got)
	}
	if b := l.badges(false, nil)[1]; !strings.HasPrefix(b.Observed, "≈") {
		t.Errorf("estimated latency not marked: %q", b.Observed)
	}
	// at the end the summary decides
	sum := &lab.Summary{SLOs: []lab.SLOResult{{Expr: "a", Pass: true, Shown: "1"}, {Expr: "b", Shown: "2"}, {Expr: "c", Pass: true}, {Expr: "d", Pass: true}, {Expr: "e", Pass: true}, {Expr: "f", Pass: true}}}
	if got := l.badges(true, sum); got[0].Status != Holding || got[1].Status != Breached || got[1].Observed != "2" {
		t.Errorf("final badges %+v", got)
	}
}

func TestEstimateQuantile(t *testing.T) {
	secs := []lab.SecondRecord{{Sent: 100, P50: 10, P95: 20, P99: 30, Max: 100}, {Sent: 100, P50: 10, P95: 20, P99: 30, Max: 100}}
	near := func(got, want float64) bool { return math.Abs(got-want) < 0.01 }
	for q, want := range map[float64]float64{0.5: 10, 0.9: 18.89, 0.99: 30, 1: 100} {
		if got := estimateQuantile(secs, q); !near(got, want) {
			t.Errorf("q %.2f: %v, want %v", q, got, want)
		}
	}
	// a quiet slow second barely moves a busy run's p99
	secs = []lab.SecondRecord{{Sent: 5000, P50: 10, P95: 20, P99: 30, Max: 100}, {Sent: 5000, P50: 10, P95: 20, P99: 30, Max: 100},
		{Sent: 2, P50: 900, P95: 900, P99: 900, Max: 900}}
	if got := estimateQuantile(secs, 0.99); got < 30 || got > 32 {
		t.Errorf("weighted p99 %v, want about 31", got)
	}
	// a busy slow second does
	secs = append(secs, lab.SecondRecord{Sent: 2000, P50: 900, P95: 900, P99: 900, Max: 900})
	if got := estimateQuantile(secs, 0.99); got < 800 {
		t.Errorf("p99 with a slow busy second %v", got)
	}
	if estimateQuantile(nil, 0.99) != 0 {
		t.Error("no seconds")
	}
}

func TestAggregatorWithoutLab(t *testing.T) {
	sc := &scenarios.Scenario{Name: "s", Speed: 10, SLOs: []scenarios.SLO{slo(t, "p99 <= 1s")}}
	a := NewAggregator(sc, &stack.Stack{Name: "st"}, 0)
	var o lab.RunOptions
	a.Hook(&o)
	// the lab's notes come as events; nothing is written over the view
	if len(o.Subscribers) != 1 || o.OnHandle == nil || o.OnSecond == nil || o.Console != nil {
		t.Fatalf("hook: %+v", o)
	}
	t0 := time.Unix(1000, 0)
	o.Subscribers[0](events.Envelope{Seq: 1, Time: t0, Kind: "lab", Event: lab.RunStarted{RunID: "r"}})
	o.Subscribers[0](events.Envelope{Seq: 2, Time: t0.Add(90 * time.Second), Kind: "scaling", Event: asg.DesiredCapacityChanged{From: 2, To: 3, Policy: "p"}})
	o.OnSecond(lab.SecondRecord{Phase: "calm", Offered: 10, Sent: 10, OK: 10, P99: 12})
	o.Subscribers[0](events.Envelope{Seq: 3, Time: t0.Add(90 * time.Second), Kind: "lab", Event: lab.Note{Text: "Waiting for 2 instance(s) to be InService and healthy..."}})
	s := a.Snapshot()
	if s.Up || s.Speed != 10 || s.Phase != "calm" || s.Offered != 10 || len(s.History.P99) != 1 {
		t.Errorf("snapshot %+v", s)
	}
	if len(s.Events) != 3 || s.Events[1].At != 90*time.Second || s.Events[1].Class != ClassScaling ||
		s.Events[2].Text != "Waiting for 2 instance(s) to be InService and healthy..." {
		t.Errorf("events %+v", s.Events)
	}
	if a.live.scaleOuts != 1 {
		t.Errorf("scale-outs %d", a.live.scaleOuts)
	}
	if s2 := a.Snapshot(); len(s2.Events) != 0 {
		t.Errorf("events delivered twice: %+v", s2.Events)
	}
	a.Finish(&lab.Summary{Verdict: lab.Pass, WallSeconds: 3}, nil)
	if s3 := a.Snapshot(); !s3.Done || s3.Verdict != lab.Pass || s3.Wall != 3*time.Second {
		t.Errorf("final %+v", s3)
	}
}
