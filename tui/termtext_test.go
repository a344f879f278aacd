package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/lab"
	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/stack"
)

// Text an instance controls reaches the TUI's event list and its explain
// pane without control characters.
func TestEventTextStripped(t *testing.T) {
	a := NewAggregator(&scenarios.Scenario{Name: "s", Speed: 10}, &stack.Stack{Name: "st"}, 0)
	t0 := time.Unix(1000, 0)
	a.Event(events.Envelope{Seq: 1, Time: t0, Kind: "lab", Event: lab.RunStarted{RunID: "r"}})
	a.Event(events.Envelope{Seq: 2, Time: t0, Kind: "chaos", Event: chaos.FaultReverted{N: 1, Action: "store-outage", Note: "/health answered 503 \x1b[2Jgone\nforged"}})
	s := a.Snapshot()
	if len(s.Events) != 2 {
		t.Fatalf("events %+v", s.Events)
	}
	e := s.Events[1]
	if want := "Chaos #1: store-outage: /health answered 503 [2Jgone forged"; e.Text != want {
		t.Errorf("entry text %q, want %q", e.Text, want)
	}
	for _, l := range explain(e) {
		if strings.ContainsAny(l, "\x1b\n") {
			t.Errorf("explain line %q has a control character", l)
		}
	}
	for _, l := range explain(Entry{Why: []string{"from the socket \x1b[31m"}}) {
		if strings.ContainsRune(l, 0x1b) {
			t.Errorf("explain line %q (from the live socket) has ESC", l)
		}
	}
}
