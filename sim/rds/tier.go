package rds

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/stack"
)

// Runtime runs the tier's servers. The lab gives the tier a process
// runtime of its own (its records, cgroups and logs apart from the
// instances'); the tier owns it from Start and closes it.
type Runtime interface {
	az.Launcher
	az.Terminator
	// Kill ends a server abruptly (a host lost, a fence); Start boots a
	// killed one again on its data (a host recovered).
	Kill(ctx context.Context, id az.InstanceID) error
	Start(ctx context.Context, id az.InstanceID) error
	List(ctx context.Context) ([]az.Instance, error)
	Close() error
}

// Publisher takes the tier's events (RDS's event messages, the failover's
// steps).
type Publisher interface{ Publish(events.Event) }

// Options configure a tier.
type Options struct {
	Database *stack.Database
	Zones    []az.Zone
	Install  Install
	Runtime  Runtime
	// Dir holds the servers' data directories (Dir/<identifier>), removed
	// when the tier closes; the run directory's rds/.
	Dir string
	// LogDir is where the runtime writes each server's output
	// (LogDir/db-<identifier>.log), read back when a server fails to start.
	LogDir string
	// Password is the master user's; "" draws one. It is never written
	// to the run directory.
	Password string
	// Ready bounds how long each server may take to accept connections
	// and stream (wall time); default 2 minutes.
	Ready  time.Duration
	Logger *slog.Logger
	// Clock is AWS time: the failover's duration and the monitor's checks
	// run on it. Default: real time.
	Clock clock.Clock
	// Events takes RDS's events and the failover's steps; nil drops them.
	Events Publisher
	// EndpointBase is the first endpoint's stable address (the others
	// follow it); default DefaultEndpointBase.
	EndpointBase netip.Addr
	// Seed makes the endpoints' DNS names (RDS's per-account hash).
	Seed uint64
}

// Tier is the running data tier.
type Tier struct {
	opts Options

	// mu guards everything below it. The server list has one owner: every
	// change to it (a failover's promotion, a rebuilt standby joining, a
	// replaced one) is made under mu on the list as it is then, never from
	// an earlier copy.
	mu           sync.Mutex
	servers      []Server // the primary first
	retired      []Server // fenced or replaced servers: their data goes at Close; their addresses stay taken
	discarded    []Server // builds that failed: their data goes at Close; their addresses are free again
	launched     []az.InstanceID
	endpoints    []*Endpoint
	zoneDown     map[string]bool
	failing      bool                        // a failover is under way
	streaming    []string                    // the standbys streaming from the primary at the monitor's last look
	rebuilding   bool                        // a standby is being built (startRebuild)
	building     *Server                     // the standby being built, until it joins servers
	standbys     int                         // how many standbys (or readers) the deployment has: what a rebuild restores
	retryRebuild time.Time                   // AWS time: no build before it after a build failed
	buildFails   int                         // builds failed in a row (the retry's backoff)
	waitSaid     bool                        // "no healthy zone is free" was published for the build still to come
	replaced     int                         // servers replaced so far (their runtime names' suffix)
	built        int                         // standbys rebuilt so far (their names' suffix)
	syncNames    string                      // synchronous_standby_names set on the primary
	pending      *Server                     // the lost primary a standby is still to be rebuilt for (the zone it prefers, its class)
	recovering   map[string]bool             // servers being recovered in place (recover runs beside the monitor)
	replacing    map[string]bool             // servers being replaced (they could not follow a new timeline)
	paused       map[string]bool             // read replicas whose replication a replica-lag holds paused
	promoting    string                      // the read replica being promoted (promoteReplica): a replica-lag's resume leaves it alone
	downAt       map[az.InstanceID]time.Time // when (AWS time) a server went down: killed by the tier, or first found stopped
	fenced       map[az.InstanceID]bool      // servers fenced by a failover: never started again
	requests     chan request                // failovers asked of the monitor
	wake         chan struct{}               // a server the tier itself killed: the monitor checks at once (failover_wall.go)
	killing      map[az.InstanceID]bool      // servers the tier killed that the runtime may not yet have seen end
	closeErr     error
	closeOnce    sync.Once

	// startMu orders starting a server against fencing it and taking its
	// zone down: a server is started only while it is neither fenced nor in
	// a zone that is down, and a fence or an outage kills whatever was
	// started before it.
	startMu sync.Mutex

	// resumeMu orders a replica-lag's resume (its check of the replica's
	// role and its follow) against a promotion's start (promoting set,
	// then replication cut): a replica being promoted is never made to
	// stream from its source again.
	resumeMu sync.Mutex

	// promoteHook, when set (tests), runs in place of sending pg_promote()
	// to the target: sent says whether the promotion went out (a failure
	// after it was sent, or before).
	promoteHook func(ctx context.Context, to Server) (sent bool, err error)

	stop    chan struct{} // closed by Close: ends the monitor and a failover's wait
	monitor sync.WaitGroup
}

// Start lays out the servers, starts the primary and waits until it
// accepts connections (creating db_name), then the standbys and read
// replicas together, each from a base backup of the primary, and waits
// until each streams in the mode its role asks (sync, quorum or async).
// On failure everything started is stopped again.
func Start(ctx context.Context, o Options) (_ *Tier, err error) {
	if o.Runtime == nil {
		return nil, errors.New("rds: no runtime")
	}
	t := &Tier{opts: o, zoneDown: map[string]bool{}, recovering: map[string]bool{}, replacing: map[string]bool{},
		paused: map[string]bool{}, fenced: map[az.InstanceID]bool{}, downAt: map[az.InstanceID]time.Time{}, stop: make(chan struct{}),
		wake: make(chan struct{}, 1)}
	defer func() {
		if err != nil {
			err = errors.Join(err, t.Close())
		}
	}()
	if o.Database == nil {
		return nil, errors.New("rds: no database")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Ready <= 0 {
		o.Ready = 2 * time.Minute
	}
	if o.Clock == nil {
		o.Clock = clock.Real()
	}
	if !o.EndpointBase.IsValid() {
		o.EndpointBase = DefaultEndpointBase
	}
	if o.Password == "" {
		var b [18]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("rds: draw a password: %w", err)
		}
		o.Password = hex.EncodeToString(b[:])
	}
	t.opts = o
	if t.servers, err = Plan(o.Database, o.Zones, o.Dir); err != nil {
		return nil, err
	}
	servers := t.servers
	for _, s := range servers[1:] {
		if s.Role == stack.RoleStandby || s.Role == stack.RoleReader {
			t.standbys++
		}
	}
	if err := os.MkdirAll(o.Dir, 0o711); err != nil {
		return nil, fmt.Errorf("rds: %w", err)
	}
	primary := servers[0]
	if err := t.launch(ctx, primary); err != nil {
		return nil, err
	}
	if err := t.createDatabase(ctx); err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	errs := make([]error, len(servers))
	for i, s := range servers[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i+1] = t.launch(ctx, s)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := t.setSyncNames(ctx, primary, synchronousStandbyNames(servers)); err != nil {
		return nil, err
	}
	if err := t.waitStreaming(ctx); err != nil {
		return nil, err
	}
	for _, s := range servers[1:] { // all stream now: the monitor's first look, taken here
		t.streaming = append(t.streaming, s.Identifier)
	}
	if err := t.openEndpoints(); err != nil {
		return nil, err
	}
	t.monitor.Add(1)
	go t.watch()
	return t, nil
}

// Servers lists the tier's servers: the primary first. A failover changes
// it (the promoted server first, the fenced one gone, a rebuilt standby
// added); safe for concurrent use.
func (t *Tier) Servers() []Server {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.servers)
}

// Primary is the primary (a cluster's writer) now.
func (t *Tier) Primary() Server {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.servers[0]
}

// URL is a connection URL to the server with the master user, database
// db ("" = the stack's db_name). It carries the password: never log it.
func (t *Tier) URL(s Server, db string) string {
	if db == "" {
		db = t.opts.Database.DBName
	}
	u := url.URL{Scheme: "postgres", User: url.UserPassword(t.opts.Database.Username, t.opts.Password),
		Host: s.AddrPort().String(), Path: "/" + db, RawQuery: "sslmode=disable&connect_timeout=5"}
	return u.String()
}

// Connect opens the lab's own connection to a server (checks, metrics).
func (t *Tier) Connect(ctx context.Context, s Server) (*pgx.Conn, error) {
	c, err := pgx.Connect(ctx, t.URL(s, ""))
	if err != nil {
		return nil, fmt.Errorf("connect to DB instance %s at %s: %w", s.Identifier, s.AddrPort(), err)
	}
	return c, nil
}

// launch starts s through the runtime and waits until it accepts
// connections.
func (t *Tier) launch(ctx context.Context, s Server) error {
	if err := t.spawn(ctx, s); err != nil {
		return err
	}
	return t.waitReady(ctx, s)
}

// spawn starts s through the runtime (its data directory is made the first
// time: initdb, or pg_basebackup from the primary now).
func (t *Tier) spawn(ctx context.Context, s Server) error {
	list := t.Servers() // a standby being rebuilt joins them only once it runs; its settings count it
	if !slices.ContainsFunc(list, func(x Server) bool { return x.Identifier == s.Identifier }) {
		list = append(list, s)
	}
	sp := spec(s, list, t.opts.Install, t.opts.Database.Username, t.opts.Password)
	sp.Command = append(sp.Command, timerSettings(t.opts.Clock.Speed())...)
	if _, err := t.opts.Runtime.Launch(ctx, sp); err != nil {
		return fmt.Errorf("start DB instance %s (%s) in %s: %w", s.Identifier, s.Role, s.Zone.Name, err)
	}
	t.mu.Lock()
	t.launched = append(t.launched, s.ID)
	t.mu.Unlock()
	t.opts.Logger.Info("DB instance started", "db", s.Identifier, "role", s.Role, "zone", s.Zone.Name, "addr", s.AddrPort())
	return nil
}

// waitReady polls until s answers a query, for at most opts.Ready; it
// gives up at once when the server's process is gone, with the end of its
// log.
func (t *Tier) waitReady(ctx context.Context, s Server) error {
	ctx, cancel := context.WithTimeout(ctx, t.opts.Ready)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
		c, err := pgx.Connect(cctx, t.URL(s, "postgres"))
		if err == nil {
			var one int
			err = c.QueryRow(cctx, "SELECT 1").Scan(&one)
			c.Close(cctx)
		}
		ccancel()
		if err == nil {
			return nil
		}
		last = err
		if !t.running(ctx, s.ID) {
			return fmt.Errorf("DB instance %s (%s) in %s stopped before it accepted connections; its log ends:\n%s", s.Identifier, s.Role, s.Zone.Name, t.logTail(s, 15))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("DB instance %s at %s: not accepting connections after %s: %w", s.Identifier, s.AddrPort(), t.opts.Ready, last)
		case <-tick.C:
		}
	}
}

// running reports whether the runtime has id running.
func (t *Tier) running(ctx context.Context, id az.InstanceID) bool {
	list, err := t.opts.Runtime.List(ctx)
	if err != nil {
		return true // cannot tell: keep waiting until the deadline
	}
	for _, in := range list {
		if in.ID == id {
			return in.State == az.StateRunning || in.State == az.StatePending
		}
	}
	return false
}

func (t *Tier) logTail(s Server, n int) string {
	if t.opts.LogDir == "" {
		return "(no log)"
	}
	b, err := os.ReadFile(filepath.Join(t.opts.LogDir, string(s.ID)+".log"))
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// createDatabase makes db_name on the primary (RDS makes it with the
// instance), before any standby copies the primary. The commit is local:
// no standby is there yet to acknowledge it.
func (t *Tier) createDatabase(ctx context.Context) error {
	name := t.opts.Database.DBName
	if name == "postgres" {
		return nil
	}
	p := t.Primary()
	c, err := pgx.Connect(ctx, t.URL(p, "postgres"))
	if err != nil {
		return fmt.Errorf("DB instance %s: %w", p.Identifier, err)
	}
	defer c.Close(context.WithoutCancel(ctx))
	if _, err := c.Exec(ctx, "SET synchronous_commit = local"); err != nil {
		return fmt.Errorf("DB instance %s: %w", p.Identifier, err)
	}
	if _, err := c.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("DB instance %s: create database %s: %w", p.Identifier, name, err)
	}
	return nil
}

// Replication is one row of the primary's pg_stat_replication.
type Replication struct {
	Name      string // application_name: the standby's identifier
	State     string // streaming, catchup, ...
	SyncState string // sync, quorum, potential, async
}

// Replication reads the primary's pg_stat_replication.
func (t *Tier) Replication(ctx context.Context) ([]Replication, error) {
	c, err := t.Connect(ctx, t.Primary())
	if err != nil {
		return nil, err
	}
	defer c.Close(context.WithoutCancel(ctx))
	rows, err := c.Query(ctx, "SELECT application_name, state, sync_state FROM pg_stat_replication ORDER BY application_name")
	if err != nil {
		return nil, fmt.Errorf("read pg_stat_replication: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Replication, error) {
		var x Replication
		err := r.Scan(&x.Name, &x.State, &x.SyncState)
		return x, err
	})
}

// wantSync is the sync_state a server's role streams with.
func wantSync(r stack.DBRole) string {
	switch r {
	case stack.RoleStandby:
		return "sync"
	case stack.RoleReader:
		return "quorum"
	}
	return "async"
}

// waitStreaming waits until every standby and replica streams from the
// primary in its role's mode.
func (t *Tier) waitStreaming(ctx context.Context) error {
	servers := t.Servers()
	if len(servers) == 1 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, t.opts.Ready)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		rows, err := t.Replication(ctx)
		missing := []string{}
		if err == nil {
			have := map[string]Replication{}
			for _, r := range rows {
				have[r.Name] = r
			}
			for _, s := range servers[1:] {
				if r := have[s.Identifier]; r.State != "streaming" || r.SyncState != wantSync(s.Role) {
					missing = append(missing, fmt.Sprintf("%s (want streaming %s, have %q %q)", s.Identifier, wantSync(s.Role), r.State, r.SyncState))
				}
			}
			if len(missing) == 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = errors.New(strings.Join(missing, "; "))
			}
			return fmt.Errorf("DB instance %s: replication not up after %s: %w", servers[0].Identifier, t.opts.Ready, err)
		case <-tick.C:
		}
	}
}

// Close stops the servers (replicas and standbys first, the primary last),
// removes their data, and closes the runtime. Safe to call twice.
func (t *Tier) Close() error {
	t.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		close(t.stop)
		t.monitor.Wait() // the monitor and any failover or rebuild it runs
		t.mu.Lock()
		ids := slices.Clone(t.launched)
		all := append(append(slices.Clone(t.servers), t.retired...), t.discarded...)
		eps := t.endpoints
		t.mu.Unlock()
		var errs []error
		for _, e := range eps {
			errs = append(errs, e.Close())
		}
		// Others first, the primary last: no commit waits on a standby gone.
		for i := len(all) - 1; i >= 0; i-- {
			if slices.Contains(ids, all[i].ID) {
				if err := t.opts.Runtime.Terminate(ctx, all[i].ID); err != nil && !errors.Is(err, az.ErrNotFound) {
					errs = append(errs, err)
				}
			}
		}
		// Each data directory's contents go before the runtime puts back
		// one it had moved where nobody could reach it.
		for _, s := range all {
			if real, err := filepath.EvalSymlinks(s.DataDir); err == nil {
				errs = append(errs, removeContents(real))
			}
		}
		errs = append(errs, t.opts.Runtime.Close())
		if t.opts.Dir != "" {
			errs = append(errs, os.RemoveAll(t.opts.Dir))
		}
		t.closeErr = errors.Join(errs...)
	})
	return t.closeErr
}

// removeContents empties a server's data directory. It refuses a path
// that is not absolute, or the root: an empty DataDir (a server made by
// hand) resolves to the working directory, which is not the tier's to
// empty.
func removeContents(dir string) error {
	if !filepath.IsAbs(dir) || filepath.Dir(dir) == dir {
		return fmt.Errorf("remove the contents of %q: not a data directory (an absolute path below the root)", dir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var errs []error
	for _, e := range ents {
		errs = append(errs, os.RemoveAll(filepath.Join(dir, e.Name())))
	}
	return errors.Join(errs...)
}

// Kind is the deployment in RDS's words: a Single-AZ or Multi-AZ DB
// instance, or a Multi-AZ DB cluster.
func Kind(d *stack.Database) string {
	switch {
	case d.Cluster:
		return "Multi-AZ DB cluster"
	case d.MultiAZ:
		return "Multi-AZ DB instance"
	}
	return "Single-AZ DB instance"
}

// Describe says where the tier's servers are, for the console: one line.
func Describe(d *stack.Database, servers []Server) string {
	kind := Kind(d)
	parts := make([]string, 0, len(servers))
	for _, s := range servers {
		parts = append(parts, fmt.Sprintf("%s %s in %s (%s)", s.Role, s.Identifier, s.Zone.Name, s.AddrPort()))
	}
	return kind + " " + d.Identifier + ", " + d.InstanceClass + " (max_connections " + strconv.Itoa(servers[0].MaxConnections) + "): " + strings.Join(parts, ", ")
}
