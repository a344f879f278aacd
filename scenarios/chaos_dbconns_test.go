package scenarios

import (
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/chaos"
)

// TestDBConnectionsAction: db-connections parses with its connections and
// db_instance and reaches chaos whole; each misuse, against the action or
// against the stack's database, is an error at its position with what is
// allowed.
func TestDBConnectionsAction(t *testing.T) {
	head := func(st string) string {
		return "name: s\nstack: " + st + "\nload:\n  phases: [{duration: 10m, rate: 1}]\nslos: [success_rate >= 99%]\nchaos:\n"
	}
	s, err := Parse("s.yaml", []byte(head("read-replicas")+
		"  - {at: 1m, action: db-connections, connections: 100, duration: 3m}\n"+
		"  - {at: 5m, action: db-connections, connections: 109, duration: 1m, db_instance: replica}\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := s.ChaosActions()
	if got[0].Kind != chaos.DBConnections || got[0].Connections != 100 || got[0].Duration != 3*time.Minute || got[0].DBInstance != "" ||
		got[1].Connections != 109 || got[1].DBInstance != chaos.DBReplica {
		t.Fatalf("actions: %+v", got)
	}
	cases := []struct{ name, stack, action, want string }{
		{"no connections", "multi-az", "{at: 1m, action: db-connections, duration: 1m}",
			`s.yaml:7:5: chaos[0].connections: missing; db-connections needs how many connections the leaky client holds, such as 100`},
		{"no duration", "multi-az", "{at: 1m, action: db-connections, connections: 5}",
			`s.yaml:7:5: chaos[0].duration: missing; db-connections needs how long the leaky client holds its connections, such as 3m`},
		{"zero", "multi-az", "{at: 1m, action: db-connections, connections: 0, duration: 1m}",
			`s.yaml:7:51: chaos[0].connections: 0 is not allowed; give how many connections the leaky client holds, 1 or more`},
		{"more than max_connections", "multi-az", "{at: 1m, action: db-connections, connections: 500, duration: 1m}",
			`s.yaml:7:51: chaos[0].connections: 500 is more than a client without SUPERUSER can hold on DB instance multi-az-db: its max_connections is 112 (db.t3.micro), 3 of them reserved for superusers (superuser_reserved_connections); give 1 to 109`},
		{"into the reserved slots", "multi-az", "{at: 1m, action: db-connections, connections: 110, duration: 1m}",
			`s.yaml:7:51: chaos[0].connections: 110 is more than a client without SUPERUSER can hold on DB instance multi-az-db`},
		{"on the standby", "multi-az", "{at: 1m, action: db-connections, connections: 5, duration: 1m, db_instance: multi-az-db-standby}",
			`s.yaml:7:81: chaos[0].db_instance: "multi-az-db-standby" is a Multi-AZ standby, which serves no connections (as on RDS); use primary, replica or one of multi-az-db`},
		{"no replica", "multi-az", "{at: 1m, action: db-connections, connections: 5, duration: 1m, db_instance: replica}",
			`s.yaml:7:81: chaos[0].db_instance: replica is not allowed: the database has no read replica or reader; use primary or multi-az-db`},
		{"unknown instance", "read-replicas", "{at: 1m, action: db-connections, connections: 5, duration: 1m, db_instance: nope}",
			`s.yaml:7:81: chaos[0].db_instance: "nope" is not a DB instance of the stack; use primary, replica or one of read-replicas-db, read-replicas-db-replica-1`},
		{"no database", "simplydone", "{at: 1m, action: db-connections, connections: 5, duration: 1m}",
			`s.yaml:7:22: chaos[0].action: db-connections is not allowed on stack simplydone: it has no database section`},
		{"connections elsewhere", "multi-az", "{at: 1m, action: kill-db, connections: 5}",
			`s.yaml:7:44: chaos[0].connections: not allowed with kill-db; only db-connections takes connections`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(head(c.stack)+"  - "+c.action+"\n"))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("errors:\n%v\nwant:\n%s", err, c.want)
			}
		})
	}
}
