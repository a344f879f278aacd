package lab

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
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

// repoints are the launch template versions the team made and the DB
// instance the application was last pointed at.
type repoints struct {
	mu       sync.Mutex
	versions map[*fleet]map[int]map[string]string // each fleet's versions made at run time: their environment over the template's
	appDB    string                               // the DB instance repointed to ("": the source's own endpoint)
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
		f *fleet
		g *asg.Group
	}
	var svcs []svc
	for _, sv := range l.services {
		if sv.group != nil {
			svcs = append(svcs, svc{sv.fleet, sv.group})
		}
	}
	if len(svcs) == 0 && l.Group != nil {
		svcs = append(svcs, svc{l.fleet, l.Group})
	}
	if len(svcs) == 0 {
		return chaos.Repointed{}, errors.New("the lab has no Auto Scaling group to redeploy")
	}
	out := chaos.Repointed{Identifier: s.Identifier, Endpoint: e.Name}
	var errs []error
	for i, sv := range svcs {
		v := l.newVersion(sv.f, sv.g.LaunchTemplateVersion(), env)
		id, err := sv.g.StartInstanceRefresh(v, asg.RefreshPreferences{})
		ev := DeployStarted{Version: v, Strategy: scenarios.StrategyRolling, RefreshID: id}
		if len(svcs) > 1 {
			ev.Service = l.services[i].name
		}
		if err != nil {
			ev.Error = err.Error()
			errs = append(errs, fmt.Errorf("launch template version %d: %w", v, err))
		}
		l.Bus.Publish(ev)
		if i == 0 {
			out.Version, out.RefreshID = v, id
		}
	}
	if err := errors.Join(errs...); err != nil {
		return out, err
	}
	l.repoints.mu.Lock()
	l.repoints.appDB = s.Identifier
	if s.Role == stack.RolePrimary {
		l.repoints.appDB = ""
	}
	l.repoints.mu.Unlock()
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

// appDatabase is the DB instance the application writes to at the end: the
// one the team last repointed it at (a promoted read replica), else the
// primary there is now. The instances the refresh has not replaced yet
// write elsewhere: the last repoint decides, as the launch template does.
func (l *Lab) appDatabase() rds.Server {
	l.repoints.mu.Lock()
	id := l.repoints.appDB
	l.repoints.mu.Unlock()
	if id != "" {
		for _, s := range l.DB.Servers() {
			if s.Identifier == id {
				return s
			}
		}
	}
	return l.DB.Primary()
}
