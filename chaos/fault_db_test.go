package chaos

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

// fakeDB is a data tier that records what it is asked.
type fakeDB struct {
	log      []string
	paused   bool
	zoneDown map[string]bool
	inZone   map[string][]string
}

func (f *fakeDB) Failover(_ context.Context, which string) (string, error) {
	f.log = append(f.log, "failover "+which)
	if which == DBPrimary {
		return "db-standby", nil
	}
	return which, nil
}

func (f *fakeDB) Kill(_ context.Context, which string) (string, error) {
	f.log = append(f.log, "kill "+which)
	return "db", nil
}

func (f *fakeDB) PauseReplication(_ context.Context, which string) (string, func(context.Context) (string, error), error) {
	if which == DBPrimary {
		return "", nil, errors.New("the primary replays nothing")
	}
	f.paused = true
	f.log = append(f.log, "pause "+which)
	return "db-replica-1", func(context.Context) (string, error) {
		f.paused = false
		f.log = append(f.log, "resume")
		return "db-replica-1 streams again", nil
	}, nil
}

func (f *fakeDB) ZoneDown(_ context.Context, zone string) ([]string, func(), error) {
	if f.zoneDown == nil {
		f.zoneDown = map[string]bool{}
	}
	f.zoneDown[zone] = true
	return f.inZone[zone], func() { delete(f.zoneDown, zone) }, nil
}

// TestDBFaults: each data-tier fault acts on the DB instance asked (the
// kind's default when none is), the one-shot ones have nothing to revert,
// and replica-lag's revert resumes the replication it paused.
func TestDBFaults(t *testing.T) {
	ctx := context.Background()
	db := &fakeDB{}
	h := hooks{db: db}
	run := func(a Action) fault {
		t.Helper()
		p, err := plans[a.Kind](h, a, nil)
		if err != nil {
			t.Fatal(err)
		}
		f := p.faults[0].fault
		if err := f.apply(ctx, self{progress: func(string) {}}); err != nil {
			t.Fatal(err)
		}
		return f
	}
	f := run(Action{Kind: DBFailover})
	if seen, _ := f.verify(ctx); seen != "db-standby is the writer now" {
		t.Fatalf("db-failover: %q", seen)
	}
	if _, ok := f.(oneShot); !ok {
		t.Fatal("db-failover is not over once applied")
	}
	pr := run(Action{Kind: DBFailover, DBInstance: "db-replica-1"})
	if seen, _ := pr.verify(ctx); seen != "db-replica-1 is a standalone DB instance, writable at its own endpoint" {
		t.Fatalf("db-failover on a read replica (its promotion): %q", seen)
	}
	k := run(Action{Kind: KillDB})
	if _, ok := k.(oneShot); !ok {
		t.Fatal("kill-db is not over once applied")
	}
	r := run(Action{Kind: ReplicaLag, Duration: 1})
	if !db.paused {
		t.Fatal("replication not paused")
	}
	if note, err := r.revert(ctx); err != nil || note != "db-replica-1 streams again" || db.paused {
		t.Fatalf("revert: %q %v, paused %v", note, err, db.paused)
	}
	want := []string{"failover primary", "failover db-replica-1", "kill primary", "pause replica", "resume"}
	if !slices.Equal(db.log, want) {
		t.Fatalf("asked %q, want %q", db.log, want)
	}
	if _, err := planKillDB(hooks{}, Action{Kind: KillDB}, nil); err == nil {
		t.Fatal("kill-db planned in a lab with no database")
	}
	p, _ := planReplicaLag(h, Action{Kind: ReplicaLag, DBInstance: DBPrimary}, nil)
	if err := p.faults[0].fault.apply(ctx, self{}); err == nil {
		t.Fatal("replica-lag applied to the primary")
	}
}

// TestDBZoneDown: az-outage's database part takes the zone's DB instances
// down and its revert lets the tier recover them; with none in the zone it
// is left out in part and the zone is not held.
func TestDBZoneDown(t *testing.T) {
	ctx := context.Background()
	db := &fakeDB{inZone: map[string][]string{"us-east-1a": {"db"}}}
	var seen []string
	p := &dbZoneDown{db: db, zone: "us-east-1a"}
	if err := p.apply(ctx, self{progress: func(s string) { seen = append(seen, s) }}); err != nil {
		t.Fatal(err)
	}
	if !db.zoneDown["us-east-1a"] || len(seen) != 1 {
		t.Fatalf("zone down %v, progress %q", db.zoneDown, seen)
	}
	if _, err := p.revert(ctx); err != nil || db.zoneDown["us-east-1a"] {
		t.Fatalf("revert: %v, zone still down %v", err, db.zoneDown)
	}
	q := &dbZoneDown{db: db, zone: "us-east-1b"}
	var part *partial
	if err := q.apply(ctx, self{}); !errors.As(err, &part) || db.zoneDown["us-east-1b"] {
		t.Fatalf("no DB instance in the zone: %v, zone held %v", err, db.zoneDown)
	}
}

// repointDB is a data tier that can redeploy the application onto another
// DB instance (repoint-database).
type repointDB struct {
	fakeDB
	asked   []string
	err     error
	refused []string
}

func (r *repointDB) Repoint(_ context.Context, which string) (Repointed, error) {
	r.asked = append(r.asked, which)
	if r.err != nil {
		return Repointed{}, r.err
	}
	return Repointed{Identifier: "db-replica-1", Endpoint: "db-replica-1.x.us-east-1.rds.amazonaws.com", Version: 2, RefreshID: "r-1", Refused: r.refused}, nil
}

// TestRepointDatabase: repoint-database asks the data tier to point the
// application at the promoted replica (its default) or the instance named,
// says which version and refresh did it, is over once applied and has
// nothing to revert; a lab that cannot redeploy, or a refusal, is an error.
func TestRepointDatabase(t *testing.T) {
	ctx := context.Background()
	db := &repointDB{}
	for _, which := range []string{"", "db-replica-1"} {
		p, err := planRepointDatabase(hooks{db: db}, Action{Kind: RepointDatabase, DBInstance: which}, nil)
		if err != nil {
			t.Fatal(err)
		}
		f := p.faults[0].fault
		if err := f.apply(ctx, self{progress: func(string) {}}); err != nil {
			t.Fatal(err)
		}
		if seen, err := f.verify(ctx); err != nil || seen != "launch template version 2 points at db-replica-1 (db-replica-1.x.us-east-1.rds.amazonaws.com); instance refresh r-1 replaces the instances" {
			t.Fatalf("verify: %q %v", seen, err)
		}
		if _, ok := f.(oneShot); !ok {
			t.Fatal("repoint-database is not over once applied")
		}
		if note, err := f.revert(ctx); note != "" || err != nil {
			t.Fatalf("revert: %q %v", note, err)
		}
	}
	if !slices.Equal(db.asked, []string{DBReplica, "db-replica-1"}) {
		t.Fatalf("asked %q", db.asked)
	}
	if _, err := planRepointDatabase(hooks{db: &fakeDB{}}, Action{Kind: RepointDatabase}, nil); !errors.Is(err, errNoRepointer) {
		t.Fatalf("a lab that cannot redeploy: %v", err)
	}
	if _, err := planRepointDatabase(hooks{}, Action{Kind: RepointDatabase}, nil); !errors.Is(err, errNoDatabase) {
		t.Fatalf("a lab with no database: %v", err)
	}
	// a repoint started for some groups and refused for another is applied,
	// the refusal named
	db.refused = []string{"service api, launch template version 3: an instance refresh is in progress"}
	p, _ := planRepointDatabase(hooks{db: db}, Action{Kind: RepointDatabase}, nil)
	if err := p.faults[0].fault.apply(ctx, self{}); err != nil {
		t.Fatal(err)
	}
	if seen, _ := p.faults[0].fault.verify(ctx); !strings.HasSuffix(seen, "; refused, so left on their database: service api, launch template version 3: an instance refresh is in progress") {
		t.Fatalf("a partial repoint: %q", seen)
	}
	db.err = errors.New("read replica db-replica-1 is not promoted")
	p, _ = planRepointDatabase(hooks{db: db}, Action{Kind: RepointDatabase}, nil)
	if err := p.faults[0].fault.apply(ctx, self{}); err == nil {
		t.Fatal("a refused repoint applied")
	}
}
