package stack

import (
	"strconv"
	"strings"
	"time"
)

// Stack is one web tier: an Application Load Balancer in front of an Auto
// Scaling group spread over Availability Zones. Every field holds a value:
// what the file left out carries AWS's default.
type Stack struct {
	Name             string
	Zones            []string // availability_zones (or zones:' names), in order; zone N owns 127.0.N.0/24
	LoadBalancer     LoadBalancer
	TargetGroup      TargetGroup
	LaunchTemplate   LaunchTemplate
	AutoScalingGroup AutoScalingGroup
	ScalingPolicies  []ScalingPolicy
	ScheduledActions []ScheduledAction
	CloudWatch       CloudWatch // the lab's CloudWatch figures (publication delays)
	Database         *Database  // the data tier (database.go); nil: none, SimplyDone's embedded store
	// Services are the stack's services (services.go); empty: the stack is
	// one service, its top-level sections, named as the stack. When set,
	// the top-level sections above are the first service's.
	Services []Service
	// ZoneAgents are zones:' agents (zones.go), "host:port" by zone name;
	// a zone not in it (every zone, when nil) runs on this host.
	ZoneAgents map[string]string
	// AgentsInProcess: the ZoneAgents run in the controller's own process
	// on this host (one host's default, cmd/lab/inprocess.go; never from a file): the
	// zones are driven as on other hosts, but share this host's loopback,
	// the run's one store and the data tier's stable addresses.
	AgentsInProcess bool
	// ZoneContexts are zones:' docker_context (zones.go): the Docker CLI
	// context whose engine runs the zone's instances, by zone name.
	ZoneContexts map[string]string

	File   string // where the stack came from ("builtin/simplydone.yaml" for a built-in)
	Source []byte // the YAML as given
}

// LoadBalancer is the ALB and its one listener.
type LoadBalancer struct {
	ListenerPort     int    // listener.port; AWS default 80
	ListenerProtocol string // listener.protocol; HTTP
	IdleTimeout      time.Duration
	// DesyncMitigationMode is routing.http.desync_mitigation_mode:
	// monitor, defensive (AWS's default) or strictest.
	DesyncMitigationMode string
	// DropInvalidHeaderFields is routing.http.drop_invalid_header_fields.enabled
	// (AWS's default false): header names not matching [-A-Za-z0-9]+ are removed.
	DropInvalidHeaderFields bool
	// Rules are listener.rules, in the file's order; the first by priority
	// whose conditions match takes a request (listener.go).
	Rules []ListenerRule
	// DefaultAction is listener.default_action; nil: forward to the stack's
	// target group (Stack.DefaultAction).
	DefaultAction *RuleAction
}

// Cross-zone settings of a target group (load_balancing.cross_zone.enabled).
const (
	CrossZoneTrue      = "true"
	CrossZoneFalse     = "false"
	CrossZoneUseLBConf = "use_load_balancer_configuration"
)

// TargetGroup is where the listener forwards, and how it checks targets.
type TargetGroup struct {
	Port                int
	Protocol            string
	Algorithm           string // load_balancing_algorithm_type: round_robin, least_outstanding_requests, weighted_random
	CrossZone           string // true, false or use_load_balancer_configuration
	DeregistrationDelay time.Duration
	SlowStart           time.Duration // 0 = off
	HealthCheck         HealthCheck
	// Health is the target group health requirements (target_group_health):
	// the thresholds below which a zone fails open (routing) or leaves DNS.
	Health TargetGroupHealth
	// AnomalyMitigation is load_balancing_anomaly_mitigation: "on" lets
	// Automatic Target Weights move traffic away from anomalous targets
	// (weighted_random only); "off" (the default) only detects.
	AnomalyMitigation string
	// Stickiness is the target group's sticky sessions (listener.go); off
	// unless the file turns it on.
	Stickiness Stickiness
}

// TargetGroupHealth is AWS's target_group_health attributes.
type TargetGroupHealth struct {
	UnhealthyStateRouting MinimumHealthyTargets // unhealthy_state_routing: below it, route to all targets
	DNSFailover           MinimumHealthyTargets // dns_failover: below it, the zone leaves DNS
}

// MinimumHealthyTargets is one action's threshold; 0 is "off". AWS's
// defaults: count 1, percentage off, for both actions.
type MinimumHealthyTargets struct {
	Count      int // minimum_healthy_targets_count: off or 1 or more (off not allowed for routing)
	Percentage int // minimum_healthy_targets_percentage: off or 1-100
}

// AnomalyMitigationEnabled reports whether ATW mitigation is on.
func (t TargetGroup) AnomalyMitigationEnabled() bool { return t.AnomalyMitigation == "on" }

// CrossZoneEnabled reports whether nodes route to targets in every zone. An
// ALB has cross-zone on at the load-balancer level, so only "false" turns it off.
func (t TargetGroup) CrossZoneEnabled() bool { return t.CrossZone != CrossZoneFalse }

// HealthCheck is the target group's health check.
type HealthCheck struct {
	Path               string
	Port               string // "traffic-port" or a port number
	Protocol           string
	Interval           time.Duration
	Timeout            time.Duration
	HealthyThreshold   int
	UnhealthyThreshold int
	Matcher            string // success codes: "200", "200,202", "200-299"
}

// Matches reports whether an HTTP status code counts as a successful health
// check under the matcher. An invalid matcher matches nothing (Parse rejects
// those).
func (h HealthCheck) Matches(code int) bool {
	ranges, err := parseMatcher(h.Matcher)
	if err != nil {
		return false
	}
	for _, r := range ranges {
		if code >= r[0] && code <= r[1] {
			return true
		}
	}
	return false
}

// parseMatcher turns "200,202,300-399" into inclusive code ranges.
func parseMatcher(s string) ([][2]int, error) {
	var ranges [][2]int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		from, err := strconv.Atoi(strings.TrimSpace(lo))
		if err != nil {
			return nil, err
		}
		to := from
		if isRange {
			if to, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil {
				return nil, err
			}
		}
		ranges = append(ranges, [2]int{from, to})
	}
	return ranges, nil
}

// LaunchTemplate says what an instance runs: a local command (the process
// runtime) or a container image (the Docker runtime), never both.
type LaunchTemplate struct {
	Command      []string
	Image        string
	InstanceType string // an EC2 type the lab knows (see az.InstanceTypeNames)
	Port         int    // the port the workload listens on; defaults to the target group's port
	Environment  map[string]string
	BootTime     time.Duration // how long an instance takes from running to serving its workload
	Monitoring   string        // basic (AWS's default: 5-minute CPU) or detailed (1-minute)
	Version      int           // the version the group starts on (default 1)
	Versions     []LaunchTemplateVersion
	// PendingTime is how long EC2 keeps a new instance pending before it is
	// running; the instance boots (BootTime) only after. AWS documents no
	// figure: the default is an observed one (DefaultPendingTime).
	PendingTime time.Duration

	// RestartTime is how long an instance started again from stopped (a
	// warm pool's, or one chaos stopped) takes to run its workload, its
	// first-boot initialisation done; lab-only, nil = BootTime (Restart).
	RestartTime *time.Duration
}

// DefaultPendingTime is EC2's pending-to-running time when the stack does
// not set launch_template.pending_time. [observed] AWS documents no figure:
// about 16.4-16.6 s for any instance family in a 2025 measurement
// (https://github.com/brevdev/ec2-coldboot-research), about 5 s for a c5 in
// 2021 (http://www.daemonology.net/blog/2021-08-12-EC2-boot-time-benchmarking.html);
// the lab takes the newer, slower figure.
const DefaultPendingTime = 16 * time.Second

// AutoScalingGroup is the group's capacity and behaviour.
type AutoScalingGroup struct {
	MinSize, MaxSize, DesiredCapacity int
	HealthCheckType                   string // EC2 or ELB
	HealthCheckGracePeriod            time.Duration
	DefaultCooldown                   time.Duration
	DefaultInstanceWarmup             *time.Duration // nil = not set, as AWS
	TerminationPolicies               []string
	CapacityDistributionStrategy      string                     // balanced-best-effort or balanced-only
	InstanceMaintenancePolicy         *InstanceMaintenancePolicy // nil = none, as AWS
	LifecycleHooks                    []LifecycleHook
	WarmPool                          *WarmPool // nil = none, as AWS
}

// Policy types, as the AWS API names them.
const (
	SimpleScaling         = "SimpleScaling"
	StepScaling           = "StepScaling"
	TargetTrackingScaling = "TargetTrackingScaling"
)

// ScalingPolicy is a dynamic scaling policy of the group. Simple and step
// policies carry the CloudWatch alarm that drives them; target tracking
// policies carry their target, and AWS builds their alarms.
type ScalingPolicy struct {
	Name                    string
	PolicyType              string
	AdjustmentType          string // ChangeInCapacity, ExactCapacity, PercentChangeInCapacity
	ScalingAdjustment       int    // simple scaling only
	StepAdjustments         []StepAdjustment
	MinAdjustmentMagnitude  int            // PercentChangeInCapacity only; 0 = not set
	Cooldown                *time.Duration // simple scaling only; nil = the group's default cooldown
	EstimatedInstanceWarmup *time.Duration // step and target tracking; nil = not set
	TargetTracking          *TargetTracking
	Alarm                   *Alarm
}

// StepAdjustment is one step of a step scaling policy. Bounds are relative
// to the alarm threshold; nil is infinity (negative for Lower, positive for Upper).
type StepAdjustment struct {
	LowerBound, UpperBound *float64
	ScalingAdjustment      int
}

// TargetTracking is a target tracking policy's configuration.
type TargetTracking struct {
	PredefinedMetricType string
	TargetValue          float64
	DisableScaleIn       bool
	// Period is the metric's period for the policy's alarms: 60 s, or 10 s
	// or 30 s for high-resolution target tracking (aws-behaviour.md 2.6).
	Period time.Duration
}

// Alarm is a CloudWatch metric alarm that drives a simple or step policy.
type Alarm struct {
	MetricName         string
	Namespace          string
	Statistic          string
	ComparisonOperator string
	Threshold          float64
	Period             time.Duration
	EvaluationPeriods  int
	DatapointsToAlarm  int // defaults to EvaluationPeriods
	TreatMissingData   string
	// Dimensions are the metric's, for an AWS/RDS alarm only
	// (DBInstanceIdentifier; default the database's primary): the lab sets
	// the group's and the load balancer's itself (alarm_rds.go).
	Dimensions map[string]string
}
