package scenarios

import (
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/chaos"
)

// TestDBChaosActions: the data tier's actions parse with their db_instance
// and reach chaos whole; each misuse is an error at its position with what
// is allowed.
func TestDBChaosActions(t *testing.T) {
	const head = "name: s\nstack: simplydone\nload:\n  phases: [{duration: 10m, rate: 1}]\nslos: [success_rate >= 99%]\nchaos:\n"
	s, err := Parse("s.yaml", []byte(head+
		"  - {at: 1m, action: db-failover}\n"+
		"  - {at: 2m, action: kill-db, db_instance: replica}\n"+
		"  - {at: 3m, action: replica-lag, duration: 2m, db_instance: shop-replica-1}\n"+
		"  - {at: 6m, action: db-failover, db_instance: shop-replica-1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := s.ChaosActions()
	if got[0].Kind != chaos.DBFailover || got[0].DBInstance != "" || got[1].DBInstance != chaos.DBReplica ||
		got[2].Duration != 2*time.Minute || got[2].DBInstance != "shop-replica-1" || got[3].DBInstance != "shop-replica-1" {
		t.Fatalf("actions: %+v", got)
	}
	cases := []struct{ name, action, want string }{
		{"kill-db with duration", "{at: 1m, action: kill-db, duration: 1m}",
			`s.yaml:7:41: chaos[0].duration: not allowed with kill-db: it is over once done (RDS fails over or recovers the DB instance in its own time); remove it`},
		{"replica-lag without duration", "{at: 1m, action: replica-lag}",
			`s.yaml:7:5: chaos[0].duration: missing; replica-lag needs how long the replica's replication stays paused, such as 3m`},
		{"replica-lag on the primary", "{at: 1m, action: replica-lag, duration: 1m, db_instance: primary}",
			`s.yaml:7:62: chaos[0].db_instance: primary is not allowed with replica-lag: the primary replays nothing; use replica or a replica's identifier`},
		{"db_instance elsewhere", "{at: 1m, action: kill-instance, db_instance: primary}",
			`s.yaml:7:50: chaos[0].db_instance: not allowed with kill-instance; only db-failover, kill-db, replica-lag, db-connections, repoint-database take it`},
		{"db-failover with zone", "{at: 1m, action: db-failover, zone: us-east-1a}",
			`s.yaml:7:41: chaos[0].zone: not allowed with db-failover; it names its DB instance with db_instance (az-outage takes a zone's DB instances down)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(head+"  - "+c.action+"\n"))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("errors:\n%v\nwant:\n%s", err, c.want)
			}
		})
	}
}
