package stack

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/simplydone/lab/sim/az"
)

// TestDatabaseParse reads a Multi-AZ DB instance with a read replica, with
// RDS's defaults for what the file leaves out: port 5432, gp2, 20 GiB, the
// database and master user "postgres", the stack's zones as the DB subnet
// group, "<stack>-db" as the identifier, a replica's class its source's.
func TestDatabaseParse(t *testing.T) {
	s, err := Parse("s.yaml", []byte(head+group+`database:
  engine: postgres
  engine_version: "16"
  db_instance_class: db.t3.micro
  multi_az: true
  read_replicas:
    - {availability_zone: us-east-1c}
    - {identifier: reports, db_instance_class: db.r5.large}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := &Database{Identifier: "web-db", Engine: "postgres", EngineVersion: "16", InstanceClass: "db.t3.micro",
		MultiAZ: true, AllocatedStorage: 20, StorageType: "gp2", Port: 5432, DBName: "postgres", Username: "postgres",
		SubnetGroupZones: []string{"us-east-1a", "us-east-1b", "us-east-1c"},
		ReadReplicas: []ReadReplica{
			{Identifier: "web-db-replica-1", AvailabilityZone: "us-east-1c", InstanceClass: "db.t3.micro"},
			{Identifier: "reports", InstanceClass: "db.r5.large"},
		}}
	if !reflect.DeepEqual(s.Database, want) {
		t.Fatalf("got  %+v\nwant %+v", s.Database, want)
	}
	got := s.Database.Instances()
	wantIn := []DBInstance{
		{"web-db", RolePrimary, "us-east-1a", "db.t3.micro"},
		{"web-db-standby", RoleStandby, "us-east-1b", "db.t3.micro"},
		{"web-db-replica-1", RoleReadReplica, "us-east-1c", "db.t3.micro"},
		{"reports", RoleReadReplica, "us-east-1c", "db.r5.large"}, // the group's zones in turn after the primary's: b, then c
	}
	if !reflect.DeepEqual(got, wantIn) {
		t.Fatalf("Instances() = %+v\nwant %+v", got, wantIn)
	}

	s, err = Parse("s.yaml", []byte(head+group))
	if err != nil || s.Database != nil {
		t.Fatalf("no database section: %v, %+v", err, s.Database)
	}
}

// TestDatabaseCluster reads a Multi-AZ DB cluster: always Multi-AZ, a
// writer and two readers in three zones of the group.
func TestDatabaseCluster(t *testing.T) {
	s, err := Parse("s.yaml", []byte(head+group+`database:
  identifier: orders
  engine: postgres
  db_cluster_instance_class: db.m5d.large
  storage_type: io1
  allocated_storage: 100
  iops: 3000
  db_subnet_group: {availability_zones: [us-east-1b, us-east-1c, us-east-1a]}
`))
	if err != nil {
		t.Fatal(err)
	}
	d := s.Database
	if !d.Cluster || !d.MultiAZ || d.IOPS != 3000 {
		t.Fatalf("cluster: %+v", d)
	}
	want := []DBInstance{
		{"orders", RolePrimary, "us-east-1b", "db.m5d.large"},
		{"orders-reader-1", RoleReader, "us-east-1c", "db.m5d.large"},
		{"orders-reader-2", RoleReader, "us-east-1a", "db.m5d.large"},
	}
	if got := d.Instances(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Instances() = %+v", got)
	}
}

// TestDatabaseErrors checks each rule with its position, and that every
// problem of one file is reported at once.
func TestDatabaseErrors(t *testing.T) {
	db := head + group + "database:\n"
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"engine missing", db + "  db_instance_class: db.t3.micro\n",
			[]string{`s.yaml:6:3: database.engine: missing; give engine: postgres`}},
		{"other engine", db + "  engine: mysql\n  db_instance_class: db.t3.micro\n",
			[]string{`s.yaml:6:11: database.engine: "mysql" is an RDS engine the lab does not run; use postgres`}},
		{"engine version", db + "  engine: postgres\n  engine_version: \"9.6\"\n  db_instance_class: db.t3.micro\n",
			[]string{`s.yaml:7:19: database.engine_version: "9.6" is not an RDS for PostgreSQL version; use a major from 11 to 17`}},
		{"class typo", db + "  engine: postgres\n  db_instance_class: db.t3.mirco\n",
			[]string{`s.yaml:7:22: database.db_instance_class: "db.t3.mirco" is not a DB instance class the lab knows; use a db.m5, db.m5d, db.m6g, db.m6gd, db.r5, db.r5d, db.r6gd, db.t3, db.t4g class, as in db.m5.12xlarge; did you mean db.t3.micro?`}},
		{"no class", db + "  engine: postgres\n",
			[]string{`s.yaml:6:3: database.db_instance_class: missing; give db_instance_class (as in db.t3.micro), or db_cluster_instance_class`}},
		{"both classes", db + "  engine: postgres\n  db_instance_class: db.t3.micro\n  db_cluster_instance_class: db.m5d.large\n",
			[]string{`s.yaml:8:30: database.db_cluster_instance_class: given with db_instance_class; use one`}},
		{"burstable cluster", db + "  engine: postgres\n  db_cluster_instance_class: db.t3.micro\n  storage_type: gp3\n",
			[]string{`s.yaml:7:30: database.db_cluster_instance_class: "db.t3.micro" is not a class Multi-AZ DB clusters support; use a db.m5d, db.m6gd, db.r5d, db.r6gd class`}},
		{"cluster with multi_az and gp2", db + "  engine: postgres\n  db_cluster_instance_class: db.m5d.large\n  multi_az: true\n",
			[]string{`s.yaml:6:3: database.storage_type: "gp2" is not allowed; use one of gp3, io1, io2`,
				`s.yaml:8:13: database.multi_az: given with db_cluster_instance_class; a Multi-AZ DB cluster is always Multi-AZ`}},
		{"storage too small", db + "  engine: postgres\n  db_instance_class: db.t3.micro\n  allocated_storage: 10\n",
			[]string{`s.yaml:8:22: database.allocated_storage: 10 GiB is not allowed for gp2; RDS for PostgreSQL takes 20 to 65536 GiB`}},
		{"io1 without iops", db + "  engine: postgres\n  db_instance_class: db.t3.micro\n  storage_type: io1\n  allocated_storage: 100\n",
			[]string{`s.yaml:6:3: database.iops: missing; io1 storage needs provisioned IOPS (1000 to 256000)`}},
		{"iops with gp2", db + "  engine: postgres\n  db_instance_class: db.t3.micro\n  iops: 3000\n",
			[]string{`s.yaml:8:9: database.iops: not allowed with gp2, whose IOPS follow its size`}},
		{"port", db + "  engine: postgres\n  db_instance_class: db.t3.micro\n  port: 80\n",
			[]string{`s.yaml:8:9: database.port: 80 is not allowed; RDS for PostgreSQL takes a port from 1150 to 65535 (default 5432)`}},
		{"identifier", db + "  engine: postgres\n  identifier: 1st--db\n  db_instance_class: db.t3.micro\n",
			[]string{`s.yaml:7:15: database.identifier: "1st--db" is not a DB identifier`}},
		{"reserved username", db + "  engine: postgres\n  db_instance_class: db.t3.micro\n  username: rdsadmin\n",
			[]string{`s.yaml:8:13: database.username: "rdsadmin" is reserved by RDS`}},
		{"zone not in stack", db + "  engine: postgres\n  db_instance_class: db.t3.micro\n  db_subnet_group: {availability_zones: [us-east-1a, eu-west-1a]}\n",
			[]string{`s.yaml:8:54: database.db_subnet_group.availability_zones[1]: "eu-west-1a" is not one of the stack's availability_zones`}},
		{"one zone", db + "  engine: postgres\n  db_instance_class: db.t3.micro\n  db_subnet_group: {availability_zones: [us-east-1a]}\n",
			[]string{`s.yaml:8:41: database.db_subnet_group.availability_zones: 1 zone(s) given; a DB subnet group must cover at least 2 Availability Zones`}},
		{"cluster in two zones", db + "  engine: postgres\n  db_cluster_instance_class: db.m5d.large\n  storage_type: gp3\n  db_subnet_group: {availability_zones: [us-east-1a, us-east-1b]}\n",
			[]string{`s.yaml:9:41: database.db_subnet_group.availability_zones: 2 zone(s) given; a Multi-AZ DB cluster's DB subnet group must cover at least 3 Availability Zones`}},
		{"zone with multi_az", db + "  engine: postgres\n  db_instance_class: db.t3.micro\n  multi_az: true\n  availability_zone: us-east-1b\n",
			[]string{`s.yaml:9:22: database.availability_zone: given with a Multi-AZ deployment; RDS does not let a Multi-AZ DB instance or cluster set its Availability Zone`}},
		{"replicas", db + "  engine: postgres\n  db_instance_class: db.t3.micro\n  read_replicas:\n    - {identifier: web-db, availability_zone: us-west-2a, db_instance_class: db.x1.large}\n",
			[]string{`s.yaml:9:20: database.read_replicas[0].identifier: "web-db" is already the name of another DB instance`,
				`s.yaml:9:47: database.read_replicas[0].availability_zone: "us-west-2a" is not in the DB subnet group`,
				`s.yaml:9:78: database.read_replicas[0].db_instance_class: "db.x1.large" is not a DB instance class the lab knows`}},
		{"unknown key", db + "  engine: postgres\n  db_instance_class: db.t3.micro\n  multiaz: true\n",
			[]string{`s.yaml:8:3: database.multiaz: unknown key; did you mean multi_az?`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(c.yaml))
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("want *Errors, got %v", err)
			}
			if len(errs.List) != len(c.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(errs.List), len(c.want), err)
			}
			for i, w := range c.want {
				if got := errs.List[i].Error(); !strings.HasPrefix(got, w) {
					t.Errorf("error %d:\n got  %s\n want %s...", i, got, w)
				}
			}
		})
	}
}

// TestDatabaseReplicaQuota: RDS allows 15 read replicas per source.
func TestDatabaseReplicaQuota(t *testing.T) {
	y := head + group + "database:\n  engine: postgres\n  db_instance_class: db.t3.micro\n  read_replicas:\n" + strings.Repeat("    - {}\n", 16)
	_, err := Parse("s.yaml", []byte(y))
	if err == nil || !strings.Contains(err.Error(), "database.read_replicas: 16 given; RDS allows at most 15 read replicas per source DB instance") {
		t.Fatalf("got %v", err)
	}
}

// TestDBInstanceClasses checks the table against RDS's hardware
// specifications and the max_connections formula,
// LEAST({DBInstanceClassMemory/9531392}, 5000).
func TestDBInstanceClasses(t *testing.T) {
	cases := []struct {
		name       string
		vcpu, gib  int
		maxConns   int
		cpu        float64
		labMiB     int
		forCluster bool
	}{
		{"db.t3.micro", 2, 1, 112, 0.25, 1024, false},
		{"db.t4g.medium", 2, 4, 450, 0.5, 4096, false},
		{"db.m5.large", 2, 8, 901, 0.5, 8192, false},
		{"db.m6g.16xlarge", 64, 256, 5000, 16, 262144, false},
		{"db.r5.large", 2, 16, 1802, 0.5, 16384, false},
		{"db.r5.24xlarge", 96, 768, 5000, 24, 786432, false},
		{"db.m5d.large", 2, 8, 901, 0.5, 8192, true},
	}
	for _, c := range cases {
		got, ok := az.LookupDBInstanceClass(c.name)
		if !ok {
			t.Fatalf("%s: not in the table", c.name)
		}
		if got.VCPU != c.vcpu || got.MemoryGiB != c.gib || got.MaxConnections() != c.maxConns ||
			got.CPU != c.cpu || got.MemoryMiB != c.labMiB || got.Cluster != c.forCluster {
			t.Errorf("%s: got %+v, max_connections %d; want %d vCPU %d GiB, max_connections %d, %.2f cores, %d MiB, cluster %v",
				c.name, got, got.MaxConnections(), c.vcpu, c.gib, c.maxConns, c.cpu, c.labMiB, c.forCluster)
		}
	}
	if _, ok := az.LookupDBInstanceClass("db.m6g.24xlarge"); ok {
		t.Error("db.m6g.24xlarge: Graviton2 classes stop at 16xlarge")
	}
}
