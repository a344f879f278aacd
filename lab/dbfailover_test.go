package lab

import (
	"cmp"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/load"
	"github.com/simplydone/lab/rundir"
	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/sim/cloudwatch"
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
	got := f.errorWindow(secs, 20)
	if n, _ := f.count(); got < 53.99 || got > 54.01 || n != 1 {
		t.Fatalf("error window %.2f s over %d failover(s), want 54 over 1", got, n)
	}
	if got := dbErrorWindow(secs, nil, 20); got != 0 {
		t.Fatalf("no failover: %.1f", got)
	}
	late := []wallSpan{{from: t0.Add(6200 * time.Millisecond), to: t0.Add(6300 * time.Millisecond)}}
	if got := dbErrorWindow(secs, late, 1); got != 1 {
		t.Fatalf("a one-second run over a failover: %.1f, want 1", got)
	}
}

// TestDBErrorWindowIsAnOutage: the window is an outage as the client saw
// it (seconds in which most requests failed), not every second with a
// failure in it. Hand-built series of 20 requests a second at speed 20.
func TestDBErrorWindowIsAnOutage(t *testing.T) {
	t0 := time.Unix(1000, 0)
	series := func(bad ...int) []load.Second {
		secs := make([]load.Second, len(bad))
		for i, b := range bad {
			secs[i] = load.Second{Index: i, Start: t0.Add(time.Duration(i) * time.Second), Sent: 20, Err5xx: b}
		}
		return secs
	}
	over := func(from, to float64) []wallSpan { // a failover's span, wall seconds from t0
		return []wallSpan{{from: t0.Add(time.Duration(from * float64(time.Second))), to: t0.Add(time.Duration(to * float64(time.Second)))}}
	}
	for _, tc := range []struct {
		name  string
		secs  []load.Second
		spans []wallSpan
		want  float64 // AWS s at speed 20
	}{
		// One failure in twenty, in a second of the failover: no outage.
		{"isolated failure", series(0, 0, 1, 0, 0), over(1, 4), 0},
		// One failure in twenty in each of eight seconds (a pool
		// reconnecting one connection at a time): still no outage; the
		// old count made these 8 wall s, 160 AWS s.
		{"stray failures in a row", series(0, 1, 1, 1, 1, 1, 1, 1, 1, 0), over(1, 9), 0},
		// A real outage: it began three quarters into second 1 (5 of 20
		// failed), seconds 2-4 failed whole, it ended half-way through 5
		// (10 of 20): 0.25 + 3 + 0.5 = 3.75 wall s = 75 AWS s.
		{"a real outage", series(0, 5, 20, 20, 20, 10, 0, 0), over(1.5, 5), 75},
		// The same outage with stray failures after it, as a pool's last
		// broken connections are found: the second beside it adds its
		// twentieth, the ones beyond add nothing (the old count: 6.8 wall s).
		{"an outage and its stragglers", series(0, 5, 20, 20, 20, 10, 1, 1, 1, 0), over(1.5, 5), 76},
		// A second inside the outage where a few requests got through is
		// still the outage.
		{"an outage with a lucky second", series(0, 20, 20, 14, 20, 20, 0), over(1, 6), 100},
		// Two outages in one failover (the endpoint emptied, then the app's
		// pool failing again after it moved), a healthy second between:
		// two outages, and the window is the longer (4 wall s, not 9).
		{"two outages", series(0, 20, 20, 20, 20, 0, 0, 0, 20, 20, 0), over(0.5, 9), 80},
		// An outage that touches no failover is not the database's.
		{"an outage away from the failover", series(20, 20, 0, 0, 0, 0, 0), over(4, 6), 0},
	} {
		if got := dbErrorWindow(tc.secs, tc.spans, 20); got < tc.want-0.001 || got > tc.want+0.001 {
			t.Errorf("%s: error window %.2f AWS s, want %.2f", tc.name, got, tc.want)
		}
	}
}

// About 40 s of wall time (a PostgreSQL pair, 4 AWS minutes at speed 10).
// TestRunFailsOverTheDatabase: a scenario on a stack with a Multi-AZ DB
// instance reboots it with failover under steady writes. Before the
// failover the instances keep their todos in PostgreSQL behind the DB
// instance's endpoint name (their log says so) and AWS/RDS has the
// primary's metrics. The failover is announced in RDS's words with the old
// primary fenced before the standby is promoted; no acknowledged write is
// lost and no read is stale, which says the synchronous standby had every
// acknowledged write before its answer; the error window is RDS's minute
// or a little more, never above AWS's 120 s; and SimplyDone recovers on
// its own: in the load's last seconds most requests succeed again (before
// its pool stopped emptying itself on requests that timed out, none did).
func TestRunFailsOverTheDatabase(t *testing.T) {
	if _, err := rds.Find(); err != nil {
		t.Skipf("%v", err)
	}
	s := testStackWith(t, 18621, 3, strings.Replace(multiAZ, "18487", "18622", 1))
	// A shallow health check, as multi-az has: a deep one (a
	// query on the writer's pool every 5 AWS s from each node) holds the
	// pool's connections while they are opened again after the failover.
	s.TargetGroup.HealthCheck.Path = "/"
	// Speed 10, not 20: the lab's own steps (fencing, promotion, the app's
	// pool reconnecting) take about a wall second and a half, which at 20x
	// count 30 AWS s on top of RDS's 90 s and crossed AWS's 120 s (123 s
	// measured in CI); at 10x they count half, closer to what they cost on AWS.
	sc, err := scenarios.Parse("dbf.yaml", []byte(`name: dbf
stack: simplydone
speed: 10
load:
  mix: {create: 6, list: 2, get: 2}
  phases: [{name: writes, duration: 4m, rate: 20}] # the failover at 1m, over by 2m40s at most; a minute and more to show recovery
chaos:
  - {at: 1m, action: db-failover}
slos: [lost_writes == 0, stale_reads == 0, db_error_window <= 120s]
`))
	if err != nil {
		t.Fatal(err)
	}
	runs := t.TempDir()
	if d := os.Getenv("LAB_KEEP_RUNS"); d != "" {
		runs = d
	}
	var lab *Lab
	var primary, standby string // the DB instance's identifier, and its standby's server
	sum, err := Run(context.Background(), RunOptions{Scenario: sc, Stack: s, Driver: DriverProcess, RunsDir: runs, StateDir: t.TempDir(),
		OnStart: func(l *Lab) {
			lab = l
			primary, standby = l.DB.Servers()[0].Identifier, l.DB.Servers()[1].Identifier
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("verdict %s (%s): %d acknowledged, %d lost, %d reads checked, %d stale; %d failover(s), error window %.1f s; success %.2f%%", sum.Verdict, sum.Reason,
		sum.AcknowledgedWrites, sum.LostWrites, sum.CheckedReads, sum.StaleReads, sum.DBFailovers, sum.DBErrorWindowSeconds, sum.SuccessRate)
	if sum.DBFailovers != 1 || sum.LostWrites != 0 || sum.StaleReads != 0 || sum.AcknowledgedWrites < 40 {
		t.Errorf("%d failover(s), %d of %d acknowledged writes lost, %d stale reads; want 1 failover, none lost or stale", sum.DBFailovers, sum.LostWrites, sum.AcknowledgedWrites, sum.StaleReads)
	}
	conns := dbMetricsPublished(t, lab, primary, standby)
	dir := filepath.Join(runs, sum.RunID)
	logs, _ := filepath.Glob(filepath.Join(dir, "logs", "i-*.log"))
	if len(logs) == 0 {
		t.Fatal("no instance log")
	}
	b, _ := os.ReadFile(logs[0])
	// SimplyDone goes through the DB instance's endpoint by its DNS name, as
	// RDS gives it (a failover flips what the name answers; it resolves
	// through LAB_DNS_RESOLVER), as the application's role.
	if !strings.Contains(string(b), "store=\"postgresql postgres://postgres_app:xxxxx@"+lab.DB.WriterEndpoint().Name+":18622/postgres") {
		t.Errorf("the instance does not say it keeps its todos behind the DB instance's endpoint:\n%s", b)
	}
	jb, err := os.ReadFile(filepath.Join(dir, rundir.DatabaseFile))
	if err != nil || !strings.Contains(string(jb), `"role":"standby"`) || !strings.Contains(string(jb), `"WriteIOPS"`) {
		t.Errorf("%s: %v, want each minute's tier and metrics:\n%.600s", rundir.DatabaseFile, err, jb)
	}
	// the endpoint answers nothing for RDS's failover time; the load counts
	// by the wall second, 10 AWS s at speed 10
	if w, lo := sum.DBErrorWindowSeconds, rds.InstanceFailoverTime.Seconds()-10; w < lo || w > 120 {
		t.Errorf("error window %.1f s; want RDS's failover time, %.0f to 120 s", w, lo)
	}
	f, err := os.Open(filepath.Join(dir, rundir.EventsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var seq []string
	var promoted time.Time // AWS time: from then on the standby's host is the DB instance's primary
	r := events.NewReader(f)
	for {
		env, err := r.Next()
		if err != nil {
			break
		}
		switch e := env.Event.(type) {
		case rds.RDSEvent:
			seq = append(seq, e.Text)

		case rds.FailoverStep:
			if e.Step == rds.StepPromoted && promoted.IsZero() {
				promoted = env.Time
			}
			if e.Step != rds.StepRebuilt {
				seq = append(seq, e.Step)
			}
		}
	}
	// The same DB instance after the failover: its metrics go on under
	// its identifier, from the host that is primary now.
	if len(conns) == 0 || !conns[len(conns)-1].Time.After(promoted) {
		t.Errorf("DatabaseConnections of %s %v: want a datapoint after the standby was promoted at %s", primary, conns, promoted.Format(time.TimeOnly))
	}
	want := []string{"Multi-AZ instance failover started", rds.StepDetected, rds.StepFenced, rds.StepPromoted, rds.StepMoved, "Multi-AZ instance failover completed"}
	if !slices.Equal(seq, want) {
		t.Errorf("the journal's failover: %q, want %q", seq, want)
	}
	b, err = os.ReadFile(filepath.Join(dir, rundir.SecondsFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for _, l := range lines[max(0, len(lines)-3):] { // the last 60 AWS seconds
		var s struct {
			Sent      int `json:"sent"`
			Err5xx    int `json:"err_5xx"`
			Transport int `json:"transport"`
		}
		if err := json.Unmarshal([]byte(l), &s); err != nil {
			t.Fatal(err)
		}
		// Recovered: most requests succeed again (on this shared host a
		// starved second can still see an ALB timeout or two).
		if s.Sent == 0 || 2*(s.Err5xx+s.Transport) >= s.Sent {
			t.Errorf("the app had not recovered by the load's end: %s", l)
		}
	}
}

// TestFailoverSpans: a cluster failover that chooses its target again
// (StepRechosen, or a second detection while its span is open) is one
// failover with one span, closed at the endpoint's move; a read replica's
// promotion counts apart and has no error window; a failover whose
// endpoint never moved has the outage that touches it and no later one.
func TestFailoverSpans(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	sec := func(i, bad int) load.Second {
		return load.Second{Index: i, Start: at(float64(i)), Sent: 10, Err5xx: bad}
	}
	var f dbFailovers
	f.handle(events.Envelope{Wall: at(1), Event: rds.FailoverStep{DB: "ledger", Step: rds.StepDetected}})
	f.handle(events.Envelope{Wall: at(1.2), Event: rds.FailoverStep{DB: "ledger", Step: rds.StepRechosen}})
	f.handle(events.Envelope{Wall: at(1.3), Event: rds.FailoverStep{DB: "ledger", Step: rds.StepDetected}})
	f.handle(events.Envelope{Wall: at(2), Event: rds.FailoverStep{DB: "ledger", Step: rds.StepMoved}})
	if n, p := f.count(); n != 1 || p != 0 || len(f.spans) != 1 || !f.spans[0].to.Equal(at(2)) {
		t.Fatalf("%d failover(s), %d promotion(s), spans %+v; want one failover, its span closed at the move", n, p, f.spans)
	}
	// an outage at 20 s, long after the failover: not its
	secs := []load.Second{sec(0, 0), sec(1, 10), sec(2, 0), sec(20, 10), sec(21, 10), sec(22, 0)}
	if w := f.errorWindow(secs, 1); w != 1 {
		t.Fatalf("error window %.1f s, want 1 (the failover's own second, not the later outage)", w)
	}

	var p dbFailovers
	p.handle(events.Envelope{Wall: at(1), Event: rds.FailoverStep{DB: "db-replica-1", Step: rds.StepDetected, Promotion: true}})
	p.handle(events.Envelope{Wall: at(2), Event: rds.FailoverStep{DB: "db-replica-1", Step: rds.StepMoved, Promotion: true}})
	if n, pr := p.count(); n != 0 || pr != 1 {
		t.Fatalf("a promotion: %d failover(s), %d promotion(s); want 0 and 1", n, pr)
	}
	if w := p.errorWindow(secs, 1); w != 0 {
		t.Fatalf("a promotion has an error window: %.1f s", w)
	}

	// a failover still open at the end: its own outage, not a later one
	open := []wallSpan{{from: at(1)}}
	long := []load.Second{sec(0, 0), sec(1, 10), sec(2, 0), sec(20, 10), sec(21, 10), sec(22, 10), sec(23, 0)}
	if w := dbErrorWindow(long, open, 1); w != 1 {
		t.Fatalf("an open failover's window %.1f s, want 1 (its own outage; the 3 s one later is not its)", w)
	}
	if !open[0].to.IsZero() {
		t.Fatal("dbErrorWindow changed its caller's spans")
	}
}

// A failover that fails (no promotion) closes its span: later errors are
// not the failover's.
func TestFailedFailoverClosesItsSpan(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var f dbFailovers
	f.handle(events.Envelope{Wall: t0, Event: rds.FailoverStep{Step: rds.StepDetected}})
	f.handle(events.Envelope{Wall: t0.Add(2 * time.Second), Event: rds.FailoverStep{Step: rds.StepFailed}})
	if len(f.spans) != 1 || !f.spans[0].to.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("spans %+v; want one, closed by the failed step", f.spans)
	}
	bad := []load.Second{{Index: 10, Start: t0.Add(10 * time.Second), Sent: 10, Err5xx: 10}}
	if w := dbErrorWindow(bad, f.spans, 20); w != 0 {
		t.Errorf("errors 8 s after the failed failover ended count %v AWS s in its window; want 0", w)
	}
}

// A Multi-AZ failover whose endpoint moved past RDS's documented time is
// the run's to report (the lab's speed made it longer); one within the
// timer's slack, or a read replica's promotion, is not.
func TestFailoverOverrunsAreReported(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var f dbFailovers
	for i, moved := range []rds.FailoverStep{
		{DB: "ledger-db", Step: rds.StepMoved, At: 35.4, Documented: 35},
		{DB: "ledger-db", Step: rds.StepMoved, At: 45.9, Documented: 35, Overran: "the lab's own steps took 0.77 wall s"},
		{DB: "web-db", Step: rds.StepMoved, At: 120}, // a promotion: RDS documents no time
	} {
		f.handle(events.Envelope{Wall: t0.Add(time.Duration(i) * time.Minute), Event: rds.FailoverStep{Step: rds.StepDetected}})
		f.handle(events.Envelope{Wall: t0.Add(time.Duration(i)*time.Minute + time.Second), Event: moved})
	}
	got := f.overran()
	if len(got) != 1 || got[0].At != 45.9 || got[0].Documented != 35 {
		t.Fatalf("overruns %+v; want the one at 45.9 s", got)
	}
	want := "the failover of ledger-db moved its endpoint at 45.9 s (AWS time), past RDS's documented 35 s; the lab's speed made it longer, not RDS (the lab's own steps took 0.77 wall s)"
	if s := got[0].Sentence(); s != want {
		t.Errorf("sentence %q\nwant %q", s, want)
	}
}

// dbMetricsPublished: AWS/RDS, every AWS minute per DB instance: the
// instances' pools on the primary, the free storage, the I/O; a Multi-AZ DB
// instance's standby publishes nothing (on AWS it has no identifier of its
// own).
func dbMetricsPublished(t *testing.T, lab *Lab, primary, standby string) (conns []cloudwatch.Point) {
	t.Helper()
	series := func(metric, id string) []cloudwatch.Point {
		q := cloudwatch.Query{Namespace: cloudwatch.NamespaceRDS, MetricName: metric, Dimensions: cloudwatch.Dims(DimDBInstanceIdentifier, id),
			Period: time.Minute, Statistic: "Maximum"}
		var out []cloudwatch.Point
		for _, p := range lab.Metrics.Series(q, time.Time{}, lab.Clock.Now().Add(time.Hour)) {
			if !p.Missing {
				out = append(out, p)
			}
		}
		return out
	}
	top := func(ps []cloudwatch.Point) float64 {
		return slices.MaxFunc(ps, func(a, b cloudwatch.Point) int { return cmp.Compare(a.Value, b.Value) }).Value
	}
	var lag, free []cloudwatch.Point
	conns, lag, free = series(MetricDatabaseConnections, primary), series(MetricReplicaLag, standby), series(MetricFreeStorageSpace, primary)
	t.Logf("AWS/RDS: DatabaseConnections %v, ReplicaLag %v, FreeStorageSpace %v", conns, lag, free)
	if len(conns) == 0 || top(conns) < 3 {
		t.Errorf("DatabaseConnections on the primary %v: want datapoints, with the instances' connections", conns)
	}
	if len(free) == 0 || free[0].Value <= 19<<30 || free[0].Value >= 20<<30 {
		t.Errorf("FreeStorageSpace %v: want datapoints, just under the 20 GiB allocated", free)
	}
	if cpu := series(cloudwatch.MetricCPUUtilization, standby); len(lag) != 0 || len(cpu) != 0 {
		t.Errorf("the Multi-AZ standby published ReplicaLag %v, CPUUtilization %v; want nothing, as on AWS", lag, cpu)
	}
	// ReadIOPS and WriteIOPS (Count/Second): the primary wrote WAL for
	// every acknowledged create.
	writes, reads := series(MetricWriteIOPS, primary), series(MetricReadIOPS, primary)
	t.Logf("AWS/RDS on the primary: WriteIOPS %v, ReadIOPS %v", writes, reads)
	if len(writes) == 0 || len(reads) == 0 || top(writes) <= 0 {
		t.Errorf("WriteIOPS %v, ReadIOPS %v on the primary: want datapoints, writes above 0", writes, reads)
	}
	return conns
}
