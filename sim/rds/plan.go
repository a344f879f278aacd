package rds

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strconv"
	"time"

	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/stack"
)

// The data tier's part of each zone's /24 (DESIGN's address plan):
// instances keep .10-.199, database servers take .200-.249 in the order
// the tier starts them, the same port on each.
const (
	FirstDBHost = 200
	LastDBHost  = 249
)

// Server is one PostgreSQL server of the tier: a DB instance of the stack.
type Server struct {
	Identifier string
	Role       stack.DBRole
	Zone       az.Zone
	Addr       netip.Addr
	Port       int
	Class      az.DBInstanceClass
	ID         az.InstanceID // the runtime's name for it: "db-<identifier>"
	DataDir    string        // <dir>/<identifier>; PostgreSQL's own is its pgdata
	Source     string        // the identifier it streams from; "" for the primary
	// MaxConnections is max_connections: RDS's formula for the class, and
	// never below the source's (a hot standby refuses a lower setting).
	MaxConnections int
}

// AddrPort is where the server listens.
func (s Server) AddrPort() netip.AddrPort { return netip.AddrPortFrom(s.Addr, uint16(s.Port)) }

// Plan lays out the tier's servers for d: their zones (stack.Instances),
// addresses, classes and data directories under dir.
func Plan(d *stack.Database, zones []az.Zone, dir string) ([]Server, error) {
	byName := map[string]az.Zone{}
	for _, z := range zones {
		byName[z.Name] = z
	}
	used := map[string]int{}
	var out []Server
	for _, in := range d.Instances() {
		z, ok := byName[in.Zone]
		if !ok {
			return nil, fmt.Errorf("DB instance %s: zone %s is not one of the stack's", in.Identifier, in.Zone)
		}
		host := FirstDBHost + used[z.Name]
		if host > LastDBHost {
			return nil, fmt.Errorf("DB instance %s: zone %s has no free database address (%d-%d)", in.Identifier, z.Name, FirstDBHost, LastDBHost)
		}
		used[z.Name]++
		class, ok := az.LookupDBInstanceClass(in.Class)
		if !ok {
			return nil, fmt.Errorf("DB instance %s: class %q unknown", in.Identifier, in.Class)
		}
		a := z.Subnet.Addr().As4()
		a[3] = byte(host)
		s := Server{Identifier: in.Identifier, Role: in.Role, Zone: z, Addr: netip.AddrFrom4(a), Port: d.Port,
			Class: class, ID: az.InstanceID("db-" + in.Identifier), DataDir: filepath.Join(dir, in.Identifier),
			MaxConnections: class.MaxConnections()}
		if in.Role != stack.RolePrimary {
			s.Source = d.Identifier
			s.MaxConnections = max(s.MaxConnections, out[0].MaxConnections)
		}
		out = append(out, s)
	}
	return out, nil
}

// synchronousStandbyNames is the primary's synchronous_standby_names: a
// Multi-AZ DB instance's standby by name (every commit waits for it); a
// cluster's two readers as a quorum of one, as RDS acknowledges a commit
// once one reader has it; "" (asynchronous) otherwise.
func synchronousStandbyNames(servers []Server) string {
	var names []string
	cluster := false
	for _, s := range servers {
		switch s.Role {
		case stack.RoleStandby:
			names = append(names, strconv.Quote(s.Identifier))
		case stack.RoleReader:
			names, cluster = append(names, strconv.Quote(s.Identifier)), true
		}
	}
	switch {
	case len(names) == 0:
		return ""
	case cluster:
		return "ANY 1 (" + join(names) + ")"
	}
	return names[0]
}

func join(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += ", "
		}
		out += s
	}
	return out
}

// walSenders is every server's max_wal_senders (and replication slots): the
// same on all of them, whatever the tier's size when each was started, as
// a hot standby refuses to run with fewer than its primary has (a reader
// built after a failover, when the list was shorter, failed so against a
// primary built when it was longer). Enough for a writer, two readers and
// RDS's 15 read replicas, each with a base backup's two senders on top.
const walSenders = 40

// settings are the server's postgres -c options: on its address only (no
// Unix socket), RDS's max_connections and shared_buffers for its class,
// replication on, hot standby on (the lab reads a standby for its checks;
// no endpoint leads clients to a Multi-AZ standby, as RDS's serves no
// reads), cluster_name as the name a standby streams under.
// The servers list is the tier's (it sizes the WAL senders).
func settings(s Server, servers []Server) []string {
	opt := func(k, v string) []string { return []string{"-c", k + "=" + v} }
	var out []string
	for _, kv := range [][2]string{
		{"listen_addresses", s.Addr.String()},
		{"port", strconv.Itoa(s.Port)},
		{"unix_socket_directories", ""},
		{"cluster_name", s.Identifier},
		{"max_connections", strconv.Itoa(s.MaxConnections)},
		{"shared_buffers", strconv.Itoa(s.Class.SharedBuffersMiB()) + "MB"},
		{"huge_pages", "off"},
		{"wal_level", "replica"},
		{"max_wal_senders", strconv.Itoa(walSenders)},
		{"max_replication_slots", strconv.Itoa(walSenders)},
		{"wal_keep_size", "128MB"},
		{"hot_standby", "on"},
		{"log_line_prefix", "%m [%p] "},
		// The servers die by signals (a kill, a fence, a zone's outage),
		// never by this host losing power: what a killed server wrote stays
		// in the page cache, so fsync buys nothing here but commit latency
		// tied to this host's shared disk (a checkpoint's fsync stalled
		// commits for seconds on a busy host). RDS's storage is not this disk.
		{"fsync", "off"},
	} {
		out = append(out, opt(kv[0], kv[1])...)
	}
	// synchronous_standby_names is not among them: the tier sets it with
	// ALTER SYSTEM once the standbys stream, and a failover changes it on
	// the promoted server (a -c setting would override ALTER SYSTEM).
	return out
}

// walRetryInterval is PostgreSQL's wal_retrieve_retry_interval default: how
// long a standby whose WAL source failed (its primary gone) waits before it
// tries again. A promotion asked in that wait can wait it out too.
const walRetryInterval = 5 * time.Second

// timerSettings are the postgres -c options for PostgreSQL's own timers
// that stand for how a DB instance behaves in time: their defaults are
// taken as AWS time and run at the run's speed (AWS seconds per wall
// second), as every other duration of the lab. At 60x PostgreSQL's 5 s
// wal_retrieve_retry_interval, left in wall time, is 300 AWS s: measured,
// a promotion asked while a reader waited out its retry took 5 wall s, a
// Multi-AZ DB cluster's failover 5.4 AWS minutes instead of RDS's 35 s.
func timerSettings(speed float64) []string {
	if speed <= 0 {
		speed = 1
	}
	ms := max(1, int(float64(walRetryInterval.Milliseconds())/speed)) // PostgreSQL takes whole milliseconds
	return []string{"-c", "wal_retrieve_retry_interval=" + strconv.Itoa(ms) + "ms"}
}

// script is what the server's process runs (sh -c): the first time, make
// the data directory (initdb for the primary, pg_basebackup -R from the
// source for the others, which writes standby.signal and primary_conninfo),
// then become postgres with the settings given as its arguments. The
// password comes in LAB_DB_PASSWORD and is not left in postgres's
// environment.
const script = `set -eu
umask 077
PGDATA="$LAB_DATA_DIR/pgdata"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${LAB_DB_SOURCE:-}" ]; then
    printf '%s\n' "$LAB_DB_PASSWORD" > "$LAB_DATA_DIR/pwfile"
    "$LAB_PG_BIN/initdb" -D "$PGDATA" -U "$LAB_DB_USER" --pwfile="$LAB_DATA_DIR/pwfile" \
      --auth=scram-sha-256 --encoding=UTF8 --locale=C --no-sync --no-instructions
    rm -f "$LAB_DATA_DIR/pwfile"
    printf 'host all all 127.0.0.0/8 scram-sha-256\nhost replication all 127.0.0.0/8 scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
  else
    PGPASSWORD="$LAB_DB_PASSWORD" "$LAB_PG_BIN/pg_basebackup" -h "$LAB_DB_SOURCE" -p "$LAB_DB_SOURCE_PORT" \
      -U "$LAB_DB_USER" -D "$PGDATA" -R -X stream -c fast --no-sync
  fi
fi
unset LAB_DB_PASSWORD
exec "$LAB_PG_BIN/postgres" -D "$PGDATA" "$@"
`

// spec is what the runtime launches for s.
func spec(s Server, servers []Server, in Install, user, password string) az.Spec {
	env := map[string]string{
		"LAB_PG_BIN":      in.BinDir,
		"LAB_DB_USER":     user,
		"LAB_DB_PASSWORD": password,
	}
	if s.Role != stack.RolePrimary {
		env["LAB_DB_SOURCE"] = servers[0].Addr.String()
		env["LAB_DB_SOURCE_PORT"] = strconv.Itoa(servers[0].Port)
	}
	cmd := append([]string{"/bin/sh", "-c", script, "rds-" + s.Identifier}, settings(s, servers)...)
	return az.Spec{
		ID: s.ID, Zone: s.Zone, Addr: s.Addr, Port: s.Port,
		Type:    az.InstanceType{Name: s.Class.Name, CPU: s.Class.CPU, MemoryMiB: s.Class.MemoryMiB},
		Command: cmd, Env: env, DataDir: s.DataDir,
	}
}
