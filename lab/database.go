package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/internal/osproc"
	"github.com/simplydone/lab/internal/runlock"
	"github.com/simplydone/lab/load"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/az/process"
	"github.com/simplydone/lab/sim/entry"
	"github.com/simplydone/lab/sim/rds"
	"github.com/simplydone/lab/stack"
)

// The data tier's wiring (ARCHITECTURE.md, "The data tier"): the preflight
// finds PostgreSQL before anything starts; the tier starts after the
// runtime, before the load balancer and the group, and stops after the
// instances are gone.

// DatabaseRunSuffix names the data tier's own process runtime: its run id
// is the run's with this suffix, so its records, cgroups and LAB_RUN_ID
// stand apart from the instances' and a reaper finds them the same way.
const DatabaseRunSuffix = ".rds"

// preflightDatabase finds the PostgreSQL server a stack's database needs,
// and refuses, before anything starts, a stack whose database cannot run
// here: no server installed (with the command that installs it), or
// --isolate, which the tier does not support yet.
func preflightDatabase(o *Options) (rds.Install, error) {
	d := o.Stack.Database
	if d == nil {
		return rds.Install{}, nil
	}
	refuse := func(err error) (rds.Install, error) {
		return rds.Install{}, &PreflightError{Err: fmt.Errorf("%s: database: %w", o.Stack.At("database"), err)}
	}
	if o.Isolate {
		return refuse(errors.New("--isolate does not run a database tier yet: its servers would sit outside the run's network namespace; run without --isolate"))
	}
	in, err := rds.Find()
	if err != nil {
		if errors.Is(err, rds.ErrNotInstalled) {
			return refuse(fmt.Errorf("%w; as root, run `make run-deps` (or %s), or remove the database section", err, rds.InstallCommand))
		}
		return refuse(err)
	}
	return in, nil
}

// startDatabase starts the stack's data tier, if it has one, once the
// data crashed runs left is gone (their servers went with process.Reap).
func (l *Lab) startDatabase(ctx context.Context) error {
	if n, err := ReapDatabaseData(l.opts.StateDir, l.opts.RunsDir); err != nil {
		l.opts.Logger.Warn("removing crashed runs' database data", "err", err)
	} else if n > 0 {
		l.say("Removed the database data of %d run(s) that crashed", n)
	}
	d := l.opts.Stack.Database
	if d == nil {
		return nil
	}
	// The tier's runtime has a run id of its own: it gets a lock of its
	// own too, so that a reaper after a crash judges its records by the
	// lock (and puts back a data directory moved for nobody) as it does
	// the instances'.
	if err := l.holdDatabaseRun(); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	logs := filepath.Join(l.Dir, "logs")
	rt, err := process.New(process.Options{RunID: l.RunID + DatabaseRunSuffix, StateDir: l.opts.StateDir, Logger: l.opts.Logger, LogDir: logs})
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	note := ""
	if v := d.EngineVersion; v != "" && !strings.HasPrefix(v+".", strconv.Itoa(l.pg.Major)+".") {
		note = fmt.Sprintf(" (engine_version %s asked; this host has %d)", v, l.pg.Major)
	}
	l.say("Database: starting PostgreSQL %s%s from %s", l.pg.Version, note, l.pg.BinDir)
	tier, err := rds.Start(ctx, rds.Options{Database: d, Zones: l.databaseZones(), Install: l.pg, Runtime: rt,
		Dir: filepath.Join(l.Dir, "rds"), LogDir: logs, Logger: l.opts.Logger,
		Clock: l.Clock, Events: l.Bus, Seed: l.opts.Seed})
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	l.DB, l.dbRT = tier, rt
	if err := l.createAppRole(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	l.say("Database: %s", rds.Describe(d, tier.Servers()))
	for _, e := range tier.Endpoints() {
		l.say("Database: %s endpoint %s at %s (forwards to %s)", e.Kind, e.Name, e.Addr(), targetsText(e.Targets()))
	}
	if err := l.openDatabaseToAgents(); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	return nil
}

// databaseZones are the zones as the data tier's servers take them: a zone
// on an agent's host keeps its name (its DB instance is in that
// Availability Zone) but its server runs here, on this host's own subnet
// for the zone in the address plan (az.LoopbackSubnet), since the tier runs on
// this host (docs/multi-host.md).
func (l *Lab) databaseZones() []az.Zone {
	zs := slices.Clone(l.Zones)
	for i, z := range zs {
		if l.opts.Stack.ZoneAgent(z.Name) == "" {
			continue
		}
		zs[i].Subnet, zs[i].Node = az.LoopbackSubnet(z.Index), netip.Addr{}
	}
	return zs
}

// openDatabaseToAgents opens each endpoint on this host's address toward
// the agents' hosts too (startAgentCluster), when zones run there: their
// instances cannot reach the endpoints' stable addresses on this host's
// loopback. The DB instances stay on this host (see docs/multi-host.md).
//
// Agents in this process (stack.Stack.AgentsInProcess) share this host's
// loopback: their instances get the tier's stable addresses and DNS names
// as a zone on this host's do.
func (l *Lab) openDatabaseToAgents() error {
	if !l.opts.Stack.HasAgents() || !l.agentBind.IsValid() || l.opts.Stack.AgentsInProcess {
		return nil
	}
	for _, e := range l.DB.Endpoints() {
		far, err := e.AlsoListen(l.agentBind)
		if err != nil {
			return err
		}
		l.say("Database: %s endpoint %s also at %s, for the instances on the agents' hosts", e.Kind, e.Name, far)
	}
	return nil
}

// agentDatabaseEnv rewrites env, an instance's in a zone on an agent's
// host, to reach the data tier from there: DATABASE_URL and
// DATABASE_READER_URL through their endpoints' addresses toward the agents
// (openDatabaseToAgents); the endpoints' DNS names and the lab's resolver
// are not given, as the names answer the DB instances' addresses on this
// host's loopback. A URL that names no endpoint of the tier (the launch
// template's own) is left as it is.
func (l *Lab) agentDatabaseEnv(env map[string]string) {
	if l.DB == nil || !l.agentBind.IsValid() || l.opts.Stack.AgentsInProcess {
		return
	}
	for _, k := range []string{"DATABASE_URL", "DATABASE_READER_URL"} {
		raw, ok := env[k]
		if !ok {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil {
			continue
		}
		at, err := netip.ParseAddrPort(u.Host)
		if err != nil {
			continue
		}
		for _, e := range l.DB.Endpoints() {
			if e.Addr() != at {
				continue
			}
			if far, ok := e.AddrOn(l.agentBind); ok {
				u.Host = far.String()
				env[k] = u.String()
			}
			break
		}
	}
	delete(env, "DATABASE_ENDPOINT_URL")
	delete(env, "DATABASE_READER_ENDPOINT_URL")
	delete(env, "LAB_DNS_RESOLVER")
}

// databaseAddrs are the stable addresses the stack's database endpoints
// will take (rds.DefaultEndpointBase and up, on the database's port): a
// DB instance's endpoint (a cluster's writer and reader endpoints) and
// one per read replica, as rds opens them. They are in the run's lock
// (runlock.Owner.Addrs): every run's tier takes them from the same base,
// whatever its zones, so two runs on one database port conflict.
func databaseAddrs(s *stack.Stack) []string {
	d := s.Database
	if d == nil {
		return nil
	}
	n := 1 + len(d.ReadReplicas)
	if d.Cluster {
		n++
	}
	out := make([]string, 0, n)
	a := rds.DefaultEndpointBase
	for range n {
		out = append(out, netip.AddrPortFrom(a, uint16(d.Port)).String())
		a = a.Next()
	}
	return out
}

// closeDatabase stops the data tier: after the instances, which use it.
func (l *Lab) closeDatabase() error {
	var errs []error
	if l.DB != nil {
		errs = append(errs, l.DB.Close())
	}
	if l.dbLock != nil {
		errs = append(errs, l.dbLock.Release()) // last: until now the tier is alive
	}
	return errors.Join(errs...)
}

// holdDatabaseRun takes the lock of the tier's run id (<run>.rds): no
// subnets or ports, so it never conflicts with another run; its directory
// is the run's.
func (l *Lab) holdDatabaseRun() error {
	me, err := l.lockOwner(l.RunID + DatabaseRunSuffix)
	if err != nil {
		return err
	}
	l.dbLock, err = runlock.Hold(l.opts.StateDir, me)
	return err
}

// ReapDatabaseData removes the data directories (<run>/rds) that runs which
// crashed left behind, as `lab down` and the next run do: only of runs
// dead by their lock (a live run's is never touched); their servers are
// gone already (they die with the lab, and process.Reap kills what is
// left by the records). It returns how many runs' data it removed.
func ReapDatabaseData(stateDir, runsDir string) (int, error) {
	dirs, err := runDirs(stateDir, runsDir)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, dir := range dirs {
		data := filepath.Join(dir, "rds")
		if _, err := os.Lstat(data); err != nil {
			continue
		}
		id := filepath.Base(dir)
		claim, err := runlock.Try(stateDir, id)
		switch {
		case errors.Is(err, runlock.ErrNoLock):
			// No lock says whether it lives (swept by an older lab down, or
			// another state directory's run): dead only if no process
			// carries its label.
			if labelled(id) || labelled(id+DatabaseRunSuffix) {
				continue
			}
		case err != nil:
			continue // alive: not ours to touch
		}
		if err := runlock.CheckOwnDir(dir); err != nil {
			errs = append(errs, err)
		} else if err := os.RemoveAll(data); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", data, err))
		} else {
			n++
		}
		if claim != nil {
			claim.Release()
		}
	}
	return n, errors.Join(errs...)
}

// labelled reports whether any process carries LAB_RUN_ID=runID.
func labelled(runID string) bool {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return true // cannot tell: leave it
	}
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid > 1 && osproc.HasEnv(pid, "LAB_RUN_ID="+runID) {
			return true
		}
	}
	return false
}

// databaseEnv is what an instance is told of the data tier: DATABASE_URL,
// the writer's endpoint (a DB instance's endpoint, or a cluster's writer
// endpoint), and DATABASE_READER_URL where there are readable copies: a
// cluster's reader endpoint, or else the first read replica's own endpoint
// (RDS gives each its own; the app is told one). A Multi-AZ standby is never
// given: RDS serves no reads from it. These carry the endpoints' stable
// addresses, which any client reaches (an image of the user's own, libpq,
// JDBC): each connection is forwarded to the server behind the endpoint now.
// DATABASE_ENDPOINT_URL and DATABASE_READER_ENDPOINT_URL name the same
// endpoints by their DNS names, as RDS's do, with LAB_DNS_RESOLVER, the
// lab's DNS server (host:port) that answers them as an instance's VPC
// resolver would (the host's own resolver does not know them, and the lab's
// DNS listens on a port of its own): a client that resolves through it
// (SimplyDone does, keeping each answer for its TTL) sees RDS's DNS flip on
// a failover. The URLs name the application's role (appRole), not the
// master user, so that the slots PostgreSQL keeps for superusers stay the
// lab's. The launch template's own environment, set after, wins.
func (l *Lab) databaseEnv() map[string]string {
	if l.DB == nil {
		return nil
	}
	env := map[string]string{}
	set := func(name string, e *rds.Endpoint) { l.setEndpointEnv(env, name, e) }
	set("DATABASE_URL", l.DB.WriterEndpoint())
	if dns := l.dnsServer(); dns != nil {
		env["LAB_DNS_RESOLVER"] = dns.Addr()
	}
	if r := l.DB.ReaderEndpoint(); r != nil {
		set("DATABASE_READER_URL", r)
		return env
	}
	for _, s := range l.DB.Servers() {
		// the launch template is what it was: a replica promoted since
		// (rds.RoleStandalone) is still the endpoint it names
		if e := l.DB.ReplicaEndpoint(s.Identifier); e != nil && (s.Role == stack.RoleReadReplica || s.Role == rds.RoleStandalone) {
			set("DATABASE_READER_URL", e)
			return env
		}
	}
	return env
}

// setEndpointEnv sets name (DATABASE_URL or DATABASE_READER_URL) to the
// URL through endpoint e, and its _ENDPOINT_URL twin by e's DNS name.
func (l *Lab) setEndpointEnv(env map[string]string, name string, e *rds.Endpoint) {
	env[name] = l.appURL(l.DB.EndpointURL(e), "")
	if byName := l.endpointURL(e); byName != l.DB.EndpointURL(e) {
		env[strings.TrimSuffix(name, "_URL")+"_ENDPOINT_URL"] = l.appURL(byName, "")
	}
}

// databaseEnvAt is what a launch template version that points the
// application at endpoint e sets (repoint-database): the writer's endpoint
// gives the stack's own (databaseEnv); a promoted read replica's, which has
// no replica of its own, takes both the writes and the reads.
func (l *Lab) databaseEnvAt(e *rds.Endpoint) map[string]string {
	if e == l.DB.WriterEndpoint() {
		return l.databaseEnv()
	}
	env := map[string]string{}
	l.setEndpointEnv(env, "DATABASE_URL", e)
	l.setEndpointEnv(env, "DATABASE_READER_URL", e)
	return env
}

// dnsServer is the lab's DNS server, nil before the entry starts.
func (l *Lab) dnsServer() *entry.DNSServer {
	if l.entry == nil {
		return nil
	}
	return l.entry.dns
}

// endpointURL is the tier's URL through endpoint e, by its DNS name when
// the lab's DNS serves it, else by its stable address.
func (l *Lab) endpointURL(e *rds.Endpoint) string {
	raw := l.DB.EndpointURL(e)
	if l.dnsServer() == nil {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Host = net.JoinHostPort(e.Name, strconv.Itoa(int(e.Addr().Port())))
	return u.String()
}

// addDatabaseNames puts the data tier's endpoint names in the lab's DNS,
// each with rds.EndpointTTL, and keeps them current: an endpoint with one
// server behind it (a DB instance's, a read replica's, a cluster's writer
// endpoint) answers that server's address, as RDS's CNAME names the
// instance's host, and a failover flips it when it moves the endpoint
// (clients holding the old answer reach the old server until their TTL
// passes); a cluster's reader endpoint, several servers, answers its
// stable address, where the lab's forwarder spreads connections.
func (l *Lab) addDatabaseNames() {
	dns := l.dnsServer()
	if l.DB == nil || dns == nil {
		return
	}
	l.updateDatabaseNames()
	l.Bus.Subscribe(func(e events.Envelope) {
		if _, ok := e.Event.(rds.FailoverStep); ok {
			l.updateDatabaseNames()
		}
	})
}

// updateDatabaseNames sets each endpoint's DNS answer to what is behind it
// now (endpointAnswer); an endpoint that answers nothing mid-failover keeps
// its last answer, as RDS's record names the old instance until the flip.
func (l *Lab) updateDatabaseNames() {
	dns := l.dnsServer()
	for _, e := range l.DB.Endpoints() {
		if a, ok := endpointAnswer(e); ok {
			dns.AddName(e.Name, a, rds.EndpointTTL)
		}
	}
}

// endpointAnswer is the address e's name answers: its one server, or its
// stable address for a reader endpoint; false while it has no server.
func endpointAnswer(e *rds.Endpoint) (netip.Addr, bool) {
	ts := e.Targets()
	switch {
	case e.Kind == rds.EndpointReader:
		return e.Addr().Addr(), true
	case len(ts) == 1:
		return ts[0].Addr(), true
	}
	return netip.Addr{}, false
}

func targetsText(ts []netip.AddrPort) string {
	if len(ts) == 0 {
		return "nothing yet"
	}
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.String()
	}
	return strings.Join(parts, ", ")
}

// errNoTodosTable says the writer has no todos table: the instances keep
// their writes elsewhere (an image of the user's own that ignores
// DATABASE_URL), so they are looked up through the instances.
var errNoTodosTable = errors.New("the writer has no todos table")

// verifyWritesOnWriter looks every acknowledged write up on the database
// the application writes to at the end (appDatabase: the primary, or the
// promoted read replica the team pointed it at), by id and title, as
// lost_writes asks: not through the instances, whose lists may come from a
// replica that has not caught up. It notes which DB instance it read
// (writesCheckedOn).
func (l *Lab) verifyWritesOnWriter(ctx context.Context, writes []load.Write) (lost int, err error) {
	if len(writes) == 0 {
		return 0, nil
	}
	c, on, note, err := l.connectWriter(ctx)
	if err != nil {
		return 0, fmt.Errorf("verify writes: %w", err)
	}
	// the DB instance identifier RDS keeps (a Multi-AZ DB instance's, whichever host is primary)
	l.writesCheckedOn = fmt.Sprintf("%s (%s)%s", metricIdentifier(l.opts.Stack.Database, on), on.Role, note)
	defer c.Close(context.Background())
	ids := make([]int64, len(writes))
	for i, w := range writes {
		ids[i] = w.ID
	}
	rows, err := c.Query(ctx, "SELECT id, title FROM todos WHERE id = ANY($1)", ids)
	if err != nil {
		return 0, writerErr(err)
	}
	defer rows.Close()
	stored := make(map[int64]string, len(writes))
	var id int64
	var title string
	if _, err := pgx.ForEachRow(rows, []any{&id, &title}, func() error { stored[id] = title; return nil }); err != nil {
		return 0, writerErr(err)
	}
	for _, w := range writes {
		if t, ok := stored[w.ID]; !ok || t != w.Title {
			lost++
		}
	}
	return lost, nil
}

// connectWriter connects to the database the application writes to now
// (appDatabase), waiting while a failover is under way or it is being
// recovered (at most two minutes of wall time): the check is of what the
// writer kept, not of whether it answers at this moment.
func (l *Lab) connectWriter(ctx context.Context) (*pgx.Conn, rds.Server, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		on, note := l.appDatabase()
		c, err := l.DB.Connect(ctx, on)
		if err == nil && !l.DB.Failing() {
			return c, on, note, nil
		}
		if c != nil {
			c.Close(context.Background())
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = errors.New("a failover is still under way")
			}
			return nil, rds.Server{}, "", err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// writerErr is errNoTodosTable for PostgreSQL's undefined_table, else err
// with context.
func writerErr(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42P01" {
		return errNoTodosTable
	}
	return fmt.Errorf("verify writes on the writer: %w", err)
}
