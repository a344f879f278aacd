package lab

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/sim/asg"
	"github.com/simplydone/lab/sim/rds"
	"github.com/simplydone/lab/stack"
)

// repoint-database: after RDS's PromoteReadReplica, the promoted DB
// instance is writable at its own endpoint and the application still
// writes to the source through the endpoint its launch template names
// (RDS moves nothing). Pointing it at the promoted instance is the team's
// part, and the way a team whose instances take the database from their
// launch template's environment does it is a redeploy: a new launch
// template version whose DATABASE_URL (and reader URL) is the promoted
// instance's endpoint, and an instance refresh to it (StartInstanceRefresh
// with the group's preferences: its maintenance policy, else AWS's
// defaults). Until each instance is replaced it keeps writing to the
// source: a split brain, whose writes the promoted instance never sees.
// (A Route 53 name the team moves would not close the instances' open
// connections to the source, which a pool keeps for its lifetime; the
// redeploy replaces them.)

// repoints are the launch template versions the team made. Which DB
// instance the application writes to is not kept here: each group's
// launch template version now says it (appDatabase), so that a later
// deploy to a version of the stack's, which names the source again, counts.
type repoints struct {
	mu       sync.Mutex
	versions map[*fleet]map[int]map[string]string // each fleet's versions made at run time: their environment over the template's
}

// versionEnvironment is launch template version v's own environment for
// fleet f: a version the team made at run time, else the stack's.
func (l *Lab) versionEnvironment(f *fleet, v int) map[string]string {
	l.repoints.mu.Lock()
	env, ok := l.repoints.versions[f][v]
	l.repoints.mu.Unlock()
	if ok {
		return env
	}
	return f.st.LaunchTemplate.VersionEnvironment(v)
}

// newVersion makes fleet f's next launch template version from version
// base with env set over it, and returns its number: one past every
// version the template has.
func (l *Lab) newVersion(f *fleet, base int, env map[string]string) int {
	next := max(base, 1)
	for _, v := range f.st.LaunchTemplate.Versions {
		next = max(next, v.Version)
	}
	l.repoints.mu.Lock()
	defer l.repoints.mu.Unlock()
	for v := range l.repoints.versions[f] {
		next = max(next, v)
	}
	next++
	all := maps.Clone(l.versionEnvironmentLocked(f, base))
	if all == nil {
		all = map[string]string{}
	}
	maps.Copy(all, env)
	if l.repoints.versions == nil {
		l.repoints.versions = map[*fleet]map[int]map[string]string{}
	}
	if l.repoints.versions[f] == nil {
		l.repoints.versions[f] = map[int]map[string]string{}
	}
	l.repoints.versions[f][next] = all
	return next
}

func (l *Lab) versionEnvironmentLocked(f *fleet, v int) map[string]string {
	if env, ok := l.repoints.versions[f][v]; ok {
		return env
	}
	return f.st.LaunchTemplate.VersionEnvironment(v)
}

// Repoint is repoint-database: every service's group is redeployed with a
// launch template version that points the application at the DB instance
// which names (chaos.DBReplica: the promoted read replica; chaos.DBPrimary:
// the source's own endpoint; or an identifier). Only a DB instance that
// takes writes can be pointed at: the primary or a promoted read replica.
func (d labDatabase) Repoint(ctx context.Context, which string) (chaos.Repointed, error) {
	l := d.l
	s, e, err := d.repointTarget(which)
	if err != nil {
		return chaos.Repointed{}, err
	}
	env := l.databaseEnvAt(e)
	type svc struct {
		name string
		f    *fleet
		g    *asg.Group
	}
	var svcs []svc
	for _, sv := range l.services {
		if sv.group != nil {
			svcs = append(svcs, svc{sv.name, sv.fleet, sv.group})
		}
	}
	if len(svcs) == 0 && l.Group != nil {
		svcs = append(svcs, svc{"", l.fleet, l.Group})
	}
	if len(svcs) == 0 {
		return chaos.Repointed{}, errors.New("the lab has no Auto Scaling group to redeploy")
	}
	out := chaos.Repointed{Identifier: s.Identifier, Endpoint: e.Name}
	var errs []error
	for _, sv := range svcs {
		v := l.newVersion(sv.f, sv.g.LaunchTemplateVersion(), env)
		id, err := sv.g.StartInstanceRefresh(v, asg.RefreshPreferences{})
		ev := DeployStarted{Version: v, Strategy: scenarios.StrategyRolling, RefreshID: id}
		name := "the group"
		if sv.name != "" && len(svcs) > 1 {
			ev.Service = sv.name
			name = "service " + ev.Service
		}
		if err != nil {
			ev.Error = err.Error()
			err = fmt.Errorf("%s, launch template version %d: %w", name, v, err)
			errs = append(errs, err)
			out.Refused = append(out.Refused, err.Error())
		} else if out.RefreshID == "" {
			out.Version, out.RefreshID = v, id
		}
		l.Bus.Publish(ev)
	}
	if out.RefreshID == "" {
		// no group's refresh started: nothing changed
		return out, errors.Join(errs...)
	}
	// a refresh refused for one group (one in progress already) leaves
	// that group on its database: applied for the others, the refusal named
	// (out.Refused), and appDatabase says where each group writes
	return out, nil
}

// repointTarget is the DB instance which names for repoint-database and
// the endpoint the application would be given for it.
func (d labDatabase) repointTarget(which string) (rds.Server, *rds.Endpoint, error) {
	db := d.l.DB
	servers := db.Servers()
	var s rds.Server
	switch which {
	case chaos.DBPrimary:
		return servers[0], db.WriterEndpoint(), nil
	case "", chaos.DBReplica:
		i := slices.IndexFunc(servers, func(x rds.Server) bool { return x.Role == rds.RoleStandalone })
		if i < 0 {
			if j := slices.IndexFunc(servers, func(x rds.Server) bool { return x.Role == stack.RoleReadReplica }); j >= 0 {
				return s, nil, fmt.Errorf("read replica %s is not promoted: it is read-only; promote it first (db-failover on it)", servers[j].Identifier)
			}
			return s, nil, errors.New("the database has no promoted read replica to point the application at")
		}
		s = servers[i]
	default:
		i := slices.IndexFunc(servers, func(x rds.Server) bool { return x.Identifier == which })
		if i < 0 {
			ids := make([]string, len(servers))
			for k, x := range servers {
				ids[k] = x.Identifier
			}
			return s, nil, fmt.Errorf("no DB instance %s; the tier has %v", which, ids)
		}
		s = servers[i]
	}
	switch s.Role {
	case stack.RolePrimary:
		return s, db.WriterEndpoint(), nil
	case rds.RoleStandalone:
		if e := db.ReplicaEndpoint(s.Identifier); e != nil {
			return s, e, nil
		}
		return s, nil, fmt.Errorf("DB instance %s has no endpoint of its own", s.Identifier)
	}
	return s, nil, fmt.Errorf("DB instance %s is a %s: it takes no writes; point the application at the primary or a promoted read replica", s.Identifier, s.Role)
}

// appDatabase is the DB instance the application writes to at the end, as
// each group's launch template version now says (its DATABASE_URL: the
// version a deploy or a repoint-database refreshed to, or the one it
// rolled back to), and a note when the groups disagree. The instances a
// refresh has not replaced yet write elsewhere: the version decides, as
// the launch template does for every instance launched from now on.
func (l *Lab) appDatabase() (rds.Server, string) {
	id, note := chooseAppDatabase(l.groupDatabases(l.endpointDB))
	for _, s := range l.DB.Servers() {
		if s.Identifier == id {
			return s, note
		}
	}
	return l.DB.Primary(), note
}

// groupDatabase is one group's database as its launch template version
// gives it now.
type groupDatabase struct {
	group string // "service <name>", or "the group" on a stack of one
	url   string // its DATABASE_URL
	db    string // the DB instance that URL reaches now; "": none of the tier's
}

// groupDatabases is each group's database at its launch template version
// now; resolve maps a DATABASE_URL to the DB instance behind it.
func (l *Lab) groupDatabases(resolve func(url string) string) []groupDatabase {
	var out []groupDatabase
	for _, sv := range l.services {
		if sv.group != nil {
			u := l.databaseURLAt(sv.fleet, sv.group.LaunchTemplateVersion())
			out = append(out, groupDatabase{group: "service " + sv.name, url: u, db: resolve(u)})
		}
	}
	if len(out) == 0 && l.Group != nil {
		u := l.databaseURLAt(l.fleet, l.Group.LaunchTemplateVersion())
		out = append(out, groupDatabase{group: "the group", url: u, db: resolve(u)})
	}
	return out
}

// databaseURLAt is the DATABASE_URL an instance of fleet f launched from
// launch template version v gets: the tier's writer endpoint, under the
// template's own environment, under the version's (fleet.Allocate's order).
func (l *Lab) databaseURLAt(f *fleet, v int) string {
	u := l.databaseEnv()["DATABASE_URL"]
	if x, ok := f.st.LaunchTemplate.Environment["DATABASE_URL"]; ok {
		u = x
	}
	if x, ok := l.versionEnvironment(f, v)["DATABASE_URL"]; ok {
		u = x
	}
	return u
}

// endpointDB is the DB instance a DATABASE_URL reaches now: the primary
// through the writer endpoint, a read replica (promoted or not) through
// its own; "" for an address that is none of the tier's endpoints, or a
// cluster's reader endpoint (no one DB instance).
func (l *Lab) endpointDB(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return ""
	}
	host, port := u.Hostname(), u.Port()
	for _, e := range l.DB.Endpoints() {
		a := e.Addr()
		if port != strconv.Itoa(int(a.Port())) || (host != a.Addr().String() && host != e.Name) {
			continue
		}
		switch {
		case e == l.DB.WriterEndpoint():
			return l.DB.Primary().Identifier
		case e.Kind == rds.EndpointReader:
			return ""
		}
		return e.For
	}
	return ""
}

// chooseAppDatabase is the DB instance lost_writes is checked on: the one
// most groups write to (the first group's on a tie; a group whose URL
// reaches none of the tier's DB instances counts for none), and a note
// naming each group that writes elsewhere, whose writes are not checked
// there: a split, as a half-done repoint leaves. "" with no group.
func chooseAppDatabase(gs []groupDatabase) (string, string) {
	count := map[string]int{}
	id := ""
	for _, g := range gs {
		if g.db == "" {
			continue
		}
		count[g.db]++
		if id == "" || count[g.db] > count[id] {
			id = g.db
		}
	}
	var others []string
	for _, g := range gs {
		switch {
		case g.db == "":
			others = append(others, fmt.Sprintf("%s's DATABASE_URL (%s) reaches none of the tier's DB instances", g.group, redactURL(g.url)))
		case g.db != id:
			others = append(others, fmt.Sprintf("%s writes to %s", g.group, g.db))
		}
	}
	if len(others) == 0 {
		return id, ""
	}
	return id, "; not checked: " + strings.Join(others, ", ")
}

// redactURL is rawURL without its password.
func redactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "an unparsable URL"
	}
	return u.Redacted()
}
