package stack

import (
	"slices"
	"sort"
	"strings"

	"github.com/simplydone/lab/internal/yamlcheck"
)

// NamespaceRDS is RDS's CloudWatch namespace. An alarm on it names its DB
// instance by the dimension DimDBInstanceIdentifier, as RDS publishes
// per-instance metrics.
const (
	NamespaceRDS            = "AWS/RDS"
	DimDBInstanceIdentifier = "DBInstanceIdentifier"
)

// RDSMetrics are the AWS/RDS metrics the lab publishes per DB instance
// (lab/dbmetrics.go), with CloudWatch's names; an alarm can name only these.
var RDSMetrics = []string{"CPUUtilization", "DatabaseConnections", "FreeStorageSpace", "ReadIOPS", "ReplicaLag", "WriteIOPS"}

// AlarmDBInstance is the DB instance an AWS/RDS alarm watches: its
// DBInstanceIdentifier dimension, else the database's primary. That is one
// DB instance, as on AWS (RDS publishes per DB instance only, never by
// DBClusterIdentifier for a Multi-AZ DB cluster): a Multi-AZ DB instance
// whichever host is its primary; on a Multi-AZ DB cluster the instance named
// like the cluster, the writer at the start, whatever its role later.
func (s *Stack) AlarmDBInstance(a Alarm) string {
	if id := a.Dimensions[DimDBInstanceIdentifier]; id != "" {
		return id
	}
	if s.Database != nil {
		return s.Database.Identifier
	}
	return ""
}

// validateAlarmDimensions checks the policies' alarms on AWS/RDS: the stack
// has a database, the metric is one the lab publishes, and the dimension
// names one of its DB instances. Other namespaces take no dimensions: the
// lab sets the group's (AutoScalingGroupName) or the load balancer's itself.
// On a stack with services, each service's policies are checked, at
// services[N].scaling_policies.
func (p *parser) validateAlarmDimensions(s *Stack) {
	if !s.MultiService() {
		p.validatePolicyAlarms(s, "scaling_policies", s.ScalingPolicies)
		return
	}
	for i, sv := range s.Services {
		p.validatePolicyAlarms(s, yamlcheck.Index("services", i)+".scaling_policies", sv.ScalingPolicies)
	}
}

func (p *parser) validatePolicyAlarms(s *Stack, policies string, list []ScalingPolicy) {
	for i, sp := range list {
		a := sp.Alarm
		if a == nil || sp.PolicyType == TargetTrackingScaling {
			continue
		}
		path := yamlcheck.Sub(yamlcheck.Index(policies, i), "alarm")
		dpath := yamlcheck.Sub(path, "dimensions")
		if a.Namespace != NamespaceRDS {
			if len(a.Dimensions) > 0 {
				p.Errf(dpath, "not allowed for %s: the lab sets its dimensions itself; only an %s alarm names its %s", a.Namespace, NamespaceRDS, DimDBInstanceIdentifier)
			}
			continue
		}
		if s.Database == nil {
			p.Errf(yamlcheck.Sub(path, "namespace"), "%s needs the stack's database section: there is no DB instance to watch", NamespaceRDS)
			continue
		}
		if p.Has(yamlcheck.Sub(path, "metric_name")) {
			p.OneOf(yamlcheck.Sub(path, "metric_name"), a.MetricName, RDSMetrics)
		}
		ids := make([]string, 0, 4)
		for _, in := range s.Database.Instances() {
			if in.Role != RoleStandby { // a Multi-AZ DB instance's standby publishes no metrics of its own
				ids = append(ids, in.Identifier)
			}
		}
		names := make([]string, 0, len(a.Dimensions))
		for k := range a.Dimensions {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			if k != DimDBInstanceIdentifier {
				p.Errf(yamlcheck.Sub(dpath, k), "not a dimension the lab publishes %s metrics with; use %s", NamespaceRDS, DimDBInstanceIdentifier)
				continue
			}
			if v := a.Dimensions[k]; !slices.Contains(ids, v) {
				p.Errf(yamlcheck.Sub(dpath, k), "%q is not one of the stack's DB instances; use one of %s", v, strings.Join(ids, ", "))
			}
		}
	}
}
