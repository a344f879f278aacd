package events

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
)

type ping struct{ N int }

func (ping) Kind() string      { return "lab" }
func (p ping) Message() string { return "ping" }

func TestBusDeliversInOrderToEverySubscriber(t *testing.T) {
	b := NewBus(clock.NewFake(time.Unix(0, 0)))
	var a, c []int
	b.Subscribe(func(e Envelope) { a = append(a, e.Event.(ping).N) })
	b.Subscribe(func(e Envelope) { c = append(c, e.Event.(ping).N) })
	for i := 0; i < 1000; i++ {
		b.Publish(ping{i})
	}
	b.Close()
	b.Close()
	if len(a) != 1000 || len(c) != 1000 {
		t.Fatalf("got %d and %d events, want 1000 each", len(a), len(c))
	}
	for i := range a {
		if a[i] != i || c[i] != i {
			t.Fatalf("event %d out of order: %d %d", i, a[i], c[i])
		}
	}
	b.Publish(ping{1}) // after Close: ignored, no panic
}

func TestJournalWritesOneJSONLinePerEvent(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b := NewBus(fc)
	var buf bytes.Buffer
	j := NewJournal(&buf)
	b.Subscribe(j.Handle)
	b.Publish(ping{7})
	b.Close()
	if err := j.Flush(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("got %d lines", len(lines))
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatal(err)
	}
	if got["type"] != "ping" || got["kind"] != "lab" || got["message"] != "ping" || got["seq"].(float64) != 1 {
		t.Fatalf("unexpected journal line %s", lines[0])
	}
	if got["time"] != "2026-01-01T00:00:00Z" {
		t.Fatalf("time %v is not the clock's AWS time", got["time"])
	}
}
