package rds

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/stack"
)

func parseDB(t *testing.T, db string) *stack.Database {
	t.Helper()
	s, err := stack.Parse("s.yaml", []byte("name: web\ntarget_group: {port: 8080}\nlaunch_template: {command: [app]}\nauto_scaling_group: {min_size: 1, max_size: 3}\ndatabase:\n"+db))
	if err != nil {
		t.Fatal(err)
	}
	return s.Database
}

func zones(t *testing.T) []az.Zone {
	zs, err := az.NewZones([]string{"us-east-1a", "us-east-1b", "us-east-1c"})
	if err != nil {
		t.Fatal(err)
	}
	return zs
}

// TestPlan lays a Multi-AZ instance and two replicas on the address plan:
// each zone's servers from .200, the replicas' max_connections raised to
// the primary's where their class is smaller.
func TestPlan(t *testing.T) {
	d := parseDB(t, `  engine: postgres
  db_instance_class: db.m5.large
  multi_az: true
  read_replicas:
    - {availability_zone: us-east-1a, db_instance_class: db.t3.micro}
    - {availability_zone: us-east-1c}
`)
	got, err := Plan(d, zones(t), "/run/rds")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id, addr string
		role     stack.DBRole
		conns    int
	}{
		{"web-db", "127.0.1.200:5432", stack.RolePrimary, 901},
		{"web-db-standby", "127.0.2.200:5432", stack.RoleStandby, 901},
		{"web-db-replica-1", "127.0.1.201:5432", stack.RoleReadReplica, 901},
		{"web-db-replica-2", "127.0.3.200:5432", stack.RoleReadReplica, 901},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d servers", len(got))
	}
	for i, w := range want {
		g := got[i]
		if g.Identifier != w.id || g.AddrPort() != netip.MustParseAddrPort(w.addr) || g.Role != w.role || g.MaxConnections != w.conns ||
			g.ID != az.InstanceID("db-"+w.id) || g.DataDir != "/run/rds/"+w.id {
			t.Errorf("server %d: %+v, want %+v", i, g, w)
		}
	}
	if got[2].Class.Name != "db.t3.micro" || got[2].Source != "web-db" || got[0].Source != "" {
		t.Errorf("replica class/source: %+v", got[2])
	}
}

// TestSettings: the primary names its synchronous standbys as RDS
// replicates: a Multi-AZ instance's standby by name, a cluster's readers
// as a quorum of one; replicas are asynchronous.
func TestSettings(t *testing.T) {
	opt := func(args []string, key string) (string, bool) {
		for i := 0; i+1 < len(args); i += 2 {
			if k, v, _ := strings.Cut(args[i+1], "="); args[i] == "-c" && k == key {
				return v, true
			}
		}
		return "", false
	}
	cases := []struct{ db, want string }{
		{"  engine: postgres\n  db_instance_class: db.t3.micro\n  multi_az: true\n  read_replicas: [{}]\n", `"web-db-standby"`},
		{"  engine: postgres\n  db_cluster_instance_class: db.m5d.large\n  storage_type: gp3\n", `ANY 1 ("web-db-reader-1", "web-db-reader-2")`},
		{"  engine: postgres\n  db_instance_class: db.t3.micro\n  read_replicas: [{}]\n", ``},
	}
	for _, c := range cases {
		servers, err := Plan(parseDB(t, c.db), zones(t), "/d")
		if err != nil {
			t.Fatal(err)
		}
		args := settings(servers[0], servers)
		// Set by ALTER SYSTEM once the standbys stream, so that a failover
		// can change it: never on the command line, which would override it.
		if got := synchronousStandbyNames(servers); got != c.want {
			t.Errorf("%s: synchronous_standby_names = %q, want %q", c.db, got, c.want)
		}
		if _, ok := opt(args, "synchronous_standby_names"); ok {
			t.Errorf("%s: synchronous_standby_names on the primary's command line", c.db)
		}
		if got, _ := opt(args, "listen_addresses"); got != "127.0.1.200" {
			t.Errorf("listen_addresses = %q", got)
		}
		if got, _ := opt(args, "shared_buffers"); got != strconv.Itoa(servers[0].Class.MemoryGiB*32)+"MB" {
			t.Errorf("shared_buffers = %q", got)
		}
		// A hot standby refuses fewer WAL senders than its primary: the
		// figure must not depend on how many servers the tier had when
		// each was started.
		a, _ := opt(args, "max_wal_senders")
		if b, _ := opt(settings(servers[1], servers[:2]), "max_wal_senders"); a != b || a == "" {
			t.Errorf("max_wal_senders %q with %d servers, %q with 2", a, len(servers), b)
		}
		if _, ok := opt(settings(servers[1], servers), "synchronous_standby_names"); ok {
			t.Errorf("a standby names synchronous standbys")
		}
		sp := spec(servers[1], servers, Install{BinDir: "/pg/bin"}, "u", "secret")
		if sp.Env["LAB_DB_SOURCE"] != "127.0.1.200" || sp.Env["LAB_PG_BIN"] != "/pg/bin" || sp.Type.CPU != servers[1].Class.CPU ||
			slices.ContainsFunc(sp.Command, func(a string) bool { return strings.Contains(a, "secret") }) {
			t.Errorf("spec: %+v", sp)
		}
	}
}

func TestParseVersion(t *testing.T) {
	v, major, err := parseVersion("postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)\n")
	if err != nil || major != 15 || v != "15.14 (Debian 15.14-0+deb12u1)" {
		t.Fatalf("got %q %d %v", v, major, err)
	}
	if _, _, err := parseVersion("bash: postgres: command not found"); err == nil {
		t.Fatal("want an error")
	}
}

// PostgreSQL's wal_retrieve_retry_interval (5 s) is AWS time: it runs at
// the run's speed, never under PostgreSQL's 1 ms.
func TestTimerSettingsRunAtTheSpeed(t *testing.T) {
	for speed, want := range map[float64]string{1: "5000ms", 20: "250ms", 60: "83ms", 10000: "1ms", 0: "5000ms"} {
		if got := timerSettings(speed); len(got) != 2 || got[0] != "-c" || got[1] != "wal_retrieve_retry_interval="+want {
			t.Errorf("speed %g: %q, want wal_retrieve_retry_interval=%s", speed, got, want)
		}
	}
}
