package lab

import (
	"testing"
	"time"

	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/load"
	"github.com/simplydone/lab/sim/rds"
)

// TestDBErrorWindow: the longest run of seconds with failed requests that
// touches a failover, its end seconds counted by their failed share, in
// AWS seconds; a run of errors away from any failover does not count.
func TestDBErrorWindow(t *testing.T) {
	t0 := time.Unix(1000, 0)
	sec := func(i, sent, bad int) load.Second {
		return load.Second{Index: i, Start: t0.Add(time.Duration(i) * time.Second), Sent: sent, Err5xx: bad}
	}
	secs := []load.Second{sec(0, 10, 0), sec(1, 10, 5), sec(2, 10, 10), sec(3, 10, 10), sec(4, 10, 2), sec(5, 10, 0),
		sec(6, 10, 10), sec(7, 10, 0)}
	var f dbFailovers
	f.handle(events.Envelope{Wall: t0.Add(1500 * time.Millisecond), Event: rds.FailoverStep{Step: rds.StepDetected}})
	f.handle(events.Envelope{Wall: t0.Add(3500 * time.Millisecond), Event: rds.FailoverStep{Step: rds.StepMoved}})
	// Seconds 1-4: half of 1, all of 2 and 3, a fifth of 4 = 2.7 wall s; at speed 20, 54 AWS s.
	if got := f.errorWindow(secs, 20); got < 53.99 || got > 54.01 || f.count() != 1 {
		t.Fatalf("error window %.2f s over %d failover(s), want 54 over 1", got, f.count())
	}
	if got := dbErrorWindow(secs, nil, 20); got != 0 {
		t.Fatalf("no failover: %.1f", got)
	}
	late := []wallSpan{{from: t0.Add(6200 * time.Millisecond), to: t0.Add(6300 * time.Millisecond)}}
	if got := dbErrorWindow(secs, late, 1); got != 1 {
		t.Fatalf("a one-second run over a failover: %.1f, want 1", got)
	}
}
