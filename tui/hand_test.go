package tui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/simplydone/lab/chaos"
)

// run calls a command's function, as bubbletea would on its own goroutine.
func run(cmd tea.Cmd) {
	if cmd != nil {
		cmd()
	}
}

func handModel(w, h int) (Model, *int, *[]string) {
	kills := 0
	var zones []string
	m := New(Options{Renderer: asciiRenderer(), Kill: func() { kills++ }, ZoneOut: func(z string) { zones = append(zones, z) }})
	m = step(m, tea.WindowSizeMsg{Width: w, Height: h}, fixture())
	return m, &kills, &zones
}

func TestKillKey(t *testing.T) {
	m, kills, _ := handModel(160, 48)
	_, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("k")})
	run(cmd)
	if *kills != 1 {
		t.Errorf("k: %d kill(s), want 1", *kills)
	}
	if v := m.View(); !strings.Contains(v, "k kill an instance · z zone out") {
		t.Errorf("footer lacks k and z:\n%s", v)
	}
	// once the run is stopping or done, k does nothing
	m = keys(m, "q")
	_, cmd = m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("k")})
	run(cmd)
	if *kills != 1 {
		t.Errorf("k while stopping killed")
	}
}

func TestZoneKeyAsksThenActs(t *testing.T) {
	m, _, zones := handModel(160, 48)
	m = keys(m, "z")
	if m.Asking() != "zone" || !strings.Contains(m.View(), "Take a zone out (AZ power interruption, 10 AWS minutes): a us-east-1a · b us-east-1b · c us-east-1c") {
		t.Fatalf("z: prompt %q:\n%s", m.Asking(), m.View())
	}
	m = keys(m, "c")
	if m.Asking() != "confirm us-east-1c" || !strings.Contains(m.View(), "Take us-east-1c out (2 instance(s) stop, node down, no launches, 10 AWS min)? y/n") {
		t.Fatalf("zone c: prompt %q:\n%s", m.Asking(), m.View())
	}
	next, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("y")})
	run(cmd)
	m = next.(Model)
	if strings.Join(*zones, ",") != "us-east-1c" || m.Asking() != "" {
		t.Errorf("y: zones out %v, prompt %q", *zones, m.Asking())
	}
	// n, or any other key, cancels; and the keys a prompt eats do nothing else
	m = keys(m, "z", "b", "n", "z", "q")
	if len(*zones) != 1 || m.Asking() != "" || m.Stopping() {
		t.Errorf("cancelled prompts: zones %v, prompt %q, stopping %v", *zones, m.Asking(), m.Stopping())
	}
}

func TestWatchModeIsReadOnly(t *testing.T) {
	m := New(Options{Renderer: asciiRenderer(), Watch: true})
	m = step(m, tea.WindowSizeMsg{Width: 160, Height: 48}, fixture())
	m = keys(m, "z")
	if m.Asking() != "" {
		t.Errorf("z prompts in watch mode")
	}
	v := m.View()
	if !strings.Contains(v, "◉ WATCHING") || !strings.Contains(v, "watching, read-only") || strings.Contains(v, "k kill") {
		t.Errorf("watch header or footer:\n%s", v)
	}
	if v := keys(m, "?").View(); strings.Contains(v, "kill a random") || !strings.Contains(v, "close this view") {
		t.Errorf("watch help offers faults:\n%s", v)
	}
	if _, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("q")}); !isQuit(cmd) {
		t.Errorf("q does not close a watching view at once")
	}
	m = step(m, Gone{Err: ErrGone})
	if v := m.View(); !strings.Contains(v, "DISCONNECTED") || !strings.Contains(v, "live socket closed") {
		t.Errorf("gone not shown:\n%s", v)
	}
}

func TestManualFaultExplained(t *testing.T) {
	e := Entry{Class: ClassChaos, Text: "Chaos #2: kill-instance on i-1 (us-east-1a) [by hand]", Manual: true,
		Event: chaos.FaultInjected{N: 2, Action: chaos.KillInstance, Instance: "i-1", Zone: "us-east-1a"}}
	if got := strings.Join(explain(e), "\n"); !strings.Contains(got, "Fault #2 by hand (k or z in the live view): kill-instance on i-1") {
		t.Errorf("why of a fault by hand:\n%s", got)
	}
}
