package tfimport

import (
	"slices"
	"strconv"
	"strings"

	"github.com/simplydone/lab/stack"
)

// dbEngineWhy says why a DB instance or cluster of an engine is not
// rehearsed; "" for RDS for PostgreSQL, which the lab runs.
func dbEngineWhy(engine string) string {
	switch {
	case engine == "postgres":
		return ""
	case strings.HasPrefix(engine, "aurora"):
		return "Aurora is not rehearsed: its shared storage and failover are not RDS's; the lab's data tier is RDS for PostgreSQL (a DB instance, Multi-AZ, or a Multi-AZ DB cluster)"
	default:
		return "the lab's data tier runs PostgreSQL (RDS for PostgreSQL); engine " + engine + " is not rehearsed"
	}
}

// database maps the data tier onto the stack's database section: the
// first RDS for PostgreSQL Multi-AZ DB cluster (aws_rds_cluster with
// db_cluster_instance_class) or source DB instance (aws_db_instance
// without replicate_source_db), its DB subnet group's zones and the DB
// instances that replicate it. The password never goes into the stack:
// the lab makes one per run.
func (m *mapper) database() {
	var primary *Instance
	for _, c := range m.byType["aws_rds_cluster"] {
		if m.dbEngine(c) == "postgres" && c.Body.Attrs["db_cluster_instance_class"] != nil {
			primary = c
			break
		}
	}
	if primary == nil {
		for _, i := range m.byType["aws_db_instance"] {
			if i.Body.Attrs["replicate_source_db"] == nil && m.dbEngine(i) == "postgres" {
				primary = i
				break
			}
		}
	}
	if primary == nil {
		m.otherDatabases(nil)
		return
	}
	m.used[primary] = true
	cluster := canonical(primary.Type) == "aws_rds_cluster"
	b := primary.Body
	const p = "database."
	m.d.set(p+"engine", "postgres", m.from(primary, b.attr("engine"), "engine"))
	if cluster {
		m.setOptStr(p+"identifier", primary, b, "cluster_identifier")
		m.setOptStr(p+"db_cluster_instance_class", primary, b, "db_cluster_instance_class")
		m.setOptStr(p+"db_name", primary, b, "database_name")
		m.setOptStr(p+"username", primary, b, "master_username")
	} else {
		m.setOptStr(p+"identifier", primary, b, "identifier")
		m.setOptStr(p+"db_instance_class", primary, b, "instance_class")
		m.setOptStr(p+"db_name", primary, b, "db_name")
		m.setOptStr(p+"username", primary, b, "username")
		m.setOptStr(p+"availability_zone", primary, b, "availability_zone")
		if v := b.attr("multi_az"); v != nil {
			if on, ok := m.boolean(primary, v, "multi_az", "taking false, a Single-AZ DB instance (AWS's default)"); ok {
				m.d.set(p+"multi_az", on, m.from(primary, v, "multi_az"))
			}
		}
	}
	if v := b.attr("identifier_prefix"); v != nil {
		m.note(v, Inexact, primary.Addr+": identifier_prefix", "AWS adds a random suffix to the prefix; the stack takes its default identifier, <stack name>-db")
	}
	m.setOptStr(p+"engine_version", primary, b, "engine_version")
	m.setOptInt(p+"allocated_storage", primary, b, "allocated_storage")
	m.setOptStr(p+"storage_type", primary, b, "storage_type")
	m.setOptInt(p+"iops", primary, b, "iops")
	m.setOptInt(p+"port", primary, b, "port")
	for _, a := range []string{"password", "master_password", "manage_master_user_password", "master_user_secret_kms_key_id"} {
		if v := b.attr(a); v != nil {
			m.note(v, NotModelled, primary.Addr+": "+a, "the password never goes into the stack; the lab makes one per run and gives it to the instances in DATABASE_URL")
		}
	}
	m.dbZones(primary, cluster)
	if !cluster {
		m.readReplicas(primary)
	}
	m.otherDatabases(primary)
}

// otherDatabases notes the DB resources the mapping left: another engine,
// Aurora, or a second PostgreSQL tier.
func (m *mapper) otherDatabases(primary *Instance) {
	all := slices.Concat(m.byType["aws_rds_cluster"], m.byType["aws_db_instance"], m.byType["aws_rds_cluster_instance"])
	for _, other := range all {
		if m.used[other] {
			continue
		}
		engine := m.dbEngine(other)
		switch why := dbEngineWhy(engine); {
		case engine == "":
			continue // unmodelled() says why (not known offline, or no engine of its own)
		case why != "":
			m.instNote(other, NotModelled, other.Addr, "%s", why)
		case primary != nil:
			m.instNote(other, NotModelled, other.Addr, "a second data tier; the lab rehearses one (%s) and its read replicas", primary.Addr)
		default:
			continue
		}
		m.used[other] = true
		markAll(other.Body)
	}
}

// dbEngine is a DB resource's engine ("" when not known offline).
func (m *mapper) dbEngine(i *Instance) string {
	v := i.Body.Attrs["engine"]
	if v == nil || !v.V.IsWhollyKnown() || !isStr(v.V) {
		return ""
	}
	return v.V.AsString()
}

// dbZones maps the DB subnet group's zones (its subnets' zones), or a
// cluster's availability_zones.
func (m *mapper) dbZones(primary *Instance, cluster bool) {
	const field = "database.db_subnet_group.availability_zones"
	if v := primary.Body.attr("db_subnet_group_name"); v != nil {
		name, ok := m.str(primary, v, "db_subnet_group_name", "the subnet group's zones are the stack's")
		sg := m.ref(name, "aws_db_subnet_group")
		if ok && sg == nil {
			m.note(v, Offline, primary.Addr+": db_subnet_group_name", "DB subnet group %q is not declared in the configuration; its zones are not known offline, the stack's are taken", name)
		}
		if sg != nil {
			m.used[sg] = true
			sv := sg.Body.attr("subnet_ids")
			var zs []string
			for _, id := range m.strs(sg, sv, "subnet_ids") {
				sn := m.ref(id, "aws_subnet")
				if sn == nil {
					m.note(sv, Offline, sg.Addr+": subnet_ids", "subnet %q is not declared in the configuration; its zone is not known offline", id)
					continue
				}
				m.zoneSubnets[sn] = true
				if z, ok := m.str(sn, sn.Body.attr("availability_zone"), "availability_zone", "the subnet's zone is left out"); ok && !contains(zs, z) {
					zs = append(zs, z)
				}
			}
			if len(zs) > 0 {
				m.d.set(field, zs, m.from(sg, sv, "subnet_ids → aws_subnet availability_zone"))
				return
			}
		}
	}
	if cluster {
		if v := primary.Body.attr("availability_zones"); v != nil {
			if zs := m.strs(primary, v, "availability_zones"); len(zs) > 0 {
				m.d.set(field, zs, m.from(primary, v, "availability_zones"))
			}
		}
	}
}

// readReplicas maps the DB instances whose replicate_source_db names the
// primary (by identifier, id or ARN).
func (m *mapper) readReplicas(primary *Instance) {
	n := 0
	for _, r := range m.byType["aws_db_instance"] {
		v := r.Body.Attrs["replicate_source_db"]
		if v == nil || r == primary {
			continue
		}
		src, ok := m.str(r, r.Body.attr("replicate_source_db"), "replicate_source_db", "not a read replica of the rehearsed tier")
		if !ok || m.ref(src, "aws_db_instance") != primary {
			continue
		}
		m.used[r] = true
		path := "database.read_replicas[" + strconv.Itoa(n) + "]."
		if v := r.Body.attr("identifier"); v != nil {
			m.setOptStr(path+"identifier", r, r.Body, "identifier")
		} else {
			m.d.set(path+"identifier", strings.ReplaceAll(r.Name, "_", "-"), "not set, AWS generates one: the resource's name")
		}
		m.setOptStr(path+"availability_zone", r, r.Body, "availability_zone")
		m.setOptStr(path+"db_instance_class", r, r.Body, "instance_class")
		for _, a := range []string{"engine", "engine_version", "allocated_storage", "storage_type", "port", "username", "db_subnet_group_name"} {
			r.Body.attr(a) // a replica takes these from its source
		}
		n++
		if n == stack.MaxReadReplicas {
			break
		}
	}
}

// setOptStr and setOptInt write a field only when the argument is there
// and known: the stack's own default (RDS's) stands otherwise.
func (m *mapper) setOptStr(field string, i *Instance, b *Body, attr string) {
	if v := b.attr(attr); v != nil {
		if s, ok := m.str(i, v, attr, "taking the stack's default (RDS's)"); ok {
			m.d.set(field, s, m.from(i, v, b.prefix+attr))
		}
	}
}

func (m *mapper) setOptInt(field string, i *Instance, b *Body, attr string) {
	if v := b.attr(attr); v != nil {
		if n, ok := m.integer(i, v, attr, "taking the stack's default (RDS's)"); ok {
			m.d.set(field, n, m.from(i, v, b.prefix+attr))
		}
	}
}
