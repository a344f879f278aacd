package lab

import (
	"testing"

	"github.com/simplydone/lab/sim/rds"
	"github.com/simplydone/lab/stack"
)

// TestCloudWatchDBInstance: who publishes AWS/RDS metrics under which
// DBInstanceIdentifier, before and after a failover, one row per RDS
// behaviour (cloudWatchDBInstance cites the pages).
func TestCloudWatchDBInstance(t *testing.T) {
	zones := []string{"us-east-1a", "us-east-1b", "us-east-1c"}
	instance := &stack.Database{Identifier: "web-db", MultiAZ: true, SubnetGroupZones: zones,
		ReadReplicas: []stack.ReadReplica{{Identifier: "web-db-replica-1"}}}
	cluster := &stack.Database{Identifier: "ledger-db", Cluster: true, SubnetGroupZones: zones}
	srv := func(id string, role stack.DBRole) rds.Server { return rds.Server{Identifier: id, Role: role} }
	for _, tc := range []struct {
		behaviour string
		d         *stack.Database
		s         rds.Server
		id        string // "" publishes nothing
	}{
		{"a Multi-AZ DB instance's primary publishes as the DB instance", instance, srv("web-db", stack.RolePrimary), "web-db"},
		{"its standby has no identifier of its own and publishes nothing", instance, srv("web-db-standby", stack.RoleStandby), ""},
		{"after a failover the DB instance's metrics go on from the new host", instance, srv("web-db-standby", stack.RolePrimary), "web-db"},
		{"the old primary, now the standby, publishes nothing", instance, srv("web-db", stack.RoleStandby), ""},
		{"a read replica publishes under its own identifier", instance, srv("web-db-replica-1", stack.RoleReadReplica), "web-db-replica-1"},
		{"a promoted read replica is a DB instance of its own", instance, srv("web-db-replica-1", rds.RoleStandalone), "web-db-replica-1"},
		{"a rebuilt standby, promoted by a second failover, publishes as the DB instance", instance, srv("web-db-standby-2", stack.RolePrimary), "web-db"},
		{"a Multi-AZ DB cluster's writer publishes as its own DB instance, not the cluster", cluster, srv("ledger-db", stack.RolePrimary), "ledger-db"},
		{"each of the cluster's readers publishes as its own DB instance", cluster, srv("ledger-db-reader-1", stack.RoleReader), "ledger-db-reader-1"},
		{"after a cluster failover each instance keeps its identifier: the writer role moves", cluster, srv("ledger-db-reader-1", stack.RolePrimary), "ledger-db-reader-1"},
		{"the old writer, now a reader, keeps its own", cluster, srv("ledger-db", stack.RoleReader), "ledger-db"},
	} {
		id, ok := cloudWatchDBInstance(tc.d, tc.s)
		if ok != (tc.id != "") || id != tc.id {
			t.Errorf("%s: %s (%s) publishes under %q (%v); want %q", tc.behaviour, tc.s.Identifier, tc.s.Role, id, ok, tc.id)
		}
	}
}
