package export

import (
	"fmt"
	"slices"
	"strings"

	"github.com/simplydone/lab/stack"
)

// The stack's database in AWS: a DB subnet group over the private subnets
// of db_subnet_group's zones, a security group open on the database port to
// the instances' security group only, the DB instance (Multi-AZ or not) and
// its read replicas (replicate_source_db), or a Multi-AZ DB cluster; the
// master password from a variable or parameter, never in the files.

// dbPasswordNote is what both formats say of the master password.
const dbPasswordNote = "The master user's password (database.username %s): give it at apply time (TF_VAR_db_password, or a secret store); it is never written here."

// checkDatabase reports what of the database the formats cannot hold.
func checkDatabase(s *stack.Stack, errf func(field, format string, args ...any)) {
	d := s.Database
	if d == nil {
		return
	}
	if d.Cluster && len(d.ReadReplicas) > 0 {
		errf("database.read_replicas", "read replicas of a Multi-AZ DB cluster cannot be written (aws_db_instance's replicate_source_db and the template's SourceDBInstanceIdentifier name DB instances only); its two readers serve reads: remove read_replicas")
	}
}

// dbZones are the zone numbers of the DB subnet group, in its order.
func dbZones(s *stack.Stack) []int {
	var out []int
	for _, z := range s.Database.SubnetGroupZones {
		out = append(out, slices.Index(s.Zones, z)+1)
	}
	return out
}

func dbKind(d *stack.Database) string {
	switch {
	case d.Cluster:
		return "a Multi-AZ DB cluster (a writer and two readable standbys in three zones)"
	case d.MultiAZ:
		return "a Multi-AZ DB instance (a synchronous standby in another zone)"
	}
	return "a Single-AZ DB instance"
}

// tfDatabase writes database.tf.
func tfDatabase(s *stack.Stack, o Options) []byte {
	d := s.Database
	w := newTF(s, o, "Database (database): "+dbKind(d)+",",
		"its DB subnet group, its security group and its read replicas.")

	w.comment(fmt.Sprintf(dbPasswordNote, d.Username))
	w.open("variable", q("db_password"))
	w.attr("description", q("Master password of "+d.Identifier+" (8-128 printable ASCII characters, not /, \", @ or a space)."))
	w.attr("type", "string")
	w.attr("sensitive", "true")
	w.end()

	w.comment("database.db_subnet_group: the private subnets of its zones.")
	w.resource("resource", "aws_db_subnet_group", "this")
	w.attr("name", q(d.Identifier))
	subnets := make([]string, 0, len(d.SubnetGroupZones))
	for _, z := range d.SubnetGroupZones {
		subnets = append(subnets, fmt.Sprintf("aws_subnet.private[%s].id", q(z)))
	}
	w.attr("subnet_ids", list(subnets...), "database.db_subnet_group.availability_zones")
	w.end()

	w.comment("The database port, open to the instances' security group only.")
	w.resource("resource", "aws_security_group", "db")
	w.attr("name", q(s.Name+"-db"))
	w.attr("description", q("Database of "+s.Name+": the database port from the instances only"))
	w.attr("vpc_id", "aws_vpc.this.id")
	w.end()
	w.resource("resource", "aws_vpc_security_group_ingress_rule", "db_from_instances")
	w.attr("security_group_id", "aws_security_group.db.id")
	w.attr("referenced_security_group_id", "aws_security_group.instance.id")
	w.attr("ip_protocol", q("tcp"))
	w.attr("from_port", itoa(d.Port), "database.port")
	w.attr("to_port", itoa(d.Port))
	w.end()

	if d.Cluster {
		w.comment("database.db_cluster_instance_class: a Multi-AZ DB cluster; RDS places the writer and the two readers in three zones of the subnet group.")
		w.resource("resource", "aws_rds_cluster", "this")
		w.attr("cluster_identifier", q(d.Identifier), "database.identifier")
		tfEngineStorage(w, d, "db_cluster_instance_class")
		w.attr("database_name", q(d.DBName))
		w.attr("master_username", q(d.Username))
		w.attr("master_password", "var.db_password")
		w.attr("port", itoa(d.Port))
		w.attr("db_subnet_group_name", "aws_db_subnet_group.this.name")
		w.attr("vpc_security_group_ids", list("aws_security_group.db.id"))
		w.attr("final_snapshot_identifier", q(d.Identifier+"-final"))
		w.close()
		return w.bytes()
	}

	w.comment("database: the DB instance. A Multi-AZ deployment sets no availability_zone: RDS picks the primary's and the standby's.")
	w.resource("resource", "aws_db_instance", "this")
	w.attr("identifier", q(d.Identifier), "database.identifier")
	tfEngineStorage(w, d, "instance_class")
	w.attr("multi_az", boolean(d.MultiAZ))
	if d.AvailabilityZone != "" {
		w.attr("availability_zone", q(d.AvailabilityZone))
	}
	w.attr("db_name", q(d.DBName))
	w.attr("username", q(d.Username))
	w.attr("password", "var.db_password")
	w.attr("port", itoa(d.Port))
	w.attr("db_subnet_group_name", "aws_db_subnet_group.this.name")
	w.attr("vpc_security_group_ids", list("aws_security_group.db.id"))
	w.attr("backup_retention_period", "1", "AWS's default; read replicas need automated backups")
	w.attr("final_snapshot_identifier", q(d.Identifier+"-final"))
	if len(d.ReadReplicas) == 0 {
		w.close()
		return w.bytes()
	}
	w.end()
	for i, r := range d.ReadReplicas {
		w.comment(fmt.Sprintf("database.read_replicas[%d]: asynchronous and readable; engine, storage and credentials come from the source.", i))
		w.resource("resource", "aws_db_instance", fmt.Sprintf("replica_%d", i+1))
		w.attr("identifier", q(r.Identifier))
		w.attr("replicate_source_db", "aws_db_instance.this.identifier")
		w.attr("instance_class", q(r.InstanceClass))
		if r.AvailabilityZone != "" {
			w.attr("availability_zone", q(r.AvailabilityZone))
		}
		w.attr("vpc_security_group_ids", list("aws_security_group.db.id"))
		w.attr("skip_final_snapshot", "true")
		if i == len(d.ReadReplicas)-1 {
			w.close()
		} else {
			w.end()
		}
	}
	return w.bytes()
}

// tfDatabaseOutputs are the database's outputs, after the stack's own.
func tfDatabaseOutputs(s *stack.Stack) string {
	d := s.Database
	if d == nil {
		return ""
	}
	value, what := "aws_db_instance.this.address", "DB instance's endpoint"
	if d.Cluster {
		value, what = "aws_rds_cluster.this.endpoint", "DB cluster's writer endpoint"
	}
	return fmt.Sprintf("\noutput \"db_endpoint\" {\n  description = %s\n  value       = %s\n}\n", q(fmt.Sprintf("The %s (port %d).", what, d.Port)), value)
}

// cfnDatabaseParameters is the master password parameter.
func cfnDatabaseParameters(s *stack.Stack) obj {
	d := s.Database
	if d == nil {
		return nil
	}
	return obj{{key: "DBPassword", val: obj{
		{key: "Type", val: "String"},
		{key: "NoEcho", val: true},
		{key: "MinLength", val: 8},
		{key: "MaxLength", val: 128},
		{key: "Description", val: fmt.Sprintf(dbPasswordNote, d.Username)}}}}
}

// cfnDatabase writes the database's resources.
func cfnDatabase(res *obj, s *stack.Stack) {
	d := s.Database
	if d == nil {
		return
	}
	var subnets []any
	for _, n := range dbZones(s) {
		subnets = append(subnets, ref(fmt.Sprintf("PrivateSubnet%d", n)))
	}
	res.set("DBSubnetGroup", resource("AWS::RDS::DBSubnetGroup", obj{
		{key: "DBSubnetGroupName", val: d.Identifier},
		{key: "DBSubnetGroupDescription", val: "database.db_subnet_group of " + s.Name + ": " + strings.Join(d.SubnetGroupZones, ", ")},
		{key: "SubnetIds", val: subnets}}),
		"Database (database): "+dbKind(d)+", its DB subnet group, its security group and its read replicas.")
	res.set("DatabaseSecurityGroup", resource("AWS::EC2::SecurityGroup", obj{
		{key: "GroupDescription", val: "Database of " + s.Name + ": the database port from the instances only"},
		{key: "VpcId", val: ref("VPC")},
		{key: "SecurityGroupIngress", val: []any{obj{
			{key: "IpProtocol", val: "tcp"}, {key: "SourceSecurityGroupId", val: getAtt("InstanceSecurityGroup", "GroupId")},
			{key: "FromPort", val: d.Port, comment: "database.port"}, {key: "ToPort", val: d.Port}}}}}))
	if d.Cluster {
		props := obj{
			{key: "DBClusterIdentifier", val: d.Identifier, comment: "database.identifier"},
			{key: "Engine", val: d.Engine}}
		if d.EngineVersion != "" {
			props.set("EngineVersion", d.EngineVersion)
		}
		props = append(props,
			field{key: "DBClusterInstanceClass", val: d.InstanceClass},
			field{key: "AllocatedStorage", val: d.AllocatedStorage},
			field{key: "StorageType", val: d.StorageType})
		if d.IOPS > 0 {
			props.set("Iops", d.IOPS)
		}
		props = append(props,
			field{key: "DatabaseName", val: d.DBName},
			field{key: "MasterUsername", val: d.Username},
			field{key: "MasterUserPassword", val: ref("DBPassword")},
			field{key: "Port", val: d.Port},
			field{key: "DBSubnetGroupName", val: ref("DBSubnetGroup")},
			field{key: "VpcSecurityGroupIds", val: []any{getAtt("DatabaseSecurityGroup", "GroupId")}})
		res.set("DBCluster", snapshotOnDelete(resource("AWS::RDS::DBCluster", props)))
		return
	}
	props := obj{
		{key: "DBInstanceIdentifier", val: d.Identifier, comment: "database.identifier"},
		{key: "Engine", val: d.Engine}}
	if d.EngineVersion != "" {
		props.set("EngineVersion", d.EngineVersion)
	}
	props = append(props,
		field{key: "DBInstanceClass", val: d.InstanceClass},
		field{key: "AllocatedStorage", val: strVal(d.AllocatedStorage)},
		field{key: "StorageType", val: d.StorageType})
	if d.IOPS > 0 {
		props.set("Iops", d.IOPS)
	}
	props.set("MultiAZ", d.MultiAZ)
	if d.AvailabilityZone != "" {
		props.set("AvailabilityZone", d.AvailabilityZone)
	}
	props = append(props,
		field{key: "DBName", val: d.DBName},
		field{key: "MasterUsername", val: d.Username},
		field{key: "MasterUserPassword", val: ref("DBPassword")},
		field{key: "Port", val: strVal(d.Port)},
		field{key: "DBSubnetGroupName", val: ref("DBSubnetGroup")},
		field{key: "VPCSecurityGroups", val: []any{getAtt("DatabaseSecurityGroup", "GroupId")}},
		field{key: "BackupRetentionPeriod", val: 1, comment: "AWS's default; read replicas need automated backups"})
	res.set("Database", snapshotOnDelete(resource("AWS::RDS::DBInstance", props)))
	for i, r := range d.ReadReplicas {
		rp := obj{
			{key: "DBInstanceIdentifier", val: r.Identifier},
			{key: "SourceDBInstanceIdentifier", val: ref("Database")},
			{key: "DBInstanceClass", val: r.InstanceClass}}
		if r.AvailabilityZone != "" {
			rp.set("AvailabilityZone", r.AvailabilityZone)
		}
		rp.set("VPCSecurityGroups", []any{getAtt("DatabaseSecurityGroup", "GroupId")})
		res.set(fmt.Sprintf("ReadReplica%d", i+1), resource("AWS::RDS::DBInstance", rp),
			fmt.Sprintf("database.read_replicas[%d]: asynchronous and readable; engine, storage and credentials come from the source.", i))
	}
}

// snapshotOnDelete gives a database resource DeletionPolicy: Snapshot, as
// the Terraform module's final snapshot does.
func snapshotOnDelete(r obj) obj {
	return append(r[:1:1], append(obj{{key: "DeletionPolicy", val: "Snapshot"}, {key: "UpdateReplacePolicy", val: "Snapshot"}}, r[1:]...)...)
}

// cfnDatabaseOutputs is the database's endpoint output.
func cfnDatabaseOutputs(s *stack.Stack) obj {
	d := s.Database
	if d == nil {
		return nil
	}
	value, what := getAtt("Database", "Endpoint.Address"), "DB instance's endpoint"
	if d.Cluster {
		value, what = getAtt("DBCluster", "Endpoint.Address"), "DB cluster's writer endpoint"
	}
	return obj{{key: "DatabaseEndpoint", val: obj{
		{key: "Description", val: fmt.Sprintf("The %s (port %d).", what, d.Port)},
		{key: "Value", val: value}}}}
}

// tfEngineStorage writes what a DB instance and a cluster share: the engine
// and its version, the class (under the resource's own attribute name) and
// the storage.
func tfEngineStorage(w *tf, d *stack.Database, classAttr string) {
	w.attr("engine", q(d.Engine))
	if d.EngineVersion != "" {
		w.attr("engine_version", q(d.EngineVersion))
	}
	w.attr(classAttr, q(d.InstanceClass))
	w.attr("allocated_storage", itoa(d.AllocatedStorage))
	w.attr("storage_type", q(d.StorageType))
	if d.IOPS > 0 {
		w.attr("iops", itoa(d.IOPS))
	}
}

// The AWS/RDS alarms of step and simple policies: RDS publishes each DB
// instance's metrics by DBInstanceIdentifier, the only per-resource
// dimension RDS (not Aurora) documents ("Amazon CloudWatch dimensions for
// Amazon RDS": DBInstanceIdentifier, DatabaseClass, EngineName,
// SourceRegion; https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/dimensions.html).
// DBClusterIdentifier and Role are Aurora's: a Multi-AZ DB cluster has no
// cluster-level datapoints, and AWS's own alarm for one watches its three
// DB instances' per-database metrics ("Tutorial: Creating an Amazon
// CloudWatch alarm for Multi-AZ DB cluster replica lag",
// https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/multi-az-db-cluster-cloudwatch-alarm.html),
// instances RDS names itself, which neither format can refer to. An alarm
// names the exported DB instance or a read replica by reference, so that
// it follows the identifier the resource has; one on a Multi-AZ DB cluster
// is refused (an alarm on DBClusterIdentifier would never have data).

// rdsDimension is the dimension an AWS/RDS alarm is measured over, from
// the DB instance it watches (stack.AlarmDBInstance): false for one the
// formats cannot name (any of a Multi-AZ DB cluster's: RDS names them).
func rdsDimension(s *stack.Stack, a *stack.Alarm) (dimension, bool) {
	d := s.Database
	if d == nil {
		return dimension{}, false
	}
	if d.Cluster {
		return dimension{}, false
	}
	id := s.AlarmDBInstance(*a)
	if id == d.Identifier {
		return dimension{stack.DimDBInstanceIdentifier, "db"}, true
	}
	for i, r := range d.ReadReplicas {
		if r.Identifier == id {
			return dimension{stack.DimDBInstanceIdentifier, fmt.Sprintf("replica_%d", i+1)}, true
		}
	}
	return dimension{}, false
}

// checkRDSAlarm reports an AWS/RDS alarm the formats cannot write: one on a
// DB instance they do not create by name, or one whose period is under
// RDS's minute.
func checkRDSAlarm(s *stack.Stack, a *stack.Alarm, field string, errf func(field, format string, args ...any)) {
	if s.Database == nil {
		errf(field+".namespace", "AWS/RDS needs the stack's database section")
		return
	}
	if _, ok := rdsDimension(s, a); !ok {
		errf(field+".dimensions."+stack.DimDBInstanceIdentifier, "%q is a DB instance of the Multi-AZ DB cluster %s, which the export cannot name: "+
			"RDS publishes a Multi-AZ DB cluster's metrics per DB instance only (DBInstanceIdentifier; DBClusterIdentifier is Aurora's and would never have data) "+
			"and names the cluster's DB instances itself; create the alarm after apply on the identifiers in DescribeDBClusters' DBClusterMembers, "+
			"or leave it out of the stack you export",
			s.AlarmDBInstance(*a), s.Database.Identifier)
	}
	if secs := int(a.Period.Seconds()); secs < 60 {
		errf(field+".period", "%ds: RDS publishes its metrics once a minute, so the alarm would never have data; use 60s or more", secs)
	}
}

// tfRDSRef is an AWS/RDS dimension's value in the Terraform module.
func tfRDSRef(ref string) string {
	if ref == "db" {
		return "aws_db_instance.this.identifier"
	}
	return "aws_db_instance." + ref + ".identifier" // replica_N
}

// cfnRDSRef is an AWS/RDS dimension's value in the template: Ref of a DB
// instance is its identifier.
func cfnRDSRef(r string) obj {
	if r == "db" {
		return ref("Database")
	}
	var n int
	fmt.Sscanf(r, "replica_%d", &n)
	return ref(fmt.Sprintf("ReadReplica%d", n))
}
