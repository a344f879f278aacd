package chaos

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
)

// The data tier's faults, through the lab's Database hook (sim/rds).
//
//   - db-failover is RebootDBInstance with ForceFailover (FailoverDBCluster
//     for a cluster): over once the endpoint has moved; nothing to revert.
//     On a read replica (db_instance naming one) it is PromoteReadReplica:
//     the replica becomes a standalone DB instance at its own endpoint,
//     without what it had not received; the source keeps its endpoint, and
//     the application writes there until it is repointed.
//   - repoint-database is the team's part after a promotion: a redeploy
//     (a launch template version whose DATABASE_URL is the promoted
//     instance's endpoint, and an instance refresh to it); over once the
//     refresh has started (the group carries it out); not undone.
//   - kill-db kills a DB instance's server, as a host failure: RDS's own
//     recovery (the failover of a lost primary, a standby or replica
//     recovered in place) is what follows; nothing to revert.
//   - replica-lag pauses a replica's replication for its duration; the
//     revert resumes it.

var errNoDatabase = errors.New("this lab has no database")

func planDBFailover(h hooks, a Action, _ *rand.Rand) (plan, error) {
	if h.db == nil {
		return plan{}, errNoDatabase
	}
	which := cmp.Or(a.DBInstance, DBPrimary)
	detail := "reboot with failover: the primary is fenced, its standby promoted, the endpoint moved"
	if which != DBPrimary {
		name := "DB instance " + which
		if which == DBReplica {
			name = "a read replica"
		}
		detail = name + " promoted (PromoteReadReplica): a standalone DB instance at its own endpoint, without what it had not received; " +
			"the source keeps its endpoint, and the application writes there until it is repointed"
	}
	rec := FaultInjected{By: a.By, Action: a.Kind, Detail: detail}
	return one("", 0, rec, &dbFailover{db: h.db, which: which}), nil
}

type dbFailover struct {
	db    Database
	which string
	did   string
}

func (f *dbFailover) apply(ctx context.Context, _ self) error {
	id, err := f.db.Failover(ctx, f.which)
	if err != nil {
		return fmt.Errorf("fail over: %w", err)
	}
	f.did = id
	return nil
}

func (f *dbFailover) verify(context.Context) (string, error) {
	if f.which != DBPrimary {
		return f.did + " is a standalone DB instance, writable at its own endpoint", nil
	}
	return f.did + " is the writer now", nil
}

func (*dbFailover) revert(context.Context) (string, error) { return "", nil }

func (f *dbFailover) over() string {
	if f.which != DBPrimary {
		return "a promotion is not undone; the promoted instance stays a standalone DB instance (a new read replica would be made from it)"
	}
	return "a failover is not undone; the new primary stays (RDS rebuilds a standby)"
}

var errNoRepointer = errors.New("this lab cannot redeploy its instances with another database endpoint for repoint-database")

func planRepointDatabase(h hooks, a Action, _ *rand.Rand) (plan, error) {
	if h.db == nil {
		return plan{}, errNoDatabase
	}
	r, ok := h.db.(Repointer)
	if !ok {
		return plan{}, errNoRepointer
	}
	which := cmp.Or(a.DBInstance, DBReplica)
	rec := FaultInjected{By: a.By, Action: a.Kind,
		Detail: "the team redeploys pointing the application at " + which + ": a launch template version with its endpoint in DATABASE_URL, and an instance refresh to it"}
	return one("", 0, rec, &repointDatabase{db: r, which: which}), nil
}

type repointDatabase struct {
	db    Repointer
	which string
	did   Repointed
}

func (r *repointDatabase) apply(ctx context.Context, _ self) error {
	did, err := r.db.Repoint(ctx, r.which)
	if err != nil {
		return fmt.Errorf("repoint the application's database: %w", err)
	}
	r.did = did
	return nil
}

func (r *repointDatabase) verify(context.Context) (string, error) {
	s := fmt.Sprintf("launch template version %d points at %s (%s); instance refresh %s replaces the instances", r.did.Version,
		r.did.Identifier, r.did.Endpoint, r.did.RefreshID)
	if len(r.did.Refused) > 0 {
		s += "; refused, so left on their database: " + strings.Join(r.did.Refused, "; ")
	}
	return s, nil
}

func (*repointDatabase) revert(context.Context) (string, error) { return "", nil }

func (*repointDatabase) over() string {
	return "a redeploy is not undone: the instance refresh goes on, and the application stays on its new database"
}

func planKillDB(h hooks, a Action, _ *rand.Rand) (plan, error) {
	if h.db == nil {
		return plan{}, errNoDatabase
	}
	which := cmp.Or(a.DBInstance, DBPrimary)
	rec := FaultInjected{By: a.By, Action: a.Kind, Detail: "DB instance " + which + "'s server killed, as its host failing would"}
	return one("", 0, rec, &killDB{db: h.db, which: which}), nil
}

type killDB struct {
	db    Database
	which string
	did   string
}

func (k *killDB) apply(ctx context.Context, _ self) error {
	id, err := k.db.Kill(ctx, k.which)
	if err != nil {
		return fmt.Errorf("kill DB instance: %w", err)
	}
	k.did = id
	return nil
}

func (k *killDB) verify(context.Context) (string, error) { return k.did + " killed", nil }
func (*killDB) revert(context.Context) (string, error)   { return "", nil }

func (*killDB) over() string {
	return "a killed DB instance is RDS's to recover: a primary fails over, a standby or replica is restarted"
}

func planReplicaLag(h hooks, a Action, _ *rand.Rand) (plan, error) {
	if h.db == nil {
		return plan{}, errNoDatabase
	}
	which := cmp.Or(a.DBInstance, DBReplica)
	rec := FaultInjected{By: a.By, Action: a.Kind, Duration: a.Duration.String(),
		Detail: "replication to " + which + " paused: its WAL receiver is cut off and replay paused, so ReplicaLag grows"}
	return one("", 0, rec, &replicaLag{db: h.db, which: which}), nil
}

type replicaLag struct {
	db     Database
	which  string
	did    string
	resume func(context.Context) (string, error)
}

func (r *replicaLag) apply(ctx context.Context, _ self) error {
	id, resume, err := r.db.PauseReplication(ctx, r.which)
	if err != nil {
		return fmt.Errorf("pause replication: %w", err)
	}
	r.did, r.resume = id, resume
	return nil
}

func (r *replicaLag) verify(context.Context) (string, error) {
	return r.did + " receives and replays nothing", nil
}

func (r *replicaLag) revert(ctx context.Context) (string, error) {
	if r.resume == nil {
		return "", nil
	}
	return r.resume(ctx)
}

// dbZoneDown is az-outage's database part: the zone's DB instances go
// down with it (their hosts lose power), and the tier recovers nothing
// there until the zone is back; a primary there fails over. Left out (in
// part) when no DB instance is in the zone.
type dbZoneDown struct {
	db      Database
	zone    string
	restore func()
}

func (p *dbZoneDown) apply(ctx context.Context, s self) error {
	killed, restore, err := p.db.ZoneDown(ctx, p.zone)
	if err != nil {
		if restore != nil {
			restore()
		}
		return actedError{fmt.Errorf("take %s's DB instances down: %w", p.zone, err)}
	}
	if len(killed) == 0 {
		restore() // left out: its revert does not run
		return inPart("no DB instance is in " + p.zone)
	}
	p.restore = restore
	s.progress("DB instance(s) " + strings.Join(killed, ", ") + " in " + p.zone + " lost power")
	return nil
}

func (p *dbZoneDown) verify(context.Context) (string, error) { return "", nil }

func (p *dbZoneDown) revert(context.Context) (string, error) {
	if p.restore == nil {
		return "", nil
	}
	p.restore()
	return p.zone + "'s DB instances may be recovered again", nil
}
