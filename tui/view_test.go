package tui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

func TestViewGolden(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {160, 48}} {
		w, h := size[0], size[1]
		t.Run(fmt.Sprintf("%dx%d", w, h), func(t *testing.T) {
			m := step(newModel(w, h), fixture())
			v := m.View()
			checkSize(t, v, w, h)
			golden(t, fmt.Sprintf("live_%dx%d", w, h), v)
		})
	}
}

func TestViewGoldenWhy(t *testing.T) {
	m := step(newModel(160, 48), fixture())
	m = keys(m, "4", "enter") // the alarms filter, the newest alarm, why
	v := m.View()
	checkSize(t, v, 160, 48)
	golden(t, "why_alarm_160x48", v)
	for _, want := range []string{"99.78 at 22/11/26 03:37:00", "Rule: OK -> ALARM needs at least 1 of the last 1 datapoints greater than the threshold 80.0"} {
		if !strings.Contains(v, want) {
			t.Errorf("why lacks %q", want)
		}
	}
}

func TestViewHelpAndSmall(t *testing.T) {
	m := keys(step(newModel(120, 40), fixture()), "?")
	if v := m.View(); !strings.Contains(v, "pause or resume the view") {
		t.Errorf("help not shown:\n%s", v)
	}
	small := step(newModel(79, 30), fixture())
	if v := small.View(); !strings.Contains(v, "needs 80 x 24") || strings.Contains(v, "us-east-1a") {
		t.Errorf("a small terminal should get the size message only:\n%s", v)
	}
	short := step(newModel(100, 23), fixture())
	if v := short.View(); !strings.Contains(v, "needs 80 x 24") {
		t.Errorf("a short terminal should get the size message:\n%s", v)
	}
}

// TestViewFitsEverySize: every line is exactly the width and there are
// exactly height lines, at sizes between the goldens too.
func TestViewFitsEverySize(t *testing.T) {
	for _, w := range []int{80, 99, 119, 120, 140, 200} {
		for _, h := range []int{24, 30, 48, 60} {
			m := step(newModel(w, h), fixture())
			checkSize(t, m.View(), w, h)
			checkSize(t, keys(m, "?").View(), w, h)
			checkSize(t, keys(m, "up", "enter").View(), w, h)
		}
	}
	// before anything is known
	checkSize(t, newModel(80, 24).View(), 80, 24)
}

func checkSize(t *testing.T, v string, w, h int) {
	t.Helper()
	lines := strings.Split(v, "\n")
	if len(lines) != h {
		t.Errorf("%dx%d: %d lines", w, h, len(lines))
	}
	for i, l := range lines {
		if n := ansi.StringWidth(l); n != w {
			t.Errorf("%dx%d: line %d is %d wide: %q", w, h, i, n, l)
		}
	}
}

// TestViewAlarmNextAction: each alarm's line says what its policy does next.
func TestViewAlarmNextAction(t *testing.T) {
	s := fixture()
	s.Group = Group{Name: "itest", Min: 1, Desired: 3, Max: 6, InService: 3}
	s.Alarms[1].State, s.Alarms[1].Value, s.Alarms[1].HasValue = "ALARM", 4, true
	s.Alarms[1].Policy.Steps[0].Adjustment = -1
	wide := step(newModel(160, 48), s).View()
	for _, want := range []string{
		"ALARM cpu-high (CPU > 80) → policy cpu-high adds 1 (desired 3→4) at the next evaluation",
		"ALARM cpu-low (CPU < 10) → policy cpu-low removes 1 (desired 3→2) at the next evaluation",
	} {
		if !strings.Contains(wide, want) {
			t.Errorf("160x48 lacks %q:\n%s", want, wide)
		}
	}
	if v := step(newModel(80, 24), s).View(); !strings.Contains(v, "cpu-high (CPU > 80) → 3→4") {
		t.Errorf("80x24 lacks the short form:\n%s", v)
	}
	s.Group.Warming = 1
	if v := step(newModel(160, 48), s).View(); !strings.Contains(v, "cpu-low (CPU < 10) → scale-in waits for warm-up (1 instance(s) warming)") {
		t.Errorf("warm-up hold not shown:\n%s", v)
	}
}
