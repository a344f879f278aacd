package scenarios

import (
	"fmt"
	"slices"
	"strings"

	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/internal/yamlcheck"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/stack"
)

// validateDBConnections checks db-connections' own field, connections,
// and, against the scenario's stack: that it has a database, that
// db_instance names a DB instance that takes connections (a Multi-AZ
// standby serves none, as on RDS), and that the client asks for no more
// than that instance's max_connections (RDS's formula for its class).
func (p parser) validateDBConnections(s *Scenario) {
	var st *stack.Stack
	loaded := false
	for i, a := range s.Chaos {
		path := yamlcheck.Index("chaos", i)
		f := path + ".connections"
		given := p.Has(f) && !p.Bad(f)
		if a.Action != chaos.DBConnections {
			if p.Has(f) {
				p.Errf(f, "not allowed with %s; only db-connections takes connections", a.Action)
			}
			continue
		}
		switch {
		case !p.Has(f):
			p.Errf(f, "missing; db-connections needs how many connections the leaky client holds, such as 100")
			continue
		case !given:
			continue
		case a.Connections < 1:
			p.Errf(f, "%d is not allowed; give how many connections the leaky client holds, 1 or more", a.Connections)
			continue
		}
		if !loaded {
			loaded = true
			if !p.Bad("stack") {
				st, _ = s.ResolveStack() // a stack that does not load is reported where stack is checked
			}
		}
		if st == nil {
			continue
		}
		if st.Database == nil {
			p.Errf(path+".action", "db-connections is not allowed on stack %s: it has no database section", st.Name)
			continue
		}
		in, problem := dbInstanceFor(st.Database, a.DBInstance)
		if problem != "" {
			if dbf := path + ".db_instance"; !p.Bad(dbf) {
				p.Errf(dbf, "%s", problem)
			}
			continue
		}
		class, ok := az.LookupDBInstanceClass(in.Class)
		if !ok {
			continue // the stack's own validation names a bad class
		}
		if max := class.AppConnections(); a.Connections > max {
			p.Errf(f, "%d is more than a client without SUPERUSER can hold on DB instance %s: its max_connections is %d (%s), %d of them reserved for superusers (superuser_reserved_connections); give 1 to %d",
				a.Connections, in.Identifier, class.MaxConnections(), class.Name, az.ReservedConnections, max)
		}
	}
}

// dbInstanceFor is the stack's DB instance which names (chaos.DBPrimary,
// "" for the primary, chaos.DBReplica, or an identifier) for a client's
// connections, or what is wrong with which and what is allowed.
func dbInstanceFor(d *stack.Database, which string) (stack.DBInstance, string) {
	ins := d.Instances()
	if len(ins) == 0 {
		return stack.DBInstance{}, "the stack's database has no DB instance"
	}
	var ids []string
	for _, in := range ins {
		if in.Role != stack.RoleStandby {
			ids = append(ids, in.Identifier)
		}
	}
	allowed := fmt.Sprintf("use %s, %s or one of %s", chaos.DBPrimary, chaos.DBReplica, strings.Join(ids, ", "))
	switch which {
	case "", chaos.DBPrimary:
		return ins[0], ""
	case chaos.DBReplica:
		for _, role := range []stack.DBRole{stack.RoleReadReplica, stack.RoleReader} {
			if k := slices.IndexFunc(ins, func(in stack.DBInstance) bool { return in.Role == role }); k >= 0 {
				return ins[k], ""
			}
		}
		return stack.DBInstance{}, fmt.Sprintf("%s is not allowed: the database has no read replica or reader; use %s or %s", which, chaos.DBPrimary, ins[0].Identifier)
	}
	k := slices.IndexFunc(ins, func(in stack.DBInstance) bool { return in.Identifier == which })
	switch {
	case k < 0:
		return stack.DBInstance{}, fmt.Sprintf("%q is not a DB instance of the stack; %s", which, allowed)
	case ins[k].Role == stack.RoleStandby:
		return stack.DBInstance{}, fmt.Sprintf("%q is a Multi-AZ standby, which serves no connections (as on RDS); %s", which, allowed)
	}
	return ins[k], ""
}
