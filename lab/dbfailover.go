package lab

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/load"
	"github.com/simplydone/lab/rundir"
	"github.com/simplydone/lab/sim/rds"
	"github.com/simplydone/lab/stack"
)

// labDatabase is the data tier as chaos sees it (db-failover, kill-db,
// replica-lag and az-outage's database part).
type labDatabase struct{ l *Lab }

var _ chaos.Database = labDatabase{}

// resolve is the DB instance which names: chaos.DBPrimary (the primary
// now), chaos.DBReplica (the first read replica, else the first standby
// or reader), or an identifier of the tier's.
func (d labDatabase) resolve(which string) (rds.Server, error) {
	servers := d.l.DB.Servers()
	switch which {
	case "", chaos.DBPrimary:
		return servers[0], nil
	case chaos.DBReplica:
		for _, role := range []stack.DBRole{stack.RoleReadReplica, stack.RoleStandby, stack.RoleReader} {
			for _, s := range servers {
				if s.Role == role {
					return s, nil
				}
			}
		}
		return rds.Server{}, errors.New("the database has no replica, standby or reader")
	}
	var ids []string
	for _, s := range servers {
		if s.Identifier == which {
			return s, nil
		}
		ids = append(ids, s.Identifier)
	}
	return rds.Server{}, fmt.Errorf("no DB instance %s; the tier has %v", which, ids)
}

func (d labDatabase) Failover(ctx context.Context, which string) (string, error) {
	s, err := d.resolve(which)
	if err != nil {
		return "", err
	}
	if s.Role == stack.RoleReadReplica {
		if err := d.l.DB.PromoteReadReplica(ctx, s.Identifier); err != nil {
			return "", err
		}
		return s.Identifier, nil
	}
	if s.Role != stack.RolePrimary {
		return "", fmt.Errorf("DB instance %s is a %s: a failover is asked of the primary (or a read replica to promote)", s.Identifier, s.Role)
	}
	if err := d.l.DB.Failover(ctx, "reboot with failover"); err != nil {
		return "", err
	}
	return d.l.DB.Primary().Identifier, nil
}

func (d labDatabase) Kill(ctx context.Context, which string) (string, error) {
	s, err := d.resolve(which)
	if err != nil {
		return "", err
	}
	return s.Identifier, d.l.DB.KillServer(ctx, s.Identifier)
}

func (d labDatabase) PauseReplication(ctx context.Context, which string) (string, func(context.Context) (string, error), error) {
	s, err := d.resolve(which)
	if err != nil {
		return "", nil, err
	}
	resume, err := d.l.DB.PauseReplication(ctx, s.Identifier)
	return s.Identifier, resume, err
}

func (d labDatabase) ZoneDown(ctx context.Context, zone string) ([]string, func(), error) {
	killed, err := d.l.DB.ZoneDown(ctx, zone)
	return killed, func() { d.l.DB.ZoneUp(zone) }, err
}

// dbFailovers records, from the bus, the wall-time span of each database
// failover (or replica promotion): from its detection to the endpoint's
// move (still open: to the end of the run). A cluster failover that
// chooses its target again once the primary is fenced says so with
// StepRechosen, and a StepDetected while a span is open is the same
// failover too (one runs at a time): neither opens a second span.
type dbFailovers struct {
	mu       sync.Mutex
	spans    []wallSpan
	overruns []rundir.DBFailoverOverrun // Multi-AZ failovers whose endpoint moved past RDS's documented time
}

type wallSpan struct {
	from, to  time.Time
	promotion bool // a read replica's promotion, not a failover
}

func (f *dbFailovers) handle(e events.Envelope) {
	st, ok := e.Event.(rds.FailoverStep)
	if !ok {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch st.Step {
	case rds.StepDetected:
		if n := len(f.spans); n > 0 && f.spans[n-1].to.IsZero() {
			return // a re-choice of the failover under way (one at a time): its span goes on
		}
		f.spans = append(f.spans, wallSpan{from: e.Wall, promotion: st.Promotion})
	case rds.StepMoved, rds.StepFailed: // a failed failover's span ends too
		if n := len(f.spans); n > 0 && f.spans[n-1].to.IsZero() {
			f.spans[n-1].to = e.Wall
		}
		if st.Overrun() > 0 {
			f.overruns = append(f.overruns, rundir.DBFailoverOverrun{DB: st.DB, At: st.At, Documented: st.Documented, Detail: st.Overran})
		}
	}
}

// overran is the failovers whose endpoint moved past RDS's documented time.
func (f *dbFailovers) overran() []rundir.DBFailoverOverrun {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.overruns)
}

// count is how many failovers and how many read replica promotions there
// were.
func (f *dbFailovers) count() (failovers, promotions int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, sp := range f.spans {
		if sp.promotion {
			promotions++
		} else {
			failovers++
		}
	}
	return failovers, promotions
}

// errorWindow is db_error_window_seconds over the failovers: a promotion
// moves no endpoint the application writes through (its source keeps
// its own), so it has no error window of its own.
func (f *dbFailovers) errorWindow(secs []load.Second, speed float64) float64 {
	f.mu.Lock()
	spans := slices.DeleteFunc(slices.Clone(f.spans), func(sp wallSpan) bool { return sp.promotion })
	f.mu.Unlock()
	return dbErrorWindow(secs, spans, speed)
}

// dbErrorWindow is db_error_window_seconds: the longest client-side
// outage over a failover, in AWS seconds (speed AWS seconds per wall
// second), measured as an engineer reads a per-second error-rate graph.
//
// An outage second is a load second in which at least half of the requests
// sent failed (5xx or no answer: every request of the lab's mixes touches the
// database); an outage is a run of consecutive outage seconds, and it counts
// if it touches a failover's span (detection to the endpoint's move). Its
// length is where it began to where it ended under steady load: the seconds
// inside it whole, its first and last seconds and the seconds either side of
// it by their failed share (a second whose requests 70% failed holds 0.7 s
// of the outage). So a stray failure in an otherwise healthy second neither
// starts an outage, nor joins two, nor stretches one by more than its own
// share (one failure in twenty beside an outage adds a twentieth of a
// second, not a second); two outages during one failover are two, and the
// longer one is the window. A failover still open at the end (its endpoint
// never moved) has the first outage that touches it and no later one: an
// outage after that one is not its. 0 without a failover or without an
// outage second.
func dbErrorWindow(secs []load.Second, spans []wallSpan, speed float64) float64 {
	spans = slices.Clone(spans)
	failed := func(s load.Second) float64 {
		if s.Sent == 0 {
			return 0
		}
		return float64(s.Err5xx+s.Transport) / float64(s.Sent)
	}
	down := func(i int) bool { return failed(secs[i]) >= 0.5 }
	best := 0.0
	for i := 0; i < len(secs); {
		if !down(i) {
			i++
			continue
		}
		j := i
		for j+1 < len(secs) && down(j+1) {
			j++
		}
		runFrom, runTo := secs[i].Start, secs[j].Start.Add(time.Second)
		touches := false
		for k, sp := range spans {
			to := sp.to
			if to.IsZero() {
				to = time.Now()
			}
			if runFrom.Before(to) && runTo.After(sp.from) {
				touches = true
				if sp.to.IsZero() {
					spans[k].to = runTo // an open failover's own outage ends its span
				}
			}
		}
		if touches {
			w := failed(secs[i])
			if j > i {
				w += float64(j-i-1) + failed(secs[j])
			}
			if i > 0 && secs[i-1].Start.Equal(runFrom.Add(-time.Second)) {
				w += failed(secs[i-1])
			}
			if j+1 < len(secs) && secs[j+1].Start.Equal(runTo) {
				w += failed(secs[j+1])
			}
			best = max(best, w*speed)
		}
		i = j + 1
	}
	return best
}
