package rds

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/simplydone/lab/stack"
)

// A read replica's promotion, as RDS's PromoteReadReplica does it: the
// replica stops replicating, reboots, and comes back as a standalone DB
// instance, writable, under its own identifier and at its own endpoint
// (its name and address unchanged). The source DB instance (and its
// Multi-AZ standby) is untouched: it keeps serving at its endpoint, and
// applications keep writing to it until the team points them at the
// promoted instance's endpoint (lab's repoint-database). Whatever the
// replica had not received from its source when it stopped is absent from
// it; whatever the source acknowledges after is absent too.
// https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReadRepl.Promote.html

// RoleStandalone is a read replica once promoted: a DB instance of its own
// that replicates from nothing. It takes no part in its former source's
// failovers, rebuilds or synchronous replication.
const RoleStandalone stack.DBRole = "standalone"

// RDS's words for the promotion's steps. RDS's event list has no event of
// its own for a promotion (the console shows the replica "modifying", then
// "rebooting"); the reboot is RDS-EVENT-0006, and the start and end are
// the lab's own words.
const (
	msgPromotionStarted = "Promoting the read replica to a standalone DB instance: replication stops and the DB instance reboots"
	msgRestarted        = "DB instance restarted" // RDS-EVENT-0006
	msgPromoted         = "Read replica promoted to a standalone DB instance at its own endpoint %s; source DB instance %s is untouched and keeps its endpoint: applications write there until they are pointed here"
)

// PromoteReadReplica is RDS's PromoteReadReplica: the read replica
// identifier becomes a standalone DB instance (RoleStandalone) at its own
// endpoint. It returns once the promoted instance accepts writes there. The
// source and its endpoint are left as they are.
func (t *Tier) PromoteReadReplica(ctx context.Context, identifier string) error {
	s, ok := t.server(identifier)
	if !ok {
		return fmt.Errorf("no DB instance %s", identifier)
	}
	if s.Role != stack.RoleReadReplica {
		return fmt.Errorf("DB instance %s is a %s, not a read replica: only a read replica can be promoted", identifier, s.Role)
	}
	return t.ask(ctx, request{target: identifier, reason: "PromoteReadReplica asked"})
}

// promoteReplica runs a promotion; only the monitor runs it (one at a time
// with failovers). The replica's own endpoint answers nothing while it
// reboots (its open connections break), then answers from it again.
func (t *Tier) promoteReplica(ctx context.Context, id, reason string, start time.Time) error {
	s, ok := t.server(id)
	if !ok {
		return fmt.Errorf("no DB instance %s", id)
	}
	if s.Role != stack.RoleReadReplica {
		return fmt.Errorf("DB instance %s is a %s, not a read replica: only a read replica can be promoted", id, s.Role)
	}
	source := s.Source
	if !alive(t.states(ctx), s) || !t.healthy(s.Zone.Name) {
		err := fmt.Errorf("read replica %s is not available (stopped, or its zone is down)", id)
		t.publish(RDSEvent{SourceType: "db-instance", SourceID: id, Category: "read replica", Zone: s.Zone.Name, Own: true,
			Text: "Promotion not possible: " + err.Error()})
		return err
	}
	at := func() float64 { return t.opts.Clock.Now().Sub(start).Seconds() }
	step := func(name, detail string) {
		t.publish(FailoverStep{DB: id, Step: name, Server: id, Zone: s.Zone.Name, Detail: detail, At: at(), Promotion: true})
	}
	t.publish(RDSEvent{SourceType: "db-instance", SourceID: id, Category: "read replica", Zone: s.Zone.Name, Own: true, Text: msgPromotionStarted})
	step(StepDetected, reason+": read replica promotion (its source "+source+" is untouched)")

	// The reboot: its endpoint answers nothing until it is back, and the
	// connections open through it break.
	e := t.ReplicaEndpoint(id)
	broken := 0
	if e != nil {
		broken = e.Move()
	}
	back := func() {
		if e != nil {
			e.Move(s.AddrPort())
		}
	}
	// The reboot ends every session on the server too, those of clients
	// that reached it by the address its endpoint's name answers.
	n, err := t.endSessions(ctx, s)
	if err != nil {
		t.opts.Logger.Warn("promoted read replica: end its sessions", "db", id, "err", err)
	}
	broken += n
	// Replication stops: the WAL receiver is cut off, always (a replica-lag
	// has cut it off already, but its resume may run at any moment): from
	// here a replica-lag's resume leaves it alone (promoting), and one that
	// began before has streamed from the source and is cut again here.
	t.resumeMu.Lock()
	t.mu.Lock()
	t.promoting = id
	t.mu.Unlock()
	t.resumeMu.Unlock()
	defer func() {
		t.mu.Lock()
		t.promoting = ""
		t.mu.Unlock()
	}()
	if err := t.setConninfo(ctx, s, ""); err != nil {
		back()
		return t.promotionFailed(s, step, fmt.Errorf("stop replication: %w", err))
	}
	conns := t.newFailoverConns()
	defer conns.close()
	late := ""
	if sent, err := t.promote(ctx, conns, s); err != nil {
		if !sent || !t.becomesWriter(ctx, s, promotionSettle) {
			// Still a replica (or unknown): a promotion signalled but not
			// yet taken is withdrawn (PostgreSQL promotes on its trigger
			// file, pgdata/promote, and only while it is there), and it
			// streams again from its source, unless a replica-lag holds
			// it; its endpoint answers again.
			if sent {
				if rerr := os.Remove(filepath.Join(pgdata(s), "promote")); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
					err = errors.Join(err, fmt.Errorf("withdraw the promotion: %w", rerr))
				}
			}
			t.refollow(ctx, s)
			back()
			return t.promotionFailed(s, step, err)
		}
		// pg_promote() went out and the server answers as a writer after
		// all (the poll's connection broke, or it ended recovery late):
		// the promotion is done, and is finished as one.
		late = fmt.Sprintf(" (late: %v)", err)
	}
	step(StepPromoted, fmt.Sprintf("pg_promote(): it ends recovery on a timeline of its own; what %s had not sent it is not there%s", source, late))
	// A promoted server keeps what its base backup copied of the source's
	// postgresql.auto.conf: no commit of its own may wait for a standby it
	// will never have.
	if err := t.alterSystem(ctx, s, "synchronous_standby_names", ""); err != nil {
		t.opts.Logger.Warn("promoted read replica: synchronous_standby_names", "db", id, "err", err)
	}
	t.mu.Lock()
	for i := range t.servers {
		if t.servers[i].Identifier == id {
			t.servers[i].Role, t.servers[i].Source = RoleStandalone, ""
		}
	}
	delete(t.paused, id) // a replica-lag's resume finds it promoted: nothing to resume
	t.mu.Unlock()
	t.refreshSync(ctx) // its source no longer streams to it
	t.publish(RDSEvent{SourceType: "db-instance", SourceID: id, EventID: "RDS-EVENT-0006", Category: "availability", Zone: s.Zone.Name, Text: msgRestarted})
	back()
	name := s.AddrPort().String()
	if e != nil {
		name = e.Name
		step(StepMoved, fmt.Sprintf("%s answers again from %s, now a standalone DB instance (writable); %d connection(s) broken by its reboot", e.Name, s.AddrPort(), broken))
	} else {
		step(StepMoved, "a standalone DB instance (writable) at "+name)
	}
	t.publish(RDSEvent{SourceType: "db-instance", SourceID: id, Category: "read replica", Zone: s.Zone.Name, Own: true,
		Text: fmt.Sprintf(msgPromoted, name, source)})
	return nil
}

// promotionSettle is how long (wall time) a promotion whose pg_promote()
// went out but was not seen to end recovery waits for the server to answer
// as a writer before it is withdrawn.
var promotionSettle = 5 * time.Second

// becomesWriter polls s until it answers as a writer (true) or wait (wall
// time) passes.
func (t *Tier) becomesWriter(ctx context.Context, s Server, wait time.Duration) bool {
	deadline := time.Now().Add(wait)
	for {
		if t.isWriter(ctx, s) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.stop:
			return false
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// refollow points the read replica s at its source's primary again after a
// promotion that did not happen, unless a replica-lag holds it (follow) or
// it answers as a writer.
func (t *Tier) refollow(ctx context.Context, s Server) {
	if t.isWriter(ctx, s) {
		return
	}
	if err := t.follow(ctx, s, t.Primary()); err != nil {
		t.opts.Logger.Warn("read replica not promoted: stream from its source again", "db", s.Identifier, "err", err)
	}
}

// promotionFailed says a promotion failed, in the lab's words (RDS lists
// no event for it), and ends its span.
func (t *Tier) promotionFailed(s Server, step func(string, string), err error) error {
	t.publish(RDSEvent{SourceType: "db-instance", SourceID: s.Identifier, Category: "read replica", Zone: s.Zone.Name, Own: true,
		Text: "Promotion of the read replica failed: " + err.Error()})
	step(StepFailed, err.Error())
	return fmt.Errorf("promote read replica %s: %w", s.Identifier, err)
}

// endSessions ends every client session on s but the lab's own (its
// monitor's), as a reboot does, and says how many it ended.
func (t *Tier) endSessions(ctx context.Context, s Server) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := t.Connect(ctx, s)
	if err != nil {
		return 0, err
	}
	defer c.Close(context.WithoutCancel(ctx))
	var n int
	err = c.QueryRow(ctx, `SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND application_name <> $1) AS ended`, MonitorApplicationName).Scan(&n)
	return n, err
}
