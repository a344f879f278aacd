package lab

import (
	"slices"
	"strings"
	"time"

	"github.com/simplydone/lab/sim/asg"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/cloudwatch"
	"github.com/simplydone/lab/sim/entry"
)

// Observation is a running lab at one moment as a view of the run sees it
// (the TUI, `lab watch` through it, later a remote agent): plain data, safe
// to keep, to marshal and to send over the network. Nothing in it points
// into the lab. The lab builds it from its parts (Handle.Observe); its
// fields use the parts' own words (lifecycle states, reason codes, alarm
// states, CloudWatch's comparison operators).
//
// The data tier is its own field, Database, beside the group.
type Observation struct {
	Time  time.Time   `json:"time"`  // AWS time it was taken
	Zones []ZoneState `json:"zones"` // the stack's zones, in its order
	Group GroupState  `json:"group"`
	// Instances are the group's instances, by id.
	Instances []InstanceState `json:"instances"`
	// DNS is the load balancer's DNS name and what it answers; nil until
	// the entry (DNS server and the nodes' cluster) is up.
	DNS *DNSAnswer `json:"dns,omitempty"`
	// Disagreements are the targets the live nodes' gossiped views of
	// target health do not agree on (known once the entry is up).
	Disagreements []Disagreement `json:"disagreements,omitempty"`
	Alarms        []AlarmState   `json:"alarms"`
	// Services are the stack's services, each its target group and group,
	// on a stack with several (services.go); Group then sums them.
	Services []ServiceState `json:"services,omitempty"`
	// Database is the data tier's DB instances, the primary first (who is
	// where now, after any failover), with their latest AWS/RDS minute;
	// empty without a database.
	Database []DBInstanceState `json:"database,omitempty"`
}

// DBInstanceState is one DB instance: its role and zone now, and its
// AWS/RDS metrics of the latest minute (each Has* says it was published).
type DBInstanceState struct {
	Identifier     string  `json:"identifier"`
	Role           string  `json:"role"` // primary, standby, reader, read-replica
	Zone           string  `json:"zone"`
	Class          string  `json:"class"`
	MaxConnections int     `json:"max_connections"`
	CPU            float64 `json:"cpu"`
	HasCPU         bool    `json:"has_cpu"`
	Connections    float64 `json:"connections"`
	HasConnections bool    `json:"has_connections"`
	ReplicaLag     float64 `json:"replica_lag"` // AWS seconds
	HasLag         bool    `json:"has_lag"`
	ReadIOPS       float64 `json:"read_iops"`
	WriteIOPS      float64 `json:"write_iops"`
	HasIOPS        bool    `json:"has_iops"`
}

// ZoneState is an Availability Zone and its load-balancer node.
type ZoneState struct {
	Name string     `json:"name"`
	Node *NodeState `json:"node,omitempty"` // nil: the load balancer has no node there
}

// NodeState is a zone's load-balancer node.
type NodeState struct {
	Addr string `json:"addr"` // host:port clients reach
	// Up: the node listens and health-checks; a node whose zone failed is
	// down (connections refused, no checks).
	Up    bool `json:"up"`
	InDNS bool `json:"in_dns"` // the DNS name hands it out
	// FailOpen: below the unhealthy_state_routing threshold the node routes
	// to every target, unhealthy ones included.
	FailOpen bool `json:"fail_open"`
	// Healthy and Unhealthy count the targets (all zones) the node sees so.
	Healthy   int `json:"healthy"`
	Unhealthy int `json:"unhealthy"`
}

// GroupState is the Auto Scaling group's capacity settings.
type GroupState struct {
	Name    string `json:"name"`
	Desired int    `json:"desired"`
	Min     int    `json:"min"`
	Max     int    `json:"max"`
}

// The lifecycle states an InstanceState's State takes (the group's own).
const (
	StatePending     = asg.Pending
	StateInService   = asg.InService
	StateTerminating = asg.Terminating
)

// MetricCPUUtilization is the EC2 metric the CPU alarms watch.
const MetricCPUUtilization = cloudwatch.MetricCPUUtilization

// InstanceState is one of the group's instances.
type InstanceState struct {
	ID    string `json:"id"`
	Zone  string `json:"zone"`
	State string `json:"state"` // lifecycle: Pending, InService, Terminating, ...
	// WarmUntil is the end of its warm-up: until then the group leaves it
	// out of its aggregated metrics and its step scaling counts it as warming.
	WarmUntil time.Time `json:"warm_until"`
	// Health is each load-balancer node's view of it, by the node's zone; a
	// down node's view is as it froze.
	Health map[string]TargetHealth `json:"health,omitempty"`
	// CPU is its CPUUtilization averaged over the last AWS minute (HasCPU).
	CPU    float64 `json:"cpu"`
	HasCPU bool    `json:"has_cpu"`
	// Service is the service whose group it is in, on a stack with several.
	Service string `json:"service,omitempty"`
}

// TargetHealth is one node's view of a target, as DescribeTargetHealth
// words it.
type TargetHealth struct {
	State       string `json:"state"`            // initial, healthy, unhealthy, draining, ...
	Reason      string `json:"reason,omitempty"` // e.g. Target.FailedHealthChecks
	Description string `json:"description,omitempty"`
}

// DNSAnswer is the load balancer's DNS name and the zones whose nodes its
// answer hands out now.
type DNSAnswer struct {
	Name  string   `json:"name"`
	Zones []string `json:"zones"`
}

// Disagreement is a target the live nodes' gossiped views do not agree on:
// every node's state of it, by node zone, "" where a node has no view.
type Disagreement struct {
	Target string            `json:"target"`
	States map[string]string `json:"states"`
}

// AlarmState is a CloudWatch alarm.
type AlarmState struct {
	Name       string  `json:"name"`
	State      string  `json:"state"` // OK, ALARM, INSUFFICIENT_DATA
	Namespace  string  `json:"namespace"`
	Metric     string  `json:"metric"`
	Comparison string  `json:"comparison"` // CloudWatch's ComparisonOperator, e.g. GreaterThanThreshold
	Threshold  float64 `json:"threshold"`
	Reason     string  `json:"reason"` // the last state change's reason, in AWS's words
	// Value is the newest datapoint the reason cites (HasValue).
	Value    float64 `json:"value,omitempty"`
	HasValue bool    `json:"has_value,omitempty"`
}

// observation reads the lab's parts now.
func (l *Lab) observation() Observation {
	now := l.Clock.Now()
	st := l.opts.Stack
	o := Observation{Time: now, Group: GroupState{Name: st.Name, Desired: l.Group.Desired(),
		Min: st.AutoScalingGroup.MinSize, Max: st.AutoScalingGroup.MaxSize}}
	if st.MultiService() {
		o.Group, o.Services = l.servicesObserved() // services.go
	}
	if name := l.EntryName(); name != "" { // the DNS server and the nodes' cluster are up
		o.DNS = &DNSAnswer{Name: name, Zones: l.DNS().AnswerZones()}
		o.Disagreements = disagreements(l.Cluster().Views())
	}
	nodes := map[string]*NodeState{}
	for _, n := range l.LB.Nodes() {
		m := n.Metrics()
		ns := &NodeState{Addr: strings.TrimPrefix(n.URL(), "http://"), Up: l.LB.NodeUp(n.Zone())}
		ns.FailOpen = ns.Up && !l.LB.RoutingHealthy(n.Zone())
		ns.InDNS = o.DNS != nil && slices.Contains(o.DNS.Zones, n.Zone())
		for _, c := range m.HealthyHostCount {
			ns.Healthy += c
		}
		for _, c := range m.UnHealthyHostCount {
			ns.Unhealthy += c
		}
		nodes[n.Zone()] = ns
	}
	for _, z := range l.Zones {
		o.Zones = append(o.Zones, ZoneState{Name: z.Name, Node: nodes[z.Name]})
	}
	for _, in := range l.allInstances() {
		is := InstanceState{ID: string(in.ID), Zone: in.Zone, State: in.State, WarmUntil: in.WarmUntil}
		if sv := l.serviceOf(in.ID); sv != nil && st.MultiService() {
			is.Service = sv.name
		}
		for zone, h := range l.LB.Health(in.ID) {
			if is.Health == nil {
				is.Health = map[string]TargetHealth{}
			}
			is.Health[zone] = TargetHealth{State: string(h.State), Reason: string(h.Reason), Description: h.Description}
		}
		is.CPU, is.HasCPU = l.instanceCPU(in.ID, now)
		o.Instances = append(o.Instances, is)
	}
	slices.SortFunc(o.Instances, func(a, b InstanceState) int { return strings.Compare(a.ID, b.ID) })
	for _, al := range l.CloudWatch.Alarms() {
		cfg := al.Config()
		r, _ := al.StateReason()
		as := AlarmState{Name: al.Name(), State: string(al.State()), Namespace: cfg.Namespace, Metric: cfg.MetricName,
			Comparison: cfg.ComparisonOperator, Threshold: cfg.Threshold, Reason: r.Text}
		if len(r.Datapoints) > 0 {
			as.Value, as.HasValue = r.Datapoints[0].Value, true // newest first
		}
		o.Alarms = append(o.Alarms, as)
	}
	o.Database = l.databaseObservation()
	return o
}

// disagreements are the targets the nodes' views differ on, each with
// every node's state of it ("" where a node has none).
func disagreements(v entry.Views) []Disagreement {
	var out []Disagreement
	for _, d := range entry.Disagreements(v) {
		states := make(map[string]string, len(v))
		for node := range v {
			states[node] = d.States[node]
		}
		out = append(out, Disagreement{Target: d.Target, States: states})
	}
	return out
}

// instanceCPU is the instance's CPUUtilization over the last AWS minute, as
// zoneCPU reads it.
func (l *Lab) instanceCPU(id az.InstanceID, now time.Time) (float64, bool) {
	st, ok := l.Metrics.Datapoint(cloudwatch.Query{Namespace: cloudwatch.NamespaceEC2, MetricName: cloudwatch.MetricCPUUtilization,
		Dimensions: cloudwatch.Dims(cloudwatch.DimInstanceID, string(id)), Period: time.Minute, Statistic: "Average"}, now.Add(-time.Minute))
	if !ok {
		return 0, false
	}
	return st.Average, true
}
