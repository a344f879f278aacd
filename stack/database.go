package stack

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/simplydone/lab/internal/yamlcheck"
	"github.com/simplydone/lab/sim/az"
)

// Database is the stack's data tier in RDS's terms: one RDS for PostgreSQL
// DB instance (Single-AZ, or Multi-AZ with a synchronous standby in another
// zone that serves no reads), or a Multi-AZ DB cluster (a writer and two
// readable standbys in three zones), and its asynchronous read replicas.
// Field names are CreateDBInstance's and CreateDBCluster's as Terraform
// spells them (aws_db_instance, aws_rds_cluster).
type Database struct {
	// Identifier is db_instance_identifier (db_cluster_identifier for a
	// cluster); default "<stack name>-db".
	Identifier string
	Engine     string // engine: postgres, the only engine the lab runs
	// EngineVersion is engine_version, a major ("16") or major.minor
	// ("16.4"); "" is AWS's default version (the lab runs the installed
	// server either way; the preflight says when they differ).
	EngineVersion string
	// InstanceClass is db_instance_class, or a cluster's
	// db_cluster_instance_class (every instance of the cluster has it).
	InstanceClass string
	// Cluster is a Multi-AZ DB cluster: the file gave db_cluster_instance_class.
	Cluster bool
	// MultiAZ is multi_az: a Multi-AZ DB instance, with a synchronous
	// standby in another zone. A cluster is always Multi-AZ.
	MultiAZ          bool
	AllocatedStorage int    // allocated_storage, GiB; the lab holds the data directory to it
	StorageType      string // storage_type: gp2 (the API's default without iops), gp3, io1, io2
	IOPS             int    // iops: 0 = not set
	// AvailabilityZone is availability_zone: the primary's (writer's) zone.
	// AWS does not let a Multi-AZ deployment set it; "" = the subnet
	// group's first zone (the lab's choice, where AWS picks one).
	AvailabilityZone string
	Port             int    // port; default 5432
	DBName           string // db_name; default "postgres", the database RDS for PostgreSQL always has
	Username         string // username (MasterUsername); default "postgres". The password is never in the file.
	// SubnetGroupZones is db_subnet_group.availability_zones: the zones of
	// the DB subnet group; default the stack's zones.
	SubnetGroupZones []string
	ReadReplicas     []ReadReplica
}

// ReadReplica is one read replica (CreateDBInstanceReadReplica): an
// asynchronous, readable copy of the source instance.
type ReadReplica struct {
	Identifier       string // default "<database identifier>-replica-<n>", n from 1
	AvailabilityZone string // default: the subnet group's zones in turn after the primary's
	InstanceClass    string // db_instance_class; default the source's
}

// Database defaults and AWS's limits for RDS for PostgreSQL.
const (
	DefaultDBPort    = 5432
	DefaultDBStorage = 20 // GiB; AWS requires a size, the lab takes the gp2/gp3 minimum
	// MaxReadReplicas is how many read replicas a source DB instance may
	// have (CreateDBInstanceReadReplica's SourceDBInstanceIdentifier: up to
	// 15, except Db2, Oracle and SQL Server).
	MaxReadReplicas = 15
	// MinDBEngineMajor and MaxDBEngineMajor bound the RDS for PostgreSQL
	// majors the lab accepts: 11 and 12 under RDS Extended Support, to 17.
	MinDBEngineMajor = 11
	MaxDBEngineMajor = 17
)

var (
	dbEngines        = []string{"postgres"}
	dbStorageTypes   = []string{"gp2", "gp3", "io1", "io2"}
	clusterStorage   = []string{"gp3", "io1", "io2"}
	otherEngines     = []string{"mysql", "mariadb", "aurora-postgresql", "aurora-mysql", "oracle-ee", "oracle-se2", "sqlserver-ex", "sqlserver-web", "sqlserver-se", "sqlserver-ee", "db2-se", "db2-ae"}
	dbIdentifierRule = regexp.MustCompile(`^[A-Za-z]([A-Za-z0-9]|-[A-Za-z0-9]){0,62}$`)
	dbNameRule       = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,62}$`)
	engineVersion    = regexp.MustCompile(`^([0-9]+)(\.[0-9]+)?$`)
	// reservedUsernames are names RDS for PostgreSQL keeps for itself.
	reservedUsernames = []string{"rdsadmin", "rdsrepladmin", "rds_superuser", "rds_replication", "rdstopmgr"}
)

// DBInstance is one database server of the tier, in the order the lab
// starts them: the primary (a cluster's writer), the standby or the
// cluster's two readers, then the read replicas.
type DBInstance struct {
	Identifier string
	Role       DBRole
	Zone       string
	Class      string
}

// DBRole is what one server of the tier is.
type DBRole string

// The roles, in RDS's words.
const (
	RolePrimary     DBRole = "primary"      // a DB instance's primary, or a cluster's writer
	RoleStandby     DBRole = "standby"      // a Multi-AZ DB instance's synchronous standby: no reads
	RoleReader      DBRole = "reader"       // a Multi-AZ DB cluster's readable standby
	RoleReadReplica DBRole = "read-replica" // asynchronous, readable
)

// Instances lists the tier's servers and their zones: the primary in
// AvailabilityZone (else the subnet group's first zone), a Multi-AZ
// instance's standby in the next zone of the group, a cluster's readers in
// the next two, and each read replica where it says (else the group's
// zones in turn after the primary's). The standbys are named
// "<identifier>-standby" and "<identifier>-reader-<n>": AWS gives them no
// name of their own.
func (d *Database) Instances() []DBInstance {
	zones := d.SubnetGroupZones
	if len(zones) == 0 {
		return nil
	}
	primary := d.AvailabilityZone
	if primary == "" {
		primary = zones[0]
	}
	at := max(slices.Index(zones, primary), 0)
	next := func(k int) string { return zones[(at+k)%len(zones)] }
	out := []DBInstance{{Identifier: d.Identifier, Role: RolePrimary, Zone: primary, Class: d.InstanceClass}}
	switch {
	case d.Cluster:
		for k := 1; k <= 2; k++ {
			out = append(out, DBInstance{Identifier: fmt.Sprintf("%s-reader-%d", d.Identifier, k), Role: RoleReader, Zone: next(k), Class: d.InstanceClass})
		}
	case d.MultiAZ:
		out = append(out, DBInstance{Identifier: d.Identifier + "-standby", Role: RoleStandby, Zone: next(1), Class: d.InstanceClass})
	}
	for i, r := range d.ReadReplicas {
		z := r.AvailabilityZone
		if z == "" {
			z = next(1 + i)
		}
		out = append(out, DBInstance{Identifier: r.Identifier, Role: RoleReadReplica, Zone: z, Class: r.InstanceClass})
	}
	return out
}

// database reads the database section.
func (p *parser) database(n *yaml.Node, s *Stack) {
	const path = "database"
	m := p.Mapping(n, path, "identifier", "engine", "engine_version", "db_instance_class", "db_cluster_instance_class",
		"multi_az", "allocated_storage", "storage_type", "iops", "availability_zone", "port", "db_name", "username",
		"db_subnet_group", "read_replicas")
	if m == nil {
		return
	}
	d := &Database{Port: DefaultDBPort, AllocatedStorage: DefaultDBStorage, StorageType: "gp2", DBName: "postgres", Username: "postgres"}
	p.Str(m, path, "identifier", &d.Identifier)
	p.Str(m, path, "engine", &d.Engine)
	p.Str(m, path, "engine_version", &d.EngineVersion)
	p.Str(m, path, "db_instance_class", &d.InstanceClass)
	if m["db_cluster_instance_class"] != nil && m["db_instance_class"] == nil { // both: one error, no cluster rules on top
		d.Cluster = true
		p.Str(m, path, "db_cluster_instance_class", &d.InstanceClass)
	}
	p.Bool(m, path, "multi_az", &d.MultiAZ)
	p.Int(m, path, "allocated_storage", &d.AllocatedStorage)
	p.Str(m, path, "storage_type", &d.StorageType)
	p.Int(m, path, "iops", &d.IOPS)
	p.Str(m, path, "availability_zone", &d.AvailabilityZone)
	p.Int(m, path, "port", &d.Port)
	p.Str(m, path, "db_name", &d.DBName)
	p.Str(m, path, "username", &d.Username)
	const gpath = path + ".db_subnet_group"
	g := p.Mapping(m["db_subnet_group"], gpath, "availability_zones")
	p.StrList(g, gpath, "availability_zones", &d.SubnetGroupZones)
	const rpath = path + ".read_replicas"
	for i, rn := range p.List(m["read_replicas"], rpath) {
		ipath := yamlcheck.Index(rpath, i)
		rm := p.Mapping(rn, ipath, "identifier", "availability_zone", "db_instance_class")
		var r ReadReplica
		p.Str(rm, ipath, "identifier", &r.Identifier)
		p.Str(rm, ipath, "availability_zone", &r.AvailabilityZone)
		p.Str(rm, ipath, "db_instance_class", &r.InstanceClass)
		d.ReadReplicas = append(d.ReadReplicas, r)
	}
	s.Database = d
}

// deriveDatabase fills the defaults that depend on other settings: the
// identifier from the stack's name, the subnet group's zones from the
// stack's, each replica's identifier and class from the source's.
func (p *parser) deriveDatabase(s *Stack) {
	d := s.Database
	if d == nil {
		return
	}
	if !p.Has("database.identifier") {
		d.Identifier = s.Name + "-db"
	}
	if !p.Has("database.db_subnet_group.availability_zones") {
		d.SubnetGroupZones = slices.Clone(s.Zones)
	}
	if d.Cluster {
		d.MultiAZ = true
	}
	for i := range d.ReadReplicas {
		r := &d.ReadReplicas[i]
		if !p.Has(yamlcheck.Index("database.read_replicas", i) + ".identifier") {
			r.Identifier = fmt.Sprintf("%s-replica-%d", d.Identifier, i+1)
		}
		if r.InstanceClass == "" {
			r.InstanceClass = d.InstanceClass
		}
	}
}

// validateDatabase checks the database section against RDS's rules for
// PostgreSQL (CreateDBInstance, CreateDBCluster, CreateDBSubnetGroup,
// CreateDBInstanceReadReplica).
func (p *parser) validateDatabase(s *Stack) {
	d := s.Database
	if d == nil {
		return
	}
	const path = "database"
	p.dbIdentifier(path+".identifier", d.Identifier)
	switch {
	case !p.Has(path + ".engine"):
		p.Errf(path+".engine", "missing; give engine: postgres (RDS requires an engine; the lab runs PostgreSQL)")
	case slices.Contains(otherEngines, d.Engine):
		p.Errf(path+".engine", "%q is an RDS engine the lab does not run; use postgres", d.Engine)
	default:
		p.OneOf(path+".engine", d.Engine, dbEngines)
	}
	if d.EngineVersion != "" {
		mm := engineVersion.FindStringSubmatch(d.EngineVersion)
		major := 0
		if mm != nil {
			major, _ = strconv.Atoi(mm[1])
		}
		if mm == nil || major < MinDBEngineMajor || major > MaxDBEngineMajor {
			p.Errf(path+".engine_version", "%q is not an RDS for PostgreSQL version; use a major from %d to %d, as in \"16\" or \"16.4\"", d.EngineVersion, MinDBEngineMajor, MaxDBEngineMajor)
		}
	}
	p.validateDBClass(d)
	if d.Cluster && p.Has(path+".multi_az") {
		p.Errf(path+".multi_az", "given with db_cluster_instance_class; a Multi-AZ DB cluster is always Multi-AZ (a writer and two readable standbys): remove multi_az")
	}
	p.validateDBStorage(d)
	if !p.Bad(path+".port") && (d.Port < 1150 || d.Port > 65535) {
		p.Errf(path+".port", "%d is not allowed; RDS for PostgreSQL takes a port from 1150 to 65535 (default 5432)", d.Port)
	}
	if !dbNameRule.MatchString(d.DBName) {
		p.Errf(path+".db_name", "%q is not allowed; use 1-63 letters, digits and _, starting with a letter", d.DBName)
	}
	switch {
	case !dbNameRule.MatchString(d.Username):
		p.Errf(path+".username", "%q is not allowed; use 1-63 letters, digits and _, starting with a letter", d.Username)
	case slices.Contains(reservedUsernames, strings.ToLower(d.Username)):
		p.Errf(path+".username", "%q is reserved by RDS; pick another master username", d.Username)
	}
	p.validateDBZones(s)
	p.validateReplicas(d)
}

// dbIdentifier checks a DB instance or cluster identifier: 1-63 letters,
// digits and hyphens, starting with a letter, no two hyphens in a row and
// none at the end.
func (p *parser) dbIdentifier(field, id string) {
	if !p.Bad(field) && (len(id) > 63 || !dbIdentifierRule.MatchString(id)) {
		p.Errf(field, "%q is not a DB identifier; use 1-63 letters, digits and hyphens, starting with a letter, with no two hyphens in a row and none at the end", id)
	}
}

func (p *parser) validateDBClass(d *Database) {
	const path = "database"
	hasInst, hasCluster := p.Has(path+".db_instance_class"), p.Has(path+".db_cluster_instance_class")
	field := path + ".db_instance_class"
	if hasCluster {
		field = path + ".db_cluster_instance_class"
	}
	switch {
	case hasInst && hasCluster:
		p.Errf(path+".db_cluster_instance_class", "given with db_instance_class; use one: db_instance_class (a DB instance, Multi-AZ with multi_az) or db_cluster_instance_class (a Multi-AZ DB cluster)")
	case !hasInst && !hasCluster:
		p.Errf(field, "missing; give db_instance_class (as in db.t3.micro), or db_cluster_instance_class for a Multi-AZ DB cluster")
	default:
		p.dbClass(field, d.InstanceClass, d.Cluster)
	}
}

// dbClass checks a class name against the lab's table; for a cluster, only
// the classes Multi-AZ DB clusters support.
func (p *parser) dbClass(field, name string, cluster bool) {
	if p.Bad(field) {
		return
	}
	c, ok := az.LookupDBInstanceClass(name)
	if ok && (!cluster || c.Cluster) {
		return
	}
	what := "a DB instance class the lab knows"
	if cluster {
		what = "a class Multi-AZ DB clusters support"
	}
	msg := fmt.Sprintf("%q is not %s; use a %s class, as in %s", name, what,
		strings.Join(az.DBInstanceClassFamilies(cluster), ", "), az.DBInstanceClassNames(cluster)[0])
	if hint := yamlcheck.Closest(name, az.DBInstanceClassNames(cluster)); hint != "" {
		msg += "; did you mean " + hint + "?"
	}
	p.Errf(field, "%s", msg)
}

// validateDBStorage checks the storage type and size as CreateDBInstance
// does for PostgreSQL (gp2 and gp3 20-65536 GiB; io1 and io2 100-65536
// GiB with 1000-256000 IOPS), and a cluster's storage (gp3, io1 or io2).
func (p *parser) validateDBStorage(d *Database) {
	const path = "database"
	allowed := dbStorageTypes
	if d.Cluster {
		allowed = clusterStorage
	}
	if !p.OneOf(path+".storage_type", d.StorageType, allowed) {
		return
	}
	provisioned := d.StorageType == "io1" || d.StorageType == "io2"
	lo := 20
	if provisioned {
		lo = 100
	}
	if !p.Bad(path+".allocated_storage") && (d.AllocatedStorage < lo || d.AllocatedStorage > 65536) {
		p.Errf(path+".allocated_storage", "%d GiB is not allowed for %s; RDS for PostgreSQL takes %d to 65536 GiB", d.AllocatedStorage, d.StorageType, lo)
	}
	if p.Bad(path + ".iops") {
		return
	}
	switch {
	case provisioned && !p.Has(path+".iops"):
		p.Errf(path+".iops", "missing; %s storage needs provisioned IOPS (1000 to 256000)", d.StorageType)
	case provisioned && (d.IOPS < 1000 || d.IOPS > 256000):
		p.Errf(path+".iops", "%d is not allowed; RDS for PostgreSQL takes 1000 to 256000 provisioned IOPS", d.IOPS)
	case d.StorageType == "gp2" && p.Has(path+".iops"):
		p.Errf(path+".iops", "not allowed with gp2, whose IOPS follow its size; use gp3, io1 or io2 to provision IOPS")
	case d.StorageType == "gp3" && p.Has(path+".iops") && d.AllocatedStorage < 400:
		p.Errf(path+".iops", "not allowed with gp3 below 400 GiB (%d GiB given), where RDS for PostgreSQL gives a baseline of 3000 IOPS", d.AllocatedStorage)
	case d.StorageType == "gp3" && p.Has(path+".iops") && (d.IOPS < 12000 || d.IOPS > 64000):
		p.Errf(path+".iops", "%d is not allowed; gp3 from 400 GiB takes 12000 to 64000 IOPS", d.IOPS)
	}
}

// validateDBZones checks the DB subnet group's zones (the stack's own, at
// least two, three for a cluster) and where the primary may go.
func (p *parser) validateDBZones(s *Stack) {
	d := s.Database
	const gpath = "database.db_subnet_group.availability_zones"
	seen := map[string]bool{}
	for i, z := range d.SubnetGroupZones {
		field := yamlcheck.Index(gpath, i)
		switch {
		case !slices.Contains(s.Zones, z):
			p.Errf(field, "%q is not one of the stack's availability_zones (%s); a DB subnet group's subnets are the stack's", z, strings.Join(s.Zones, ", "))
		case seen[z]:
			p.Errf(field, "%s is listed twice; list each zone once", z)
		}
		seen[z] = true
	}
	switch n := len(seen); {
	case p.Bad(gpath):
	case d.Cluster && n < 3:
		p.Errf(gpath, "%d zone(s) given; a Multi-AZ DB cluster's DB subnet group must cover at least 3 Availability Zones", n)
	case n < 2:
		p.Errf(gpath, "%d zone(s) given; a DB subnet group must cover at least 2 Availability Zones", n)
	}
	const zpath = "database.availability_zone"
	switch {
	case d.AvailabilityZone == "":
	case d.MultiAZ:
		p.Errf(zpath, "given with a Multi-AZ deployment; RDS does not let a Multi-AZ DB instance or cluster set its Availability Zone (the lab puts the primary in the subnet group's first zone): remove availability_zone or reorder db_subnet_group.availability_zones")
	case !seen[d.AvailabilityZone]:
		p.Errf(zpath, "%q is not in the DB subnet group (%s)", d.AvailabilityZone, strings.Join(d.SubnetGroupZones, ", "))
	}
}

// validateReplicas checks the read replicas: at most 15, each in the DB
// subnet group, with a known class and a unique identifier.
func (p *parser) validateReplicas(d *Database) {
	const rpath = "database.read_replicas"
	if len(d.ReadReplicas) > MaxReadReplicas {
		p.Errf(rpath, "%d given; RDS allows at most %d read replicas per source DB instance", len(d.ReadReplicas), MaxReadReplicas)
	}
	ids := map[string]bool{}
	for _, in := range d.Instances() {
		if in.Role != RoleReadReplica {
			ids[in.Identifier] = true
		}
	}
	for i, r := range d.ReadReplicas {
		ipath := yamlcheck.Index(rpath, i)
		p.dbIdentifier(ipath+".identifier", r.Identifier)
		if ids[r.Identifier] && !p.Bad(ipath+".identifier") {
			p.Errf(ipath+".identifier", "%q is already the name of another DB instance of the stack; identifiers must be unique", r.Identifier)
		}
		ids[r.Identifier] = true
		if r.AvailabilityZone != "" && !slices.Contains(d.SubnetGroupZones, r.AvailabilityZone) {
			p.Errf(ipath+".availability_zone", "%q is not in the DB subnet group (%s)", r.AvailabilityZone, strings.Join(d.SubnetGroupZones, ", "))
		}
		field := ipath + ".db_instance_class"
		if !p.Has(field) {
			continue // the source's, checked there
		}
		p.dbClass(field, r.InstanceClass, false)
	}
}
