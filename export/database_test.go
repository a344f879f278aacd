package export

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"gopkg.in/yaml.v3"

	"github.com/simplydone/lab/stack"
)

var databaseStacks = []string{"testdata/database/multi-az.yaml", "testdata/database/cluster.yaml"}

// rdsAlarms are scaling policies with alarms on AWS/RDS that the database
// exports carry (loadDB), by stack: on multi-az the primary's connections
// (no dimension: the primary) and a replica's lag. They are added here,
// not in the files, which tfimport's round trip also reads (it does not
// import AWS/RDS alarms). The cluster exports none: RDS publishes a
// Multi-AZ DB cluster's metrics per DB instance only and names those
// instances itself (clusterAlarm, refused in TestDatabaseCheck).
var rdsAlarms = map[string]string{
	databaseStacks[0]: `scaling_policies:
  - name: db-connections-high
    policy_type: StepScaling
    adjustment_type: ChangeInCapacity
    step_adjustments: [{metric_interval_lower_bound: 0, scaling_adjustment: -1}]
    alarm: {metric_name: DatabaseConnections, namespace: AWS/RDS, statistic: Maximum, comparison_operator: GreaterThanThreshold, threshold: 600, period: 60s, evaluation_periods: 2}
  - name: reports-lagging
    policy_type: StepScaling
    adjustment_type: ChangeInCapacity
    step_adjustments: [{metric_interval_lower_bound: 0, scaling_adjustment: -1}]
    alarm: {metric_name: ReplicaLag, namespace: AWS/RDS, dimensions: {DBInstanceIdentifier: shop-reports}, statistic: Maximum, comparison_operator: GreaterThanThreshold, threshold: 30, period: 60s, evaluation_periods: 3}
`}

// clusterAlarm is an alarm on the Multi-AZ DB cluster's writer's CPU (no
// dimension: the instance the lab names like the cluster).
const clusterAlarm = `scaling_policies:
  - name: db-cpu-high
    policy_type: StepScaling
    adjustment_type: ChangeInCapacity
    step_adjustments: [{metric_interval_lower_bound: 0, scaling_adjustment: -1}]
    alarm: {metric_name: CPUUtilization, namespace: AWS/RDS, statistic: Average, comparison_operator: GreaterThanThreshold, threshold: 80, period: 60s, evaluation_periods: 3}
`

// loadDB loads a database stack with its AWS/RDS alarms, through the
// stack's own validation.
func loadDB(t *testing.T, path string) *stack.Stack {
	t.Helper()
	return loadDBWith(t, path, rdsAlarms[path])
}

// loadDBWith loads a database stack with extra YAML appended.
func loadDBWith(t *testing.T, path, extra string) *stack.Stack {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), filepath.Base(path))
	if err := os.WriteFile(p, append(data, extra...), 0o644); err != nil {
		t.Fatal(err)
	}
	return load(t, p)
}

// TestDatabaseTerraform: the DB subnet group over the group's private
// subnets, a security group open on the database port to the instances'
// group only, the DB instance as the stack says (multi_az, class, storage,
// password from a sensitive variable) and each replica with
// replicate_source_db; or the Multi-AZ DB cluster. The module parses and
// every reference resolves.
func TestDatabaseTerraform(t *testing.T) {
	s := loadDB(t, databaseStacks[0])
	files, err := Terraform(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := tfModule(parseModule(t, files))
	for _, p := range checkRefs(m) {
		t.Error(p)
	}
	db := m.block(t, "resource", "aws_db_instance", "this")
	d := s.Database
	eq(t, "identifier", val(t, db, "identifier").AsString(), "shop-db")
	eq(t, "engine", val(t, db, "engine").AsString(), "postgres")
	eq(t, "engine_version", val(t, db, "engine_version").AsString(), "16")
	eq(t, "instance_class", val(t, db, "instance_class").AsString(), d.InstanceClass)
	eq(t, "allocated_storage", f64(val(t, db, "allocated_storage")), 100)
	eq(t, "storage_type", val(t, db, "storage_type").AsString(), "gp3")
	eq(t, "multi_az", val(t, db, "multi_az").True(), true)
	eq(t, "db_name", val(t, db, "db_name").AsString(), "shop")
	eq(t, "username", val(t, db, "username").AsString(), "shopadmin")
	eq(t, "port", f64(val(t, db, "port")), 5432)
	if _, ok := db.Attributes["availability_zone"]; ok {
		t.Error("a Multi-AZ instance sets availability_zone")
	}
	if got := traversal(t, db, "password"); got != "var.db_password" {
		t.Errorf("password = %s, want var.db_password", got)
	}
	v := m.block(t, "variable", "db_password")
	eq(t, "db_password sensitive", val(t, v, "sensitive").True(), true)
	if _, ok := v.Attributes["default"]; ok {
		t.Error("the password variable has a default")
	}
	r1 := m.block(t, "resource", "aws_db_instance", "replica_1")
	if got := traversal(t, r1, "replicate_source_db"); got != "aws_db_instance.this.identifier" {
		t.Errorf("replicate_source_db = %s", got)
	}
	eq(t, "replica_1 zone", val(t, r1, "availability_zone").AsString(), "us-east-1b")
	eq(t, "replica_1 class", val(t, r1, "instance_class").AsString(), "db.m5.large")
	r2 := m.block(t, "resource", "aws_db_instance", "replica_2")
	eq(t, "replica_2 identifier", val(t, r2, "identifier").AsString(), "shop-reports")
	eq(t, "replica_2 class", val(t, r2, "instance_class").AsString(), "db.r5.large")
	sg := m.block(t, "resource", "aws_vpc_security_group_ingress_rule", "db_from_instances")
	if got := traversal(t, sg, "referenced_security_group_id"); got != "aws_security_group.instance.id" {
		t.Errorf("the database's ingress comes from %s, want the instances' group", got)
	}
	eq(t, "db ingress port", f64(val(t, sg, "from_port")), 5432)
	if _, ok := sg.Attributes["cidr_ipv4"]; ok {
		t.Error("the database is open to a CIDR")
	}
	sub := m.block(t, "resource", "aws_db_subnet_group", "this")
	if got := strings.Join(traversals(t, sub, "subnet_ids"), " "); got != `aws_subnet.private["us-east-1a"].id aws_subnet.private["us-east-1b"].id` {
		t.Errorf("subnet_ids = %s", got)
	}
	// AWS/RDS alarms name the exported DB instances by reference: the
	// primary (no dimension given) and the replica the alarm names.
	for id, want := range map[string]string{"db_connections_high": "aws_db_instance.this.identifier", "reports_lagging": "aws_db_instance.replica_2.identifier"} {
		a := m.block(t, "resource", "aws_cloudwatch_metric_alarm", id)
		eq(t, id+" namespace", val(t, a, "namespace").AsString(), "AWS/RDS")
		dims, ok := a.Attributes["dimensions"].Expr.(*hclsyntax.ObjectConsExpr)
		if !ok || len(dims.Items) != 1 {
			t.Fatalf("%s: dimensions %T", id, a.Attributes["dimensions"].Expr)
		}
		key, _ := dims.Items[0].KeyExpr.Value(nil)
		eq(t, id+" dimension", key.AsString(), "DBInstanceIdentifier")
		if got := traversal(t, a, "dimensions"); got != want {
			t.Errorf("%s: dimension value %s, want %s", id, got, want)
		}
	}
	for name, b := range files {
		if strings.Contains(string(b), "password =") && !strings.Contains(string(b), "var.db_password") {
			t.Errorf("%s writes a password", name)
		}
	}

	cs := loadDB(t, databaseStacks[1])
	files, err = Terraform(cs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m = tfModule(parseModule(t, files))
	for _, p := range checkRefs(m) {
		t.Error(p)
	}
	if strings.Contains(string(files["scaling.tf"]), "DBClusterIdentifier") {
		t.Errorf("an alarm on DBClusterIdentifier, which RDS does not publish for a Multi-AZ DB cluster:\n%s", files["scaling.tf"])
	}
	c := m.block(t, "resource", "aws_rds_cluster", "this")
	eq(t, "db_cluster_instance_class", val(t, c, "db_cluster_instance_class").AsString(), "db.m5d.large")
	eq(t, "storage_type", val(t, c, "storage_type").AsString(), "io1")
	eq(t, "iops", f64(val(t, c, "iops")), 3000)
	eq(t, "port", f64(val(t, c, "port")), 5433)
	if got := traversal(t, c, "master_password"); got != "var.db_password" {
		t.Errorf("master_password = %s", got)
	}
	if _, ok := files["database.tf"]; !ok {
		t.Fatal("no database.tf")
	}
	plain, _ := Terraform(load(t, "testdata/stacks/warm-pool.yaml"), Options{})
	if _, ok := plain["database.tf"]; ok {
		t.Error("a stack without a database exports one")
	}
}

// TestDatabaseCloudFormation: the same in a template, checked against the
// resource specification; the password is a NoEcho parameter.
func TestDatabaseCloudFormation(t *testing.T) {
	spec := readSpec(t)
	type res struct {
		Type           string         `yaml:"Type"`
		DeletionPolicy string         `yaml:"DeletionPolicy"`
		Properties     map[string]any `yaml:"Properties"`
	}
	var tmpl struct {
		Parameters map[string]map[string]any `yaml:"Parameters"`
		Resources  map[string]res            `yaml:"Resources"`
		Outputs    map[string]any            `yaml:"Outputs"`
	}
	for _, p := range databaseStacks {
		data, err := CloudFormation(loadDB(t, p), Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, prob := range checkTemplate(t, spec, data) {
			t.Errorf("%s: %s", p, prob)
		}
		tmpl.Resources = nil
		if err := yaml.Unmarshal(data, &tmpl); err != nil {
			t.Fatal(err)
		}
		if pw := tmpl.Parameters["DBPassword"]; pw["NoEcho"] != true || pw["Default"] != nil {
			t.Errorf("%s: DBPassword parameter %v", p, pw)
		}
		sg := tmpl.Resources["DatabaseSecurityGroup"].Properties["SecurityGroupIngress"].([]any)[0].(map[string]any)
		eq(t, "database ingress", sg["SourceSecurityGroupId"], map[string]any{"Fn::GetAtt": []any{"InstanceSecurityGroup", "GroupId"}})
		if _, ok := tmpl.Outputs["DatabaseEndpoint"]; !ok {
			t.Errorf("%s: no DatabaseEndpoint output", p)
		}
	}
	// The last template read is the cluster's; check the instance's too.
	data, _ := CloudFormation(loadDB(t, databaseStacks[0]), Options{})
	tmpl.Resources = nil
	if err := yaml.Unmarshal(data, &tmpl); err != nil {
		t.Fatal(err)
	}
	db := tmpl.Resources["Database"]
	eq(t, "Type", db.Type, "AWS::RDS::DBInstance")
	eq(t, "DeletionPolicy", db.DeletionPolicy, "Snapshot")
	eq(t, "MultiAZ", db.Properties["MultiAZ"], true)
	eq(t, "AllocatedStorage", db.Properties["AllocatedStorage"], "100")
	eq(t, "MasterUserPassword", db.Properties["MasterUserPassword"], map[string]any{"Ref": "DBPassword"})
	r := tmpl.Resources["ReadReplica2"]
	eq(t, "replica source", r.Properties["SourceDBInstanceIdentifier"], map[string]any{"Ref": "Database"})
	eq(t, "replica class", r.Properties["DBInstanceClass"], "db.r5.large")
	eq(t, "subnets", tmpl.Resources["DBSubnetGroup"].Properties["SubnetIds"], []any{map[string]any{"Ref": "PrivateSubnet1"}, map[string]any{"Ref": "PrivateSubnet2"}})
	// AWS/RDS alarms: Ref of a DB instance (or cluster) is its identifier.
	dims := func(res string) any { return tmpl.Resources[res].Properties["Dimensions"] }
	eq(t, "primary's alarm", dims("DbConnectionsHighAlarm"), []any{map[string]any{"Name": "DBInstanceIdentifier", "Value": map[string]any{"Ref": "Database"}}})
	eq(t, "replica's alarm", dims("ReportsLaggingAlarm"), []any{map[string]any{"Name": "DBInstanceIdentifier", "Value": map[string]any{"Ref": "ReadReplica2"}}})
	eq(t, "namespace", tmpl.Resources["ReportsLaggingAlarm"].Properties["Namespace"], "AWS/RDS")
}

// TestDatabaseCheck: a cluster's read replicas cannot be written; nor can
// an alarm on any of a Multi-AZ DB cluster's DB instances, its writer
// included (RDS publishes the cluster's metrics per DB instance only and
// names those instances; there is no DBClusterIdentifier metric to write
// the alarm on), or one whose period is under RDS's minute.
func TestDatabaseCheck(t *testing.T) {
	for _, id := range []string{"", "ledger-db-reader-1"} {
		rs := loadDBWith(t, databaseStacks[1], clusterAlarm)
		a := rs.ScalingPolicies[0].Alarm
		if id != "" {
			a.Dimensions = map[string]string{"DBInstanceIdentifier": id}
		}
		a.Period = 30 * time.Second
		want := id
		if want == "" {
			want = "ledger-db"
		}
		for _, f := range []Format{FormatTerraform, FormatCloudFormation} {
			err := Check(rs, f)
			for _, want := range []string{
				`scaling_policies[0].alarm.dimensions.DBInstanceIdentifier: "` + want + `" is a DB instance of the Multi-AZ DB cluster ledger-db, which the export cannot name: ` +
					"RDS publishes a Multi-AZ DB cluster's metrics per DB instance only (DBInstanceIdentifier; DBClusterIdentifier is Aurora's and would never have data)",
				"scaling_policies[0].alarm.period: 30s: RDS publishes its metrics once a minute",
			} {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("%s: %v; want %q", f, err, want)
				}
			}
		}
	}
	s := loadDB(t, databaseStacks[1])
	s.Database.ReadReplicas = append(s.Database.ReadReplicas, stack.ReadReplica{Identifier: "r", InstanceClass: "db.m5d.large"})
	for _, f := range []Format{FormatTerraform, FormatCloudFormation} {
		if err := Check(s, f); err == nil || !strings.Contains(err.Error(), "database.read_replicas: read replicas of a Multi-AZ DB cluster cannot be written") {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// traversal is the reference an attribute holds, as written ("var.x").
func traversal(t *testing.T, body *hclsyntax.Body, name string) string {
	t.Helper()
	return strings.Join(traversals(t, body, name), " ")
}

// traversals are the references an attribute's expression holds, in order.
func traversals(t *testing.T, body *hclsyntax.Body, name string) []string {
	t.Helper()
	a, ok := body.Attributes[name]
	if !ok {
		t.Fatalf("no attribute %s", name)
	}
	var out []string
	for _, tr := range a.Expr.Variables() {
		s := tr.RootName()
		for _, st := range tr[1:] {
			switch x := st.(type) {
			case hcl.TraverseAttr:
				s += "." + x.Name
			case hcl.TraverseIndex:
				s += "[" + strconv.Quote(x.Key.AsString()) + "]"
			}
		}
		out = append(out, s)
	}
	return out
}
