package lab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/sim/rds"
	"github.com/simplydone/lab/stack"
	"github.com/simplydone/lab/todo"
)

// The application's database user, and the slots it cannot take.
//
// The lab's servers run with the master user as PostgreSQL's superuser
// (initdb's: the tier needs it for ALTER SYSTEM, pg_promote and
// replication), where RDS's master user is not one (it is a member of
// rds_superuser) and RDS keeps connection slots for its own rdsadmin.
// So that the lab's own connections (the tier's monitor, the metrics and
// the check of the acknowledged writes at the end) find a slot on a
// database that sits at max_connections, instances and the db-connections
// fault connect as a role of their own without SUPERUSER: PostgreSQL 15
// keeps superuser_reserved_connections (3 by default, RDS's figure too)
// for superusers, and refuses others "remaining connection slots are
// reserved for non-replication superuser connections" (53300) once only
// those are left. (PostgreSQL 16 adds reserved_connections for the
// pg_use_reserved_connections role; the lab runs 15.)

// appRole is the instances' database user: the master user's name with
// "_app", at most 63 bytes (PostgreSQL's NAMEDATALEN).
func appRole(master string) string {
	name := master + "_app"
	if len(name) > 63 {
		name = master[:63-len("_app")] + "_app"
	}
	return name
}

// createAppRole makes the instances' role on the primary (it streams to
// the standbys and replicas with everything else): LOGIN, the run's
// password, no SUPERUSER, and the right to make its tables in the
// database's public schema (PostgreSQL 15 gives that to the owner only);
// and the one function it may call to read its backend's CPU time
// (todo.CPUTimeFunction), which its costly query needs.
func (l *Lab) createAppRole(ctx context.Context) error {
	d := l.opts.Stack.Database
	pw, err := l.dbPassword()
	if err != nil {
		return err
	}
	c, err := l.DB.Connect(ctx, l.DB.Primary())
	if err != nil {
		return fmt.Errorf("create the application's role: %w", err)
	}
	defer c.Close(context.Background())
	role := pgx.Identifier{appRole(d.Username)}.Sanitize()
	for _, q := range append([]string{
		"CREATE ROLE " + role + " LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD " + quoteSQL(pw),
		"GRANT CONNECT, TEMPORARY, CREATE ON DATABASE " + pgx.Identifier{d.DBName}.Sanitize() + " TO " + role,
		"GRANT USAGE, CREATE ON SCHEMA public TO " + role,
	}, todo.CPUTimeFunctionSQL(role)...) { // SimplyDone's SIMPLYDONE_DB_QUERY_COST reads its backend's CPU time with it
		if _, err := c.Exec(ctx, q); err != nil {
			return fmt.Errorf("create the application's role %s: %w", appRole(d.Username), err)
		}
	}
	return nil
}

// dbPassword is the run's master password, from the tier's own URL (it is
// never written anywhere).
func (l *Lab) dbPassword() (string, error) {
	u, err := url.Parse(l.DB.URL(l.DB.Primary(), ""))
	if err != nil {
		return "", fmt.Errorf("the tier's URL: %w", err)
	}
	pw, _ := u.User.Password()
	return pw, nil
}

// quoteSQL is s as a PostgreSQL string literal.
func quoteSQL(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// appURL is the tier's URL rawURL (the master user's) with the
// application's role instead, and, when set, the application_name.
func (l *Lab) appURL(rawURL, appName string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	pw, _ := u.User.Password()
	u.User = url.UserPassword(appRole(l.opts.Stack.Database.Username), pw)
	if appName != "" {
		q := u.Query()
		q.Set("application_name", appName)
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// LeakyClientApplicationName is the application_name of db-connections'
// connections: DatabaseConnections counts them, as CloudWatch would.
const LeakyClientApplicationName = "leaky-client"

// HoldConnections is db-connections: up to n connections to the DB
// instance which names, as the application's role, at the address a
// client would use (what the lab's DNS answers for the writer's endpoint
// for the primary, for a read replica's own endpoint; a cluster reader's
// server), held idle until released. It stops at the server's first
// refusal and holds what it got; Refill prunes the broken ones and opens
// more, as a leaky pool would.
func (d labDatabase) HoldConnections(ctx context.Context, which string, n int) (chaos.Held, error) {
	s, _, err := d.clientTarget(which)
	if err != nil {
		return chaos.Held{}, err
	}
	if which != "" && which != chaos.DBPrimary {
		which = s.Identifier // a replica stays itself if promoted meanwhile (its own endpoint)
	}
	k := &leaky{d: d, which: which}
	got, refused, lastErr := k.fill(ctx, n)
	if got == 0 {
		return chaos.Held{}, fmt.Errorf("DB instance %s took no connection: %w", s.Identifier, lastErr)
	}
	return chaos.Held{Identifier: s.Identifier, Count: got, Refused: refused,
		Alive:   func(ctx context.Context) int { return k.alive(ctx) },
		Refill:  k.refill,
		Release: k.release}, nil
}

// leaky is db-connections' client: the connections it holds, one caller
// at a time (a pgx.Conn is not for concurrent use).
type leaky struct {
	d     labDatabase
	which string // chaos.DBPrimary (the writer endpoint, wherever it points) or an identifier

	use   sync.Mutex
	conns []*pgx.Conn
}

// fill opens connections until it holds n, at most a few at a time (each
// is a backend the server forks and authenticates, as a pool filling up
// would), through the address a client resolving the endpoint gets now.
// It stops at the first failure: refused is the server's words when it
// refused (else lastErr's).
func (k *leaky) fill(ctx context.Context, n int) (held int, refused string, lastErr error) {
	k.use.Lock()
	defer k.use.Unlock()
	want := n - len(k.conns)
	if want <= 0 {
		return len(k.conns), "", nil
	}
	_, addr, err := k.d.clientTarget(k.which)
	if err != nil {
		return len(k.conns), err.Error(), err
	}
	l := k.d.l
	raw := l.appURL(l.DB.URL(rds.Server{Addr: addr.Addr(), Port: int(addr.Port())}, ""), LeakyClientApplicationName)
	var (
		mu   sync.Mutex
		stop atomic.Bool
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for range min(want, 8) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() && next.Add(1) <= int64(want) {
				cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				c, err := pgx.Connect(cctx, raw)
				cancel()
				mu.Lock()
				switch {
				case err == nil:
					k.conns = append(k.conns, c)
				default:
					stop.Store(true)
					var pe *pgconn.PgError
					if errors.As(err, &pe) && pe.Code == "53300" && refused == "" {
						refused = pe.Message
					}
					lastErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(k.conns) < n && refused == "" && lastErr != nil {
		refused = lastErr.Error()
	}
	return len(k.conns), refused, lastErr
}

// alive counts the held connections that answer a ping.
func (k *leaky) alive(ctx context.Context) int {
	k.use.Lock()
	defer k.use.Unlock()
	n := 0
	for _, c := range k.conns {
		if ping(ctx, c) {
			n++
		}
	}
	return n
}

func ping(ctx context.Context, c *pgx.Conn) bool {
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return c.Ping(pctx) == nil
}

// refill drops the held connections that no longer answer (a failover
// or a restart broke them) and opens new ones up to n through the
// endpoint as it answers now (the new primary after a failover).
func (k *leaky) refill(ctx context.Context, n int) chaos.Refilled {
	k.use.Lock()
	kept := k.conns[:0]
	broke := 0
	for _, c := range k.conns {
		if ping(ctx, c) {
			kept = append(kept, c)
			continue
		}
		c.Close(ctx)
		broke++
	}
	k.conns = kept
	k.use.Unlock()
	held, refused, _ := k.fill(ctx, n)
	if held >= n {
		refused = ""
	}
	return chaos.Refilled{Held: held, Broke: broke, Refused: refused}
}

// release closes them all.
func (k *leaky) release(ctx context.Context) error {
	k.use.Lock()
	defer k.use.Unlock()
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, c := range k.conns {
		c.Close(cctx) // a broken one closes all the same
	}
	k.conns = nil
	return nil
}

// clientTarget is the DB instance which names for a client's connections
// and the address a client dials for it.
func (d labDatabase) clientTarget(which string) (rds.Server, netip.AddrPort, error) {
	db := d.l.DB
	servers := db.Servers()
	var s rds.Server
	switch which {
	case "", chaos.DBPrimary:
		return servers[0], dialAddr(db.WriterEndpoint()), nil
	case chaos.DBReplica:
		for _, role := range []stack.DBRole{stack.RoleReadReplica, stack.RoleReader} {
			for _, x := range servers {
				if x.Role == role && s.Identifier == "" {
					s = x
				}
			}
		}
		if s.Identifier == "" {
			return s, netip.AddrPort{}, errors.New("the database has no read replica or reader")
		}
	default:
		var err error
		if s, err = d.resolve(which); err != nil {
			return s, netip.AddrPort{}, err
		}
	}
	switch s.Role {
	case stack.RolePrimary:
		return s, dialAddr(db.WriterEndpoint()), nil
	case stack.RoleStandby:
		return s, netip.AddrPort{}, fmt.Errorf("DB instance %s is a Multi-AZ standby: it serves no connections", s.Identifier)
	}
	if e := db.ReplicaEndpoint(s.Identifier); e != nil {
		return s, dialAddr(e), nil
	}
	return s, s.AddrPort(), nil
}

// dialAddr is where a client that resolved e's name connects: the address
// the lab's DNS answers for it now (endpointAnswer), else, mid-failover,
// the endpoint's stable address.
func dialAddr(e *rds.Endpoint) netip.AddrPort {
	if a, ok := endpointAnswer(e); ok {
		return netip.AddrPortFrom(a, e.Addr().Port())
	}
	return e.Addr()
}
