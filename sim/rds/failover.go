package rds

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/stack"
)

// Failover times, in AWS time, from the failure (a stopped server) or its
// detection (a server that does not answer) to the endpoint's move (the
// event pair's span). Where RDS documents a range the
// lab takes its middle, not its best case (a rehearsal that passes on the
// low end promises what AWS does not), and never tunes it.
const (
	// InstanceFailoverTime: a Multi-AZ DB instance's failover "typically
	// completes within 60-120 seconds"; the lab takes 90 s.
	// https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.MultiAZSingleStandby.html
	InstanceFailoverTime = 90 * time.Second
	// ClusterFailoverTime: a Multi-AZ DB cluster's failover is "typically
	// under 35 seconds".
	// https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/multi-az-db-clusters-concepts-failover.html
	ClusterFailoverTime = 35 * time.Second
	// MonitorInterval is how often the tier's monitor checks its servers,
	// AWS time (RDS documents no health-check interval; an assumption).
	MonitorInterval = time.Second
	// UnresponsiveAfter is how long a primary whose process runs must fail
	// every check before RDS's monitor takes it for lost (an assumption:
	// RDS documents no detection time; a stopped process counts at once).
	UnresponsiveAfter = 30 * time.Second
	// monitorFails is how many failed checks in a row (the process still
	// running) count as the primary lost; each check waits probeTimeout
	// (wall) for its answer, and checks are at least minWallProbe apart.
	monitorFails = 3
	probeTimeout = 2 * time.Second
	minWallProbe = 100 * time.Millisecond
)

// RDS's event messages.
const (
	msgInstanceFailoverStarted   = "Multi-AZ instance failover started"
	msgInstanceFailoverCompleted = "Multi-AZ instance failover completed"
	msgClusterFailoverStarted    = "Started cross AZ failover to DB instance: %s"                                       // RDS-EVENT-0073
	msgClusterFailoverCompleted  = "Completed failover to DB instance: %s"                                              // RDS-EVENT-0071
	msgClusterFailoverFailed     = "Cluster failover failed, check the health of your cluster instances and try again." // RDS-EVENT-0069
	msgClusterPromotingPrevious  = "Promoting previous primary again: %s."                                              // RDS-EVENT-0070
	msgInstancePartialFailover   = "The instance has recovered from a partial failover."                                // RDS-EVENT-0065
	msgReplicationStopped        = "Replication has stopped."                                                           // RDS-EVENT-0045
	msgReplicationResumed        = "Replication for the Read Replica resumed."                                          // RDS-EVENT-0046
)

// ErrNoStandby says a failover has nowhere to go: no standby (or reader)
// is alive in a healthy zone.
var ErrNoStandby = errors.New("no standby DB instance is available to fail over to")

// request is a failover asked of the monitor: reboot with failover
// (target ""), or a read replica's promotion (target its identifier:
// promote.go).
type request struct {
	target string
	reason string
	done   chan error
}

// Failover is a reboot with failover (RebootDBInstance with ForceFailover,
// or FailoverDBCluster): the primary is fenced and its standby promoted, in
// RDS's time. It returns once the endpoint has moved (the standby is
// rebuilt after).
func (t *Tier) Failover(ctx context.Context, reason string) error {
	return t.ask(ctx, request{reason: reason})
}

func (t *Tier) ask(ctx context.Context, r request) error {
	r.done = make(chan error, 1)
	t.mu.Lock()
	if t.requests == nil {
		t.mu.Unlock()
		return errors.New("the data tier is not running")
	}
	reqs := t.requests
	t.mu.Unlock()
	select {
	case reqs <- r:
	case <-t.stop:
		return errors.New("the data tier is closing")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-r.done:
		return err
	case <-t.stop:
		return errors.New("the data tier is closing")
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (t *Tier) server(id string) (Server, bool) {
	for _, s := range t.Servers() {
		if s.Identifier == id {
			return s, true
		}
	}
	return Server{}, false
}

// KillServer kills a server abruptly, as a host failure would (kill-db).
// The monitor then does what RDS does: a lost primary fails over (Multi-AZ)
// or is recovered in place (Single-AZ); a lost standby or replica is
// recovered in place.
func (t *Tier) KillServer(ctx context.Context, identifier string) error {
	s, ok := t.server(identifier)
	if !ok {
		return fmt.Errorf("no DB instance %s", identifier)
	}
	at := t.opts.Clock.Now()
	if err := t.opts.Runtime.Kill(ctx, s.ID); err != nil {
		return fmt.Errorf("kill DB instance %s: %w", identifier, err)
	}
	t.mu.Lock()
	t.downAt[s.ID] = at
	t.mu.Unlock()
	t.killedNow(s)
	return nil
}

// ZoneDown takes the zone out (an az-outage) for the database: its servers
// are killed, a standby still being built there dies with it, and nothing
// is started, recovered or built there until ZoneUp. It returns the
// servers it killed.
func (t *Tier) ZoneDown(ctx context.Context, zone string) ([]string, error) {
	t.startMu.Lock() // no server starts there from now on; none started before it survives
	defer t.startMu.Unlock()
	t.mu.Lock()
	t.zoneDown[zone] = true
	servers := slices.Clone(t.servers)
	if t.building != nil {
		servers = append(servers, *t.building)
	}
	t.mu.Unlock()
	var killed []string
	var errs []error
	at := t.opts.Clock.Now()
	for _, s := range servers {
		if s.Zone.Name != zone {
			continue
		}
		if err := t.opts.Runtime.Kill(ctx, s.ID); err != nil && !errors.Is(err, az.ErrNotFound) {
			errs = append(errs, fmt.Errorf("kill DB instance %s: %w", s.Identifier, err))
			continue
		}
		t.mu.Lock()
		if _, ok := t.downAt[s.ID]; !ok {
			t.downAt[s.ID] = at
		}
		t.mu.Unlock()
		t.killedNow(s)
		killed = append(killed, s.Identifier)
	}
	return killed, errors.Join(errs...)
}

// ZoneUp brings the zone back: the monitor recovers its servers that are
// still the tier's (a fenced primary stays retired).
func (t *Tier) ZoneUp(zone string) {
	t.mu.Lock()
	delete(t.zoneDown, zone)
	t.mu.Unlock()
}

// InSync lists the standbys (and readers) the monitor last saw streaming
// from the primary synchronously (sync or quorum): the ones a failover may
// promote.
func (t *Tier) InSync() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.streaming)
}

// Failing reports whether a failover is under way.
func (t *Tier) Failing() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failing
}

// watch is the tier's monitor: every MonitorInterval (AWS time) it checks
// the servers and runs what is asked of it; it owns every failover and
// rebuild, one at a time.
func (t *Tier) watch() {
	defer t.monitor.Done()
	tick := t.opts.Clock.NewTicker(monitorEvery(t.opts.Clock.Speed()))
	defer tick.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-t.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	m := &monitor{}
	defer m.close()
	for {
		select {
		case <-t.stop:
			return
		case r := <-t.requests:
			if r.target != "" {
				r.done <- t.promoteReplica(ctx, r.target, r.reason, t.opts.Clock.Now())
				continue
			}
			r.done <- t.failover(ctx, r.reason, t.opts.Clock.Now())
		case <-tick.C():
			t.check(ctx, m)
		case <-t.wake:
			t.check(ctx, m)
		}
	}
}

// monitor is the monitor's own connection to the primary and its count of
// failed checks in a row; only the monitor goroutine uses it.
type monitor struct {
	conn  *pgx.Conn
	on    string // the server conn is to
	fails int
	since time.Time // the first failed check of the run of fails (wall)
}

// unresponsiveFor is how long (wall) a primary whose process runs must
// fail every check before it counts as lost: UnresponsiveAfter of AWS time,
// and never less than monitorFails checks' worth of probeTimeout, so that a
// host too busy to answer a few checks in time is not taken for a lost one.
func unresponsiveFor(speed float64) time.Duration {
	return max(time.Duration(float64(UnresponsiveAfter)/speed), monitorFails*probeTimeout)
}

func (m *monitor) close() {
	if m.conn != nil {
		m.conn.Close(context.Background())
		m.conn = nil
	}
}

// ping checks the primary p over the monitor's connection (opened again
// when it broke or p changed): a query answered within probeTimeout. It
// says whether p is still in recovery (a standby, not yet a writer); known
// is false when the server answered with an error of its own (full, an
// authentication failure): it is up, but its role was not read.
func (m *monitor) ping(ctx context.Context, t *Tier, p Server) (recovering, known bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	if m.on != p.Identifier {
		m.close()
	}
	if m.conn == nil {
		cfg, err := pgx.ParseConfig(t.URL(p, ""))
		if err != nil {
			return false, false, err
		}
		cfg.RuntimeParams["application_name"] = MonitorApplicationName
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return false, false, answered(err)
		}
		m.conn, m.on = c, p.Identifier
	}
	if err := m.conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&recovering); err != nil {
		m.close()
		return false, false, answered(err)
	}
	return recovering, true, nil
}

// MonitorApplicationName is the application_name of the tier's own
// monitoring connection to the primary (as RDS's rdsadmin): metrics of
// client connections may leave it out.
const MonitorApplicationName = "rdsadmin"

// answered is nil when err is the server's own answer (it is up, if busy
// or full: too_many_connections is no reason to fail over), else err.
func answered(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && !strings.HasPrefix(pe.Code, "57P") {
		return nil
	}
	return err
}

// monitorEvery is the monitor's interval in AWS time: MonitorInterval, but
// never under minWallProbe of wall time, so that a fast clock does not turn
// the check into a flood.
func monitorEvery(speed float64) time.Duration {
	return max(MonitorInterval, time.Duration(float64(minWallProbe)*speed))
}

// check is one round of the monitor. Nothing in it waits for a server to
// start: recoveries and builds run beside it (startRecover, startRebuild),
// so that the monitor keeps detecting.
func (t *Tier) check(ctx context.Context, m *monitor) {
	states := t.states(ctx)
	if states == nil {
		return
	}
	servers := t.Servers()
	p := servers[0]
	now := time.Now()
	switch {
	case t.isRecovering(p.Identifier):
		m.fails = 0 // being started again in place: its start-up is no failure
	case !alive(states, p) || t.killed(p, alive(states, p)):
		m.fails, m.since = monitorFails, now.Add(-time.Hour) // its process is gone (or going): no need to wait
		t.sawDown(p)
	default:
		recovering, known, err := m.ping(ctx, t, p)
		switch {
		case err != nil:
			if m.fails == 0 {
				m.since = now
			}
			m.fails++
		case !known: // up, but its role unread: nothing to heal on a guess
			m.fails = 0
		case !recovering:
			m.fails = 0
			t.healWriter(p)
		default:
			m.fails = 0
			t.promoteStuck(ctx, m, p)
		}
	}
	if m.fails >= monitorFails && now.Sub(m.since) >= unresponsiveFor(t.opts.Clock.Speed()) {
		m.fails = 0
		m.close()
		why := "the primary DB instance " + p.Identifier + " is not reachable"
		if !alive(states, p) || t.killed(p, alive(states, p)) {
			why = "the primary DB instance " + p.Identifier + " stopped"
		}
		if t.canFailOver(servers, states) {
			if err := t.failover(ctx, why, t.failedAt(p)); err != nil {
				t.opts.Logger.Error("failover", "db", t.opts.Database.Identifier, "err", err)
			}
			return
		}
		if t.healthy(p.Zone.Name) && !alive(states, p) {
			t.startRecover(ctx, p, fmt.Sprintf("recovered in place (no standby streamed at the last look: %v): %s", t.InSync(), why))
		}
		return
	}
	for _, s := range servers[1:] {
		if !alive(states, s) && t.healthy(s.Zone.Name) {
			t.startRecover(ctx, s, "DB instance "+s.Identifier+" stopped")
		}
	}
	t.mu.Lock()
	lost, need := t.pending, t.missing() > 0 && !t.rebuilding
	t.mu.Unlock()
	if lost != nil && need && !t.opts.Clock.Now().Before(t.retryAt()) { // a standby still to build: a zone may be back, a retry due
		t.startRebuild(ctx, *lost, func() float64 { return 0 })
	}
	t.syncReplication(ctx, m)
}

// sawDown notes when the monitor first found s stopped (AWS time), unless
// the tier stopped it itself and knows when.
func (t *Tier) sawDown(s Server) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.downAt[s.ID]; !ok {
		t.downAt[s.ID] = t.opts.Clock.Now()
	}
}

// failedAt is when RDS's failover time starts for the primary p, AWS
// time: when its server stopped (killed by the tier, or first found stopped
// by the monitor), or, for a server that runs but does not answer, now, when
// the monitor has judged it unresponsive. A stopped process is a failure RDS
// sees at once, and the time the lab takes to notice it, counted at the
// run's speed, is not RDS's; an unresponsive one is a failure RDS too must
// wait out before it acts, so the lab's wait (MonitorUnresponsive) is not
// folded into RDS's figure, which would make it the best case.
func (t *Tier) failedAt(p Server) time.Time {
	t.mu.Lock()
	at, ok := t.downAt[p.ID]
	t.mu.Unlock()
	if ok {
		return at
	}
	return t.opts.Clock.Now()
}

// missing is how many standbys (or readers) the deployment lacks now; mu
// held.
func (t *Tier) missing() int {
	n := t.standbys
	for _, s := range t.servers[1:] {
		if s.Role == stack.RoleStandby || s.Role == stack.RoleReader {
			n--
		}
	}
	return n
}

// healWriter points the writer endpoint at the primary p when it answers
// as a writer and the endpoint is elsewhere (after a failover that failed,
// or a primary recovered in place). Only the monitor calls it.
func (t *Tier) healWriter(p Server) {
	w := t.WriterEndpoint()
	if ts := w.Targets(); len(ts) == 1 && ts[0] == p.AddrPort() {
		return
	}
	w.Move(p.AddrPort())
	t.moveReaders()
	t.publish(FailoverStep{DB: t.opts.Database.Identifier, Step: StepMoved, Server: p.Identifier, Zone: p.Zone.Name,
		Detail: w.Name + " answers from the primary again"})
}

// promoteStuck promotes p again when it is the tier's primary, still in
// recovery, and the writer endpoint points nowhere: a failed promotion
// whose outcome could not be read (afterFailedPromotion) made it the
// primary, and without this nothing would ever write again. pg_promote is
// asked not to wait; the next checks see it a writer and healWriter moves
// the endpoint.
func (t *Tier) promoteStuck(ctx context.Context, m *monitor, p Server) {
	if len(t.WriterEndpoint().Targets()) != 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	if _, err := m.conn.Exec(ctx, "SELECT pg_promote(false)"); err != nil {
		t.opts.Logger.Warn("promote the primary still in recovery", "db", p.Identifier, "err", err)
		return
	}
	t.publish(FailoverStep{DB: t.opts.Database.Identifier, Step: StepPromoted, Server: p.Identifier, Zone: p.Zone.Name,
		Detail: "the primary was still in recovery with no writer: promoted again"})
}

func (t *Tier) isRecovering(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.recovering[id]
}

// states is the runtime's state of each server, nil when it cannot tell.
func (t *Tier) states(ctx context.Context) map[az.InstanceID]az.State {
	list, err := t.opts.Runtime.List(ctx)
	if err != nil {
		return nil
	}
	out := make(map[az.InstanceID]az.State, len(list))
	for _, in := range list {
		out[in.ID] = in.State
	}
	return out
}

func alive(states map[az.InstanceID]az.State, s Server) bool {
	st := states[s.ID]
	return st == az.StateRunning || st == az.StatePending
}

// canFailOver reports whether a standby (or reader) could take over: alive,
// in a healthy zone, and streaming at the monitor's last look. Without one
// a lost primary is recovered in place, as a Single-AZ one is.
func (t *Tier) canFailOver(servers []Server, states map[az.InstanceID]az.State) bool {
	t.mu.Lock()
	streamed := slices.Clone(t.streaming)
	t.mu.Unlock()
	return slices.ContainsFunc(servers[1:], func(s Server) bool {
		return (s.Role == stack.RoleStandby || s.Role == stack.RoleReader) && alive(states, s) && t.healthy(s.Zone.Name) &&
			slices.Contains(streamed, s.Identifier)
	})
}

func (t *Tier) healthy(zone string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return !t.zoneDown[zone]
}

// startRecover runs recover in a goroutine of the tier's, unless s is
// being recovered or replaced already: the monitor does not wait for a
// server's start-up.
func (t *Tier) startRecover(ctx context.Context, s Server, why string) {
	t.mu.Lock()
	if t.recovering[s.Identifier] || t.replacing[s.Identifier] {
		t.mu.Unlock()
		return
	}
	t.recovering[s.Identifier] = true
	t.mu.Unlock()
	t.monitor.Add(1)
	go func() {
		defer t.monitor.Done()
		defer func() {
			t.mu.Lock()
			delete(t.recovering, s.Identifier)
			t.mu.Unlock()
		}()
		t.recover(ctx, s, why)
	}()
}

// mayStart reports whether s may be started now: still the tier's, not
// fenced, its zone not down. startMu held.
func (t *Tier) mayStart(s Server) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return !t.fenced[s.ID] && !t.zoneDown[s.Zone.Name] &&
		slices.ContainsFunc(t.servers, func(x Server) bool { return x.ID == s.ID })
}

// recover boots a killed server again on its data, as RDS recovers an
// instance whose host failed, and waits until it answers; a standby or
// replica catches up by streaming (a paused one stays paused).
func (t *Tier) recover(ctx context.Context, s Server, why string) {
	ok, err := t.startIfAllowed(ctx, s)
	if !ok {
		return
	}
	if err != nil {
		t.opts.Logger.Warn("recover DB instance", "db", s.Identifier, "err", err)
		return
	}
	t.publish(FailoverStep{DB: t.opts.Database.Identifier, Step: StepRestart, Server: s.Identifier, Zone: s.Zone.Name, Detail: why})
	if err := t.waitReady(ctx, s); err != nil {
		t.opts.Logger.Warn("recover DB instance", "db", s.Identifier, "err", err)
		return
	}
	if s.Role == stack.RolePrimary {
		return // the monitor points the writer endpoint at it once it answers (healWriter)
	}
	if s.Role == RoleStandalone {
		return // a promoted read replica replicates from nothing: its own endpoint never moved
	}
	if t.isPaused(s.Identifier) { // a replica-lag holds it: a restart does not undo it
		if err := t.pause(ctx, s); err != nil {
			t.opts.Logger.Warn("recover DB instance: keep its replication paused", "db", s.Identifier, "err", err)
		}
		return
	}
	// It may have missed a failover: it follows the primary there is now.
	if err := t.follow(ctx, s, t.Primary()); err != nil {
		t.opts.Logger.Warn("recover DB instance", "db", s.Identifier, "err", err)
	}
}

// upAgain forgets when s went down: it was started again.
func (t *Tier) upAgain(s Server) {
	t.mu.Lock()
	delete(t.downAt, s.ID)
	delete(t.killing, s.ID)
	t.mu.Unlock()
}

func (t *Tier) isPaused(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.paused[id]
}

// syncReplication keeps synchronous_standby_names on the primary to the
// standbys that stream from it now: a commit never waits for a standby
// that is down or not yet caught up (RDS's primary goes on when its standby
// fails), and waits for it again once it streams.
func (t *Tier) syncReplication(ctx context.Context, m *monitor) {
	if m.conn == nil {
		return
	}
	qctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	rows, err := m.conn.Query(qctx, "SELECT application_name, sync_state FROM pg_stat_replication WHERE state = 'streaming'")
	if err != nil {
		return
	}
	type standby struct{ Name, SyncState string }
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[standby])
	if err != nil {
		return
	}
	var streaming, synced []string
	for _, r := range list {
		streaming = append(streaming, r.Name)
		if r.SyncState == "sync" || r.SyncState == "quorum" {
			synced = append(synced, r.Name)
		}
	}
	t.mu.Lock()
	// the failover targets, should the primary be lost: only a standby the
	// primary waits for holds every acknowledged commit (one that streams
	// asynchronously, before synchronous_standby_names names it, does not)
	t.streaming = targets(t.streaming, synced, t.syncNames)
	t.mu.Unlock()
	servers := t.Servers()
	live := []Server{servers[0]}
	for _, s := range servers[1:] {
		if slices.Contains(streaming, s.Identifier) {
			live = append(live, s)
		}
	}
	want := synchronousStandbyNames(live)
	t.mu.Lock()
	have := t.syncNames
	t.mu.Unlock()
	if want == have {
		return
	}
	if err := t.setSyncNames(ctx, servers[0], want); err != nil {
		t.opts.Logger.Warn("synchronous_standby_names", "db", servers[0].Identifier, "err", err)
		return
	}
	t.mu.Lock()
	t.streaming = targets(t.streaming, synced, want) // a standby no longer waited for is no target from now on
	t.mu.Unlock()
}

// targets are the failover targets after a look at pg_stat_replication:
// the standbys seen in sync (or quorum) now, and those that were targets
// and are still named in synchronous_standby_names (names). A standby the
// primary still waits for holds every acknowledged commit even when one
// look misses it (a primary dying under SIGKILL can answer a last query
// after its WAL sender died); only once it is no longer named can commits
// go on without it.
func targets(prev, synced []string, names string) []string {
	out := slices.Clone(synced)
	for _, p := range prev {
		if !slices.Contains(out, p) && strings.Contains(names, strconv.Quote(p)) {
			out = append(out, p)
		}
	}
	return out
}

// setSyncNames sets synchronous_standby_names on the primary p.
func (t *Tier) setSyncNames(ctx context.Context, p Server, names string) error {
	if err := t.alterSystem(ctx, p, "synchronous_standby_names", names); err != nil {
		return err
	}
	t.mu.Lock()
	t.syncNames = names
	t.mu.Unlock()
	return nil
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// promotionTarget picks whom a failover promotes: a Multi-AZ instance's
// standby, or the cluster's reader that has replayed the most (lsn), among
// those alive in a healthy zone; never a read replica (its promotion is
// PromoteReadReplica's, promote.go) nor a promoted one.
func promotionTarget(servers []Server, usable func(Server) bool, lsn func(Server) uint64) (Server, error) {
	var best Server
	var bestLSN uint64
	var cands []Server
	for _, s := range servers[1:] {
		if (s.Role == stack.RoleStandby || s.Role == stack.RoleReader) && usable(s) {
			cands = append(cands, s)
		}
	}
	lsns := make([]uint64, len(cands))
	if len(cands) > 1 { // a cluster: ask each reader at once
		var wg sync.WaitGroup
		for i, s := range cands {
			wg.Go(func() { lsns[i] = lsn(s) })
		}
		wg.Wait()
	}
	for i, s := range cands {
		if !best.Addr.IsValid() || lsns[i] > bestLSN {
			best, bestLSN = s, lsns[i]
		}
	}
	if !best.Addr.IsValid() {
		return Server{}, ErrNoStandby
	}
	return best, nil
}

// afterPromotion is the tier's servers once to was promoted in place of
// the primary: to first, as the primary, the others after it in order (a
// promoted read replica, a DB instance of its own, follows nobody).
func afterPromotion(servers []Server, to Server) []Server {
	out := []Server{to}
	out[0].Role, out[0].Source = stack.RolePrimary, ""
	for _, s := range servers[1:] {
		if s.Identifier != to.Identifier {
			if s.Role != RoleStandalone {
				s.Source = to.Identifier
			}
			out = append(out, s)
		}
	}
	return out
}

// rebuildZone is where a new standby goes: the lost primary's zone when it
// is healthy, else the first healthy zone of the subnet group where no
// server of the pair (or cluster) is.
func rebuildZone(subnetZones []string, servers []Server, lost string, down map[string]bool) (string, bool) {
	if !down[lost] && !holds(servers, lost) {
		return lost, true
	}
	for _, z := range subnetZones {
		if !down[z] && !holds(servers, z) {
			return z, true
		}
	}
	return "", false
}

// holds reports whether a primary, standby or reader is in zone (read
// replicas, and promoted ones, do not count: a standby may share their zone).
func holds(servers []Server, zone string) bool {
	return slices.ContainsFunc(servers, func(s Server) bool {
		return s.Zone.Name == zone && s.Role != stack.RoleReadReplica && s.Role != RoleStandalone
	})
}

// freeAddr is the zone's next database address not taken by any server the
// tier has had.
func freeAddr(z az.Zone, taken []Server) (netip.Addr, bool) {
	for h := FirstDBHost; h <= LastDBHost; h++ {
		a := z.Subnet.Addr().As4()
		a[3] = byte(h)
		addr := netip.AddrFrom4(a)
		if !slices.ContainsFunc(taken, func(s Server) bool { return s.Addr == addr }) {
			return addr, true
		}
	}
	return netip.Addr{}, false
}

// failover fences the primary, promotes the target, holds the endpoint
// until RDS's failover time has passed since it began, moves it, and then
// rebuilds a standby. Only the monitor runs it.
func (t *Tier) failover(ctx context.Context, reason string, failed time.Time) error {
	// RDS's time counts from the failure (a reboot with failover: from the
	// request); detecting it and choosing whom to promote are part of it.
	start := failed
	d := t.opts.Database
	all := t.Servers()
	old := all[0]
	// a promoted read replica is a DB instance of its own: no part of this
	// one's failover (never fenced, promoted, repointed or rebuilt here)
	servers := slices.DeleteFunc(slices.Clone(all), func(s Server) bool { return s.Role == RoleStandalone })
	states := t.states(ctx)
	t.mu.Lock()
	streamed := slices.Clone(t.streaming)
	t.mu.Unlock()
	usable := func(s Server) bool {
		// A standby is a failover target only if it streamed from the
		// primary at the monitor's last look: one still being built has
		// nothing a primary can be made of.
		return alive(states, s) && t.healthy(s.Zone.Name) && slices.Contains(streamed, s.Identifier)
	}
	conns := t.newFailoverConns()
	defer conns.close()
	before := conns.heldWAL(ctx, servers[1:]) // at once, not one by one
	to, err := promotionTarget(servers, usable, func(s Server) uint64 { return before[s.Identifier] })
	if err != nil {
		t.publish(RDSEvent{SourceType: t.sourceType(), SourceID: d.Identifier, Category: "failover", Own: true,
			Text: "Failover not possible: " + err.Error()})
		return err
	}
	t.mu.Lock()
	t.failing = true
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		t.failing = false
		t.mu.Unlock()
	}()
	at := func() float64 { return t.opts.Clock.Now().Sub(start).Seconds() }
	step := func(name string, s Server, detail string) {
		t.publish(FailoverStep{DB: d.Identifier, Step: name, Server: s.Identifier, Zone: s.Zone.Name, Detail: detail, At: at()})
	}
	switch {
	case d.Cluster:
		t.publish(RDSEvent{SourceType: "db-cluster", SourceID: d.Identifier, EventID: "RDS-EVENT-0073", Category: "failover", Zone: to.Zone.Name,
			Text: fmt.Sprintf(msgClusterFailoverStarted, to.Identifier)})
	default:
		t.publish(RDSEvent{SourceType: "db-instance", SourceID: d.Identifier, Category: "failover", Zone: old.Zone.Name, Text: msgInstanceFailoverStarted})
	}
	step(StepDetected, old, reason)

	// The writer's endpoint answers nothing until the failover completes:
	// its open connections break now. The reader endpoint stops sending
	// reads to the server to be promoted (only its connections break).
	writer := t.WriterEndpoint()
	broken := writer.Move()
	if r := t.ReaderEndpoint(); r != nil {
		r.Move(without(r.Targets(), to.AddrPort())...)
	}

	// Fence: the old primary must be gone before anything is promoted.
	err = t.fence(ctx, old)
	t.mu.Lock()
	delete(t.killing, old.ID) // the runtime has seen it go, or the fence failed and it runs
	t.mu.Unlock()
	if err != nil {
		// the primary could not be fenced: nothing is promoted, and the
		// endpoints go back to it rather than answer nothing for good
		t.unfence(old)
		writer.Move(old.AddrPort())
		t.moveReaders()
		t.failedEvents(old, "the primary DB instance could not be stopped: "+err.Error(), true)
		step(StepFailed, old, err.Error())
		return err
	}
	step(StepFenced, old, fmt.Sprintf("killed; %d connection(s) through %s broken", broken, writer.Name))

	// What each server holds once the primary can write no more: a
	// cluster's reader that holds the most WAL is the one that holds every
	// commit acknowledged with a quorum of one, and a server that holds
	// more than the promoted one cannot follow its new timeline.
	held := conns.heldWAL(ctx, servers[1:])
	if d.Cluster {
		if again, err := promotionTarget(servers, usable, func(s Server) uint64 { return held[s.Identifier] }); err == nil && again.Identifier != to.Identifier {
			step(StepRechosen, again, fmt.Sprintf("holds more WAL than %s once the primary is fenced: promoted instead", to.Identifier))
			to = again
			if r := t.ReaderEndpoint(); r != nil {
				r.Move(without(r.Targets(), to.AddrPort())...)
			}
		}
	}

	if sent, err := t.promote(ctx, conns, to); err != nil {
		if promoted, ferr := t.afterFailedPromotion(ctx, old, to, sent, err, step); !promoted {
			return ferr
		}
		// the target finished promoting after all: the failover goes on to it
	}
	step(StepPromoted, to, "pg_promote()")
	next := t.swapPrimary(old, to)
	repoint := func() {
		for _, s := range t.repoint(next, to, held) {
			if err := t.follow(ctx, s, to); err != nil {
				t.opts.Logger.Warn("repoint DB instance", "db", s.Identifier, "err", err)
			}
		}
	}
	// The other standbys follow the new primary while the endpoint is held
	// (beside the wait, which it must not lengthen), not after it moved: a
	// commit on the new primary waits for one of them (a cluster's quorum),
	// and RDS's cluster failover "completes when both reader DB instances
	// have applied outstanding transactions". The failover waits for it.
	repointed := make(chan struct{})
	go func() {
		defer close(repointed)
		repoint()
	}()
	defer func() { <-repointed }()

	// RDS's failover takes its documented time; the endpoint moves at its end.
	promotedAt := at()
	hold := InstanceFailoverTime
	if d.Cluster {
		hold = ClusterFailoverTime
	}
	if left := hold - t.opts.Clock.Now().Sub(start); left > 0 {
		select {
		case <-t.opts.Clock.After(left):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	writer.Move(to.AddrPort())
	t.moveReaders()
	moved := FailoverStep{DB: d.Identifier, Step: StepMoved, Server: to.Identifier, Zone: to.Zone.Name, At: at(),
		Detail: writer.Name + " now answers from " + to.AddrPort().String(), Documented: hold.Seconds()}
	if over := moved.Overrun(); over > 0 {
		speed := t.opts.Clock.Speed()
		why := fmt.Sprintf("the lab's own steps (detecting, fencing, promoting on this host) took %.2f wall s, %.1f AWS s at speed %g",
			promotedAt/speed, promotedAt, speed)
		if promotedAt < moved.Documented {
			why = fmt.Sprintf("the lab's move came %.2f wall s late on a busy host, %.1f AWS s at speed %g", over/speed, over, speed)
		}
		moved.Overran = fmt.Sprintf("%.1f s past RDS's documented %.0f s: %s; at a lower speed RDS's figure holds", over, moved.Documented, why)
	}
	t.publish(moved)

	switch {
	case d.Cluster:
		t.publish(RDSEvent{SourceType: "db-cluster", SourceID: d.Identifier, EventID: "RDS-EVENT-0071", Category: "failover", Zone: to.Zone.Name,
			Text: fmt.Sprintf(msgClusterFailoverCompleted, to.Identifier)})
	default:
		t.publish(RDSEvent{SourceType: "db-instance", SourceID: d.Identifier, Category: "failover", Zone: to.Zone.Name, Text: msgInstanceFailoverCompleted})
	}
	t.mu.Lock()
	t.failing = false // the failover is over; the standby's rebuild is not part of it
	t.mu.Unlock()
	<-repointed
	for _, s := range diverged(next, to, held) {
		t.startReplace(ctx, s, fmt.Sprintf("it holds WAL past %s's new timeline", to.Identifier))
	}
	if old.Role == stack.RolePrimary {
		t.startRebuild(ctx, old, at)
	}
	return nil
}

// diverged are the servers of next (after a promotion of to) that hold
// WAL past what to held when it was promoted: they cannot follow its new
// timeline and must be built again. A figure not known (0) is no proof.
func diverged(next []Server, to Server, held map[string]uint64) []Server {
	var out []Server
	for _, s := range next[1:] {
		if h, top := held[s.Identifier], held[to.Identifier]; s.Role != RoleStandalone && h > 0 && top > 0 && h > top {
			out = append(out, s)
		}
	}
	return out
}

// repoint are the servers of next that follow the new primary to: not one
// that diverged (it is replaced), one whose replication a replica-lag
// holds paused (its resume follows the primary there is then), nor a
// promoted read replica (it follows nobody).
func (t *Tier) repoint(next []Server, to Server, held map[string]uint64) []Server {
	out := []Server{}
	gone := diverged(next, to, held)
	for _, s := range next[1:] {
		if slices.ContainsFunc(gone, func(g Server) bool { return g.ID == s.ID }) || t.isPaused(s.Identifier) || s.Role == RoleStandalone {
			continue
		}
		out = append(out, s)
	}
	return out
}

// swapPrimary makes to the primary in place of old on the server list as
// it is now (a standby built meanwhile stays in it), retires old, and
// returns the new list.
func (t *Tier) swapPrimary(old, to Server) []Server {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.servers[0].ID == old.ID {
		t.servers = afterPromotion(t.servers, to)
		t.retired = append(t.retired, old)
	}
	// the promoted server's synchronous_standby_names is whatever its data
	// directory held (pg_basebackup copies postgresql.auto.conf): never
	// assumed, the next check sets it
	t.syncNames = "\x00"
	t.streaming = nil // nothing streams from it yet
	lost := old
	t.pending = &lost // what a rebuilt standby is made after
	return slices.Clone(t.servers)
}

// failedEvents publishes a failed failover in RDS's words; restored says
// the old primary is the primary again.
func (t *Tier) failedEvents(old Server, why string, restored bool) {
	d := t.opts.Database
	if d.Cluster {
		if restored {
			t.publish(RDSEvent{SourceType: "db-cluster", SourceID: d.Identifier, EventID: "RDS-EVENT-0070", Category: "failover", Zone: old.Zone.Name,
				Text: fmt.Sprintf(msgClusterPromotingPrevious, old.Identifier)})
		}
		t.publish(RDSEvent{SourceType: "db-cluster", SourceID: d.Identifier, EventID: "RDS-EVENT-0069", Category: "failover", Zone: old.Zone.Name,
			Text: msgClusterFailoverFailed})
	} else if restored {
		t.publish(RDSEvent{SourceType: "db-instance", SourceID: d.Identifier, EventID: "RDS-EVENT-0065", Category: "failover", Zone: old.Zone.Name,
			Text: msgInstancePartialFailover})
	}
	t.publish(RDSEvent{SourceType: t.sourceType(), SourceID: d.Identifier, Category: "failover", Own: true, Text: "Failover failed: " + why})
}

// Promotion states of a fenced target, read from its data directory.
const (
	promotionUnknown = iota
	notPromoted      // standby.signal is still there: recovery never ended
	promotedOnDisk   // standby.signal is gone: it ended recovery (it boots as a primary)
)

// promotionState reads whether the stopped server whose PostgreSQL data
// directory is pgdata had ended its recovery: PostgreSQL removes
// standby.signal when a promotion ends recovery, before the server writes
// as a primary.
func promotionState(pgdata string) int {
	if _, err := os.Stat(filepath.Join(pgdata, "PG_VERSION")); err != nil {
		return promotionUnknown
	}
	switch _, err := os.Stat(filepath.Join(pgdata, "standby.signal")); {
	case err == nil:
		return notPromoted
	case errors.Is(err, os.ErrNotExist):
		return promotedOnDisk
	}
	return promotionUnknown
}

// pgdata is s's PostgreSQL data directory, wherever the runtime keeps it.
func pgdata(s Server) string {
	dir := s.DataDir
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	return filepath.Join(dir, "pgdata")
}

// afterFailedPromotion decides what a promotion that failed leaves. Before
// pg_promote() went out nothing was promoted: the old primary boots again
// and has the endpoints back. Once it went out the target may still finish
// promoting, so it is fenced too and its data read: only a target known
// not to have promoted lets the old primary back (there are never two
// writers); one that did is started again and, answering as a writer, the
// failover goes on to it (promoted true); one that cannot be told becomes
// the tier's primary, the old one stays fenced, and the monitor recovers
// it in place.
func (t *Tier) afterFailedPromotion(ctx context.Context, old, to Server, sent bool, perr error, step func(string, Server, string)) (promoted bool, err error) {
	writer := t.WriterEndpoint()
	if sent {
		ferr := t.fence(ctx, to)
		state := promotionUnknown
		if ferr == nil {
			state = promotionState(pgdata(to))
		}
		switch {
		case state == promotedOnDisk:
			t.unfence(to)
			if err := t.startAgain(ctx, to); err == nil && t.isWriter(ctx, to) {
				return true, nil
			}
			fallthrough
		case state != notPromoted:
			t.unfence(to)
			t.swapPrimary(old, to) // the old primary stays fenced for good
			t.failedEvents(old, fmt.Sprintf("%v; %s may have promoted, so %s stays stopped and %s is recovered as the primary", perr, to.Identifier, old.Identifier, to.Identifier), false)
			step(StepFailed, to, perr.Error())
			return false, perr
		}
		// recovery never ended and the target is stopped: it cannot promote
		_ = os.Remove(filepath.Join(pgdata(to), "promote"))
		t.unfence(to) // the monitor starts it again as a standby
	}
	t.unfence(old)
	if err := t.startAgain(ctx, old); err != nil {
		// neither promoted nor back (its zone may be down): no recovery to
		// announce; the monitor keeps trying, and the writer stays empty
		t.failedEvents(old, fmt.Sprintf("the standby was not promoted (%v), and the primary DB instance did not start again: %v", perr, err), false)
		step(StepFailed, old, perr.Error())
		return false, perr
	}
	writer.Move(old.AddrPort())
	t.moveReaders()
	t.failedEvents(old, "the standby was not promoted ("+perr.Error()+"); the primary DB instance is restarted", true)
	step(StepFailed, old, perr.Error())
	return false, perr
}

// startIfAllowed starts the stopped server s through the runtime, under
// startMu, if it may start now (mayStart): false when it may not; the
// runtime's error when it could not.
func (t *Tier) startIfAllowed(ctx context.Context, s Server) (bool, error) {
	t.startMu.Lock()
	defer t.startMu.Unlock()
	if !t.mayStart(s) {
		return false, nil
	}
	err := t.opts.Runtime.Start(ctx, s.ID)
	t.upAgain(s)
	return true, err
}

// startAgain boots a stopped server of the tier's again and waits until it
// answers.
func (t *Tier) startAgain(ctx context.Context, s Server) error {
	ok, err := t.startIfAllowed(ctx, s)
	if !ok {
		return fmt.Errorf("DB instance %s may not start now (fenced, or its zone is down)", s.Identifier)
	}
	if err != nil {
		return fmt.Errorf("start DB instance %s: %w", s.Identifier, err)
	}
	return t.waitReady(ctx, s)
}

// isWriter reports whether s answers as a primary (not in recovery).
func (t *Tier) isWriter(ctx context.Context, s Server) bool {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	c, err := t.Connect(ctx, s)
	if err != nil {
		return false
	}
	defer c.Close(context.WithoutCancel(ctx))
	var recovering bool
	return c.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&recovering) == nil && !recovering
}

func without(list []netip.AddrPort, x netip.AddrPort) []netip.AddrPort {
	return slices.DeleteFunc(slices.Clone(list), func(a netip.AddrPort) bool { return a == x })
}

// fence kills s and waits until the runtime says it is no longer running;
// from then on nothing starts it again until unfence.
func (t *Tier) fence(ctx context.Context, s Server) error {
	t.startMu.Lock()
	t.mu.Lock()
	t.fenced[s.ID] = true
	t.mu.Unlock()
	err := t.opts.Runtime.Kill(ctx, s.ID)
	t.startMu.Unlock()
	if err != nil && !errors.Is(err, az.ErrNotFound) {
		if states := t.states(ctx); alive(states, s) {
			return fmt.Errorf("fence DB instance %s: %w", s.Identifier, err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		states := t.states(ctx)
		if states != nil && !alive(states, s) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("fence DB instance %s: still running after 30 s", s.Identifier)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (t *Tier) unfence(s Server) {
	t.mu.Lock()
	delete(t.fenced, s.ID)
	t.mu.Unlock()
}

// promote ends to's recovery: pg_promote without waiting (a query that
// waits on a hot standby can be cancelled by the replay promotion itself
// resumes), then new short queries until pg_is_in_recovery() is false.
// sent says whether pg_promote() may have reached the server: after that,
// a failure does not mean it was not promoted.
// It goes over the failover's connections: the one already open to the
// target sends pg_promote() and then polls (a new connection costs a
// backend's start and a SCRAM exchange, tens of wall milliseconds that a
// fast clock turns into AWS seconds).
func (t *Tier) promote(ctx context.Context, conns *failoverConns, to Server) (sent bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	t.mu.Lock()
	hook := t.promoteHook
	t.mu.Unlock()
	if hook != nil {
		if sent, err := hook(ctx, to); err != nil {
			return sent, err
		}
	} else {
		c, err := conns.get(ctx, to)
		if err != nil {
			return false, fmt.Errorf("promote: %w", err)
		}
		if _, err = c.Exec(ctx, "SELECT pg_promote(false)"); err != nil {
			conns.drop(to)
			return true, fmt.Errorf("promote DB instance %s: %w", to.Identifier, err)
		}
	}
	var last error
	for { // polled over the same connection, opened again if a poll breaks it
		qctx, qcancel := context.WithTimeout(ctx, 5*time.Second)
		q, err := conns.get(qctx, to)
		if err == nil {
			var recovering bool
			if err = q.QueryRow(qctx, "SELECT pg_is_in_recovery()").Scan(&recovering); err == nil && !recovering {
				qcancel()
				return true, nil
			}
			if err != nil {
				conns.drop(to)
			}
		}
		qcancel()
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return true, fmt.Errorf("promote DB instance %s: still in recovery after a minute (%v)", to.Identifier, last)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// conninfo is a standby's primary_conninfo to stream from p.
func (t *Tier) conninfo(p Server, appName string) string {
	q := func(v string) string {
		return "'" + strings.ReplaceAll(strings.ReplaceAll(v, `\`, `\\`), "'", `\'`) + "'"
	}
	return fmt.Sprintf("host=%s port=%d user=%s password=%s application_name=%s", p.Addr, p.Port,
		q(t.opts.Database.Username), q(t.opts.Password), q(appName))
}

// follow points standby s at the new primary p (primary_conninfo is
// reloadable); it follows the new timeline (recovery_target_timeline is
// latest).
func (t *Tier) follow(ctx context.Context, s, p Server) error {
	if t.isPaused(s.Identifier) {
		return nil // a replica-lag holds it: its resume follows the primary there is then
	}
	return t.setConninfo(ctx, s, t.conninfo(p, s.Identifier))
}

func (t *Tier) setConninfo(ctx context.Context, s Server, conninfo string) error {
	return t.alterSystem(ctx, s, "primary_conninfo", conninfo)
}

// alterSystem sets a server's setting (ALTER SYSTEM) and reloads its
// configuration.
func (t *Tier) alterSystem(ctx context.Context, s Server, setting, value string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := t.Connect(ctx, s)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	if _, err := c.Exec(ctx, "ALTER SYSTEM SET "+setting+" = "+quoteLiteral(value)); err != nil {
		return fmt.Errorf("DB instance %s: set %s: %w", s.Identifier, setting, err)
	}
	if _, err := c.Exec(ctx, "SELECT pg_reload_conf()"); err != nil {
		return fmt.Errorf("DB instance %s: reload: %w", s.Identifier, err)
	}
	return nil
}

// rebuild makes a new standby (or reader) in a healthy zone from the new
// primary, so that the instance is Multi-AZ again; the monitor makes it
// synchronous once it streams. lost is the fenced primary. A build that
// finds no healthy free zone waits for one (the monitor tries again each
// check); one that finds no free address or fails is tried again after a
// backoff, and a failed build's address is free again.
func (t *Tier) rebuild(ctx context.Context, lost Server, at func() float64) {
	d := t.opts.Database
	t.mu.Lock()
	servers := slices.Clone(t.servers)
	taken := append(slices.Clone(t.servers), t.retired...)
	down := make(map[string]bool, len(t.zoneDown))
	for z := range t.zoneDown {
		down[z] = true
	}
	t.pending = &lost // until a standby joins: what the monitor builds again after
	t.mu.Unlock()
	zoneName, ok := rebuildZone(d.SubnetGroupZones, servers, lost.Zone.Name, down)
	if !ok {
		t.mu.Lock()
		said := t.waitSaid
		t.waitSaid = true
		t.mu.Unlock()
		if !said {
			t.publish(FailoverStep{DB: d.Identifier, Step: StepRebuilt, Detail: "not yet: no healthy zone of the subnet group is free", At: at()})
		}
		return
	}
	var z az.Zone
	for _, x := range t.opts.Zones {
		if x.Name == zoneName {
			z = x
		}
	}
	addr, ok := freeAddr(z, taken)
	if !ok {
		wait := t.buildFailed()
		t.publish(FailoverStep{DB: d.Identifier, Step: StepRebuilt, Zone: zoneName, At: at(),
			Detail: fmt.Sprintf("not yet: %s has no free database address; tried again in %s", zoneName, wait)})
		return
	}
	t.mu.Lock()
	t.built++
	n := t.built
	t.mu.Unlock()
	role, name := stack.RoleStandby, fmt.Sprintf("%s-standby-%d", d.Identifier, n+1)
	if d.Cluster {
		role, name = stack.RoleReader, fmt.Sprintf("%s-reader-%d", d.Identifier, n+2)
	}
	s := Server{Identifier: name, Role: role, Zone: z, Addr: addr, Port: lost.Port, Class: lost.Class,
		ID: az.InstanceID("db-" + name), DataDir: strings.TrimSuffix(lost.DataDir, lost.Identifier) + name,
		Source: servers[0].Identifier, MaxConnections: lost.MaxConnections}
	// It joins the tier's servers once it runs: until then the monitor,
	// which runs beside the build, must not take it for a lost standby; an
	// outage of its zone kills it meanwhile (t.building).
	err := t.buildStandby(ctx, s)
	if err == nil {
		err = t.join(s)
	}
	if err != nil {
		// It goes: stopped, out of the tier's servers, its data removed;
		// the monitor tries again with another after a backoff.
		t.opts.Logger.Error("rebuild the standby", "db", name, "err", err)
		_ = t.opts.Runtime.Terminate(context.WithoutCancel(ctx), s.ID)
		if real, rerr := filepath.EvalSymlinks(s.DataDir); rerr == nil {
			_ = removeContents(real)
		}
		t.mu.Lock()
		t.building = nil
		t.discarded = append(t.discarded, s) // its address is free again
		t.mu.Unlock()
		detail := "failed: " + err.Error()
		if ctx.Err() == nil {
			detail += fmt.Sprintf("; tried again in %s", t.buildFailed())
		}
		t.publish(FailoverStep{DB: d.Identifier, Step: StepRebuilt, Server: name, Zone: zoneName, Detail: detail, At: at()})
		return
	}
	t.mu.Lock()
	t.buildFails, t.waitSaid = 0, false
	if t.missing() == 0 {
		t.pending = nil
	}
	t.mu.Unlock()
	t.moveReaders() // the monitor makes it synchronous once it streams (syncReplication)
	t.publish(FailoverStep{DB: d.Identifier, Step: StepRebuilt, Server: name, Zone: zoneName,
		Detail: "pg_basebackup from " + servers[0].Identifier + "; streaming " + wantSync(role), At: at()})
}

// buildStandby starts s (its base backup first), unless its zone is down,
// and waits until it answers; meanwhile it is t.building, which an outage
// of its zone kills.
func (t *Tier) buildStandby(ctx context.Context, s Server) error {
	t.startMu.Lock()
	t.mu.Lock()
	down := t.zoneDown[s.Zone.Name]
	if !down {
		b := s
		t.building = &b
	}
	t.mu.Unlock()
	var err error
	if !down {
		err = t.spawn(ctx, s)
	}
	t.startMu.Unlock()
	if down {
		return fmt.Errorf("%s went down before the build started", s.Zone.Name)
	}
	if err != nil {
		return err
	}
	return t.waitReady(ctx, s)
}

// join adds the built standby s to the tier's servers, unless what it was
// built from changed meanwhile: the primary it copied is no longer the
// primary (a failover during the build), or its zone went down.
func (t *Tier) join(s Server) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.building = nil
	switch {
	case t.zoneDown[s.Zone.Name]:
		return fmt.Errorf("%s went down while it was built", s.Zone.Name)
	case t.servers[0].Identifier != s.Source:
		return fmt.Errorf("built from %s, which is no longer the primary (%s is)", s.Source, t.servers[0].Identifier)
	}
	t.servers = append(t.servers, s)
	return nil
}

// buildFailed counts a failed build and sets when the next may start: the
// backoff doubles from rebuildRetry up to rebuildRetryMax (AWS time).
func (t *Tier) buildFailed() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buildFails++
	wait := rebuildBackoff(t.buildFails)
	t.retryRebuild = t.opts.Clock.Now().Add(wait)
	return wait
}

// rebuildBackoff is the wait after the n-th failed build in a row.
func rebuildBackoff(n int) time.Duration {
	wait := rebuildRetry
	for i := 1; i < n && wait < rebuildRetryMax; i++ {
		wait *= 2
	}
	return min(wait, rebuildRetryMax)
}

// rebuildRetry is how long (AWS time) the monitor waits before it builds a
// standby again after a build failed; it doubles with each failure in a
// row, up to rebuildRetryMax.
const (
	rebuildRetry    = time.Minute
	rebuildRetryMax = 16 * time.Minute
)

func (t *Tier) retryAt() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.retryRebuild
}

// startRebuild runs rebuild in a goroutine of the tier's (the monitor goes
// on checking the new primary meanwhile: a base backup can take a while),
// unless one runs already.
func (t *Tier) startRebuild(ctx context.Context, lost Server, at func() float64) {
	t.mu.Lock()
	if t.rebuilding {
		t.pending = &lost // the monitor builds what is still missing once this one is done
		t.mu.Unlock()
		return
	}
	t.rebuilding = true
	t.mu.Unlock()
	t.monitor.Add(1)
	go func() {
		defer t.monitor.Done()
		defer func() {
			t.mu.Lock()
			t.rebuilding = false
			t.mu.Unlock()
		}()
		t.rebuild(ctx, lost, at)
	}()
}

// startReplace replaces s, which cannot follow the primary's new timeline,
// with a copy of the primary under the same identifier and address (as RDS
// replaces a replica whose replication broke), in a goroutine of the
// tier's.
func (t *Tier) startReplace(ctx context.Context, s Server, why string) {
	t.mu.Lock()
	if t.replacing[s.Identifier] {
		t.mu.Unlock()
		return
	}
	t.replacing[s.Identifier] = true
	t.mu.Unlock()
	replica := s.Role == stack.RoleReadReplica // RDS shows no standby or reader of its own: only the lab's step for those
	if replica {
		t.publish(RDSEvent{SourceType: "db-instance", SourceID: s.Identifier, EventID: "RDS-EVENT-0045", Category: "read replica", Zone: s.Zone.Name,
			Text: msgReplicationStopped})
	}
	t.publish(FailoverStep{DB: t.opts.Database.Identifier, Step: StepReplaced, Server: s.Identifier, Zone: s.Zone.Name,
		Detail: why + ": built again from the primary"})
	t.monitor.Add(1)
	go func() {
		defer t.monitor.Done()
		defer func() {
			t.mu.Lock()
			delete(t.replacing, s.Identifier)
			t.mu.Unlock()
		}()
		if err := t.replace(ctx, s); err != nil {
			t.opts.Logger.Error("replace DB instance", "db", s.Identifier, "err", err)
			t.publish(FailoverStep{DB: t.opts.Database.Identifier, Step: StepReplaced, Server: s.Identifier, Zone: s.Zone.Name,
				Detail: "failed: " + err.Error()})
			return
		}
		if replica {
			t.publish(RDSEvent{SourceType: "db-instance", SourceID: s.Identifier, EventID: "RDS-EVENT-0046", Category: "read replica", Zone: s.Zone.Name,
				Text: msgReplicationResumed})
		}
	}()
}

// replace stops s for good, removes its data and builds it again from the
// primary now (pg_basebackup), same identifier, address and role. One that
// cannot be built leaves the tier's servers (a standby or reader is then
// rebuilt as after a failover).
func (t *Tier) replace(ctx context.Context, s Server) error {
	if err := t.opts.Runtime.Terminate(ctx, s.ID); err != nil && !errors.Is(err, az.ErrNotFound) {
		return fmt.Errorf("stop DB instance %s: %w", s.Identifier, err)
	}
	if !filepath.IsAbs(s.DataDir) {
		return fmt.Errorf("DB instance %s: its data directory %q is not an absolute path; nothing removed", s.Identifier, s.DataDir)
	}
	if real, err := filepath.EvalSymlinks(s.DataDir); err == nil {
		if err := removeContents(real); err != nil {
			return fmt.Errorf("DB instance %s: remove its data: %w", s.Identifier, err)
		}
	}
	t.mu.Lock()
	p := t.servers[0]
	i := slices.IndexFunc(t.servers, func(x Server) bool { return x.ID == s.ID })
	if i > 0 {
		// the same DB instance on a new host: the runtime's name for it is
		// new (it keeps the old one's record), the identifier and address stay
		t.replaced++
		t.servers[i].Source = p.Identifier
		t.servers[i].ID = az.InstanceID(fmt.Sprintf("db-%s-%d", s.Identifier, t.replaced+1))
		s = t.servers[i]
	}
	t.mu.Unlock()
	if i <= 0 {
		return nil // no longer the tier's
	}
	// started under startMu, as recover does: an az-outage either comes
	// first (nothing starts in its zone) or finds the server to kill
	t.startMu.Lock()
	err := fmt.Errorf("DB instance %s may not start now (fenced, or %s is down)", s.Identifier, s.Zone.Name)
	if t.mayStart(s) {
		err = t.spawn(ctx, s)
		t.upAgain(s)
	}
	t.startMu.Unlock()
	if err == nil {
		err = t.waitReady(ctx, s)
	}
	if err != nil {
		t.mu.Lock()
		t.servers = slices.DeleteFunc(t.servers, func(x Server) bool { return x.ID == s.ID })
		t.discarded = append(t.discarded, s)
		t.mu.Unlock()
		_ = t.opts.Runtime.Terminate(context.WithoutCancel(ctx), s.ID)
		t.moveReaders()
		return err
	}
	if t.isPaused(s.Identifier) {
		return t.pause(ctx, s)
	}
	return nil
}

// moveReaders points the cluster's reader endpoint at its readers now
// (the writer when it has none).
func (t *Tier) moveReaders() {
	r := t.ReaderEndpoint()
	if r == nil {
		return
	}
	servers := t.Servers()
	var to []netip.AddrPort
	for _, s := range servers[1:] {
		if s.Role == stack.RoleReader {
			to = append(to, s.AddrPort())
		}
	}
	if len(to) == 0 {
		to = []netip.AddrPort{servers[0].AddrPort()}
	}
	if !slices.Equal(to, r.Targets()) {
		r.Move(to...)
	}
}

func (t *Tier) sourceType() string {
	if t.opts.Database.Cluster {
		return "db-cluster"
	}
	return "db-instance"
}

func (t *Tier) publish(e interface {
	Kind() string
	Message() string
}) {
	if t.opts.Events != nil {
		t.opts.Events.Publish(e)
	}
}

// PauseReplication stops a read replica's replication (replica-lag): its
// WAL receiver is cut off from the primary (primary_conninfo emptied) and
// replay is paused, so ReplicaLag grows and what the primary commits does
// not reach it. It stays paused until resume, whatever happens meanwhile:
// a failover does not repoint it, a restart pauses it again. resume
// streams and replays again (nothing to do when the replica was promoted
// meanwhile).
func (t *Tier) PauseReplication(ctx context.Context, identifier string) (resume func(context.Context) (string, error), err error) {
	s, ok := t.server(identifier)
	if !ok {
		return nil, fmt.Errorf("no DB instance %s", identifier)
	}
	switch s.Role {
	case stack.RolePrimary:
		return nil, fmt.Errorf("DB instance %s is the primary: it replays nothing", identifier)
	case RoleStandalone:
		return nil, fmt.Errorf("DB instance %s is a promoted read replica, a standalone DB instance: it replays nothing", identifier)
	}
	t.mu.Lock()
	t.paused[identifier] = true
	t.mu.Unlock()
	if err := t.pause(ctx, s); err != nil {
		t.mu.Lock()
		delete(t.paused, identifier)
		t.mu.Unlock()
		return nil, err
	}
	t.refreshSync(ctx)
	return func(ctx context.Context) (string, error) {
		t.mu.Lock()
		delete(t.paused, identifier)
		t.mu.Unlock()
		s, ok := t.server(identifier)
		if !ok {
			return identifier + " is gone", nil
		}
		c, err := t.Connect(ctx, s)
		if err != nil {
			return "", err
		}
		defer c.Close(context.WithoutCancel(ctx))
		var recovering bool
		if err := c.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&recovering); err != nil {
			return "", fmt.Errorf("DB instance %s: %w", identifier, err)
		}
		if !recovering {
			return identifier + " was promoted meanwhile: nothing to resume", nil
		}
		// the role and a promotion under way, checked again right before
		// the follow, which a promotion's start waits for (resumeMu): a
		// promoted or promoting replica never streams from its source again
		t.resumeMu.Lock()
		defer t.resumeMu.Unlock()
		if why := t.notResumable(identifier); why != "" {
			return identifier + why, nil
		}
		if err := t.follow(ctx, s, t.Primary()); err != nil {
			return "", err
		}
		if _, err := c.Exec(ctx, "SELECT pg_wal_replay_resume()"); err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "55000" { // object_not_in_prerequisite_state: "standby promotion is ongoing"
				return identifier + " is being promoted: nothing to resume", nil
			}
			return "", fmt.Errorf("DB instance %s: resume replay: %w", identifier, err)
		}
		t.refreshSync(ctx)
		return identifier + " streams and replays again from " + t.Primary().Identifier, nil
	}, nil
}

// notResumable says why the replica identifier is not to stream from its
// source again ("" when it is): promoted, or being promoted.
func (t *Tier) notResumable(identifier string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.promoting == identifier {
		return " is being promoted: nothing to resume"
	}
	for _, s := range t.servers {
		if s.Identifier == identifier && s.Role != stack.RoleReadReplica {
			return fmt.Sprintf(" is a %s now: nothing to resume", s.Role)
		}
	}
	return ""
}

// pause cuts s's WAL receiver off and pauses its replay.
func (t *Tier) pause(ctx context.Context, s Server) error {
	identifier := s.Identifier
	c, err := t.Connect(ctx, s)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	for _, q := range []string{"ALTER SYSTEM SET primary_conninfo = ''", "SELECT pg_reload_conf()"} {
		if _, err := c.Exec(ctx, q); err != nil {
			return fmt.Errorf("DB instance %s: %s: %w", identifier, q, err)
		}
	}
	// The WAL receiver stops when replay next waits for WAL: only then is
	// replay paused (a paused replay would leave the receiver streaming).
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		if err := c.QueryRow(ctx, "SELECT count(*) FROM pg_stat_wal_receiver").Scan(&n); err != nil {
			return fmt.Errorf("DB instance %s: %w", identifier, err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("DB instance %s: its WAL receiver still runs 30 s after primary_conninfo was emptied", identifier)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	if _, err := c.Exec(ctx, "SELECT pg_wal_replay_pause()"); err != nil {
		return fmt.Errorf("DB instance %s: pause replay: %w", identifier, err)
	}
	return nil
}

// refreshSync makes the monitor recompute synchronous_standby_names.
func (t *Tier) refreshSync(context.Context) {
	t.mu.Lock()
	t.syncNames = "\x00" // never a real value: the next check sets it
	t.mu.Unlock()
}

// endpointHash is the per-account part of RDS's endpoint names: 12
// lowercase letters and digits, from the run's seed.
func endpointHash(seed uint64) string {
	h := fnv.New64a()
	h.Write([]byte(strconv.FormatUint(seed, 10)))
	v := h.Sum64()
	const abc = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 12)
	for i := range b {
		b[i] = abc[v%uint64(len(abc))]
		v /= uint64(len(abc))
		if v == 0 {
			v = h.Sum64() ^ uint64(i+1)*0x9e3779b97f4a7c15
		}
	}
	return string(b)
}

// region is the zone's region: us-east-1a is in us-east-1.
func region(zone string) string { return strings.TrimRight(zone, "abcdefghijklmnopqrstuvwxyz") }

// EndpointName is RDS's DNS name of an endpoint: a DB instance's
// <id>.<hash>.<region>.rds.amazonaws.com, a cluster's writer
// <id>.cluster-<hash>... and reader <id>.cluster-ro-<hash>...
func EndpointName(kind, id, hash, region string) string {
	switch kind {
	case EndpointWriter:
		hash = "cluster-" + hash
	case EndpointReader:
		hash = "cluster-ro-" + hash
	}
	return strings.ToLower(id) + "." + hash + "." + region + ".rds.amazonaws.com"
}

// endpointPlan lays out the tier's endpoints: a DB instance's endpoint (a
// cluster's writer and reader endpoints instead), then one per read
// replica, each with the servers it forwards to.
type endpointSpec struct {
	kind, id string
	targets  []netip.AddrPort
}

func endpointPlan(d *stack.Database, servers []Server) []endpointSpec {
	var out []endpointSpec
	if d.Cluster {
		out = append(out, endpointSpec{EndpointWriter, d.Identifier, []netip.AddrPort{servers[0].AddrPort()}})
		var readers []netip.AddrPort
		for _, s := range servers {
			if s.Role == stack.RoleReader {
				readers = append(readers, s.AddrPort())
			}
		}
		out = append(out, endpointSpec{EndpointReader, d.Identifier, readers})
	} else {
		out = append(out, endpointSpec{EndpointInstance, d.Identifier, []netip.AddrPort{servers[0].AddrPort()}})
	}
	for _, s := range servers {
		if s.Role == stack.RoleReadReplica {
			out = append(out, endpointSpec{EndpointInstance, s.Identifier, []netip.AddrPort{s.AddrPort()}})
		}
	}
	return out
}

// openEndpoints opens the tier's endpoints on EndpointBase and the
// addresses after it, each on the database's port.
func (t *Tier) openEndpoints() error {
	d := t.opts.Database
	servers := t.Servers()
	hash, reg := endpointHash(t.opts.Seed), region(servers[0].Zone.Name)
	addr := t.opts.EndpointBase
	t.requests = make(chan request)
	for _, sp := range endpointPlan(d, servers) {
		e, err := listenEndpoint(EndpointName(sp.kind, sp.id, hash, reg), sp.kind, sp.id, netip.AddrPortFrom(addr, uint16(d.Port)), sp.targets)
		if err != nil {
			return err
		}
		t.mu.Lock()
		t.endpoints = append(t.endpoints, e)
		t.mu.Unlock()
		addr = addr.Next()
	}
	return nil
}

// Endpoints are the tier's endpoints: the writer (a DB instance's
// endpoint) first.
func (t *Tier) Endpoints() []*Endpoint {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.endpoints)
}

// WriterEndpoint is the DB instance's endpoint or the cluster's writer
// endpoint.
func (t *Tier) WriterEndpoint() *Endpoint { return t.Endpoints()[0] }

// ReaderEndpoint is the cluster's reader endpoint; nil for a DB instance.
func (t *Tier) ReaderEndpoint() *Endpoint {
	for _, e := range t.Endpoints() {
		if e.Kind == EndpointReader {
			return e
		}
	}
	return nil
}

// ReplicaEndpoint is the read replica's own endpoint, nil if it has none.
func (t *Tier) ReplicaEndpoint(identifier string) *Endpoint {
	for _, e := range t.Endpoints() {
		if e.Kind == EndpointInstance && e.For == identifier && identifier != t.opts.Database.Identifier {
			return e
		}
	}
	return nil
}

// EndpointURL is the connection URL through endpoint e (what instances are
// given): the endpoint's stable address, the master user, db_name.
func (t *Tier) EndpointURL(e *Endpoint) string {
	s := Server{Addr: e.Addr().Addr(), Port: int(e.Addr().Port())}
	return t.URL(s, "")
}
