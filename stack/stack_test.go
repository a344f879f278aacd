package stack

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestBuiltinParsesCleanly(t *testing.T) {
	if got := BuiltinNames(); !reflect.DeepEqual(got, []string{"db-connections", "multi-az", "read-replicas", "services", "simplydone", "simplydone-bluegreen", "simplydone-deploy", "simplydone-peak", "simplydone-peak-multi-az", "simplydone-stateless", "simplydone-sticky", "single-az-db", "single-server"}) {
		t.Fatalf("BuiltinNames() = %v", got)
	}
	s, err := Builtin("simplydone")
	if err != nil {
		t.Fatalf("Builtin: %v", err)
	}
	if s.File != "builtin/simplydone.yaml" || len(s.Source) == 0 {
		t.Errorf("File = %q, len(Source) = %d", s.File, len(s.Source))
	}
	warmup := 60 * time.Second
	lower, upper := 0.0, 0.0
	want := &Stack{
		Name:         "simplydone",
		Zones:        []string{"us-east-1a", "us-east-1b", "us-east-1c"},
		LoadBalancer: LoadBalancer{ListenerPort: 8080, ListenerProtocol: "HTTP", IdleTimeout: 60 * time.Second, DesyncMitigationMode: "defensive"},
		TargetGroup: TargetGroup{
			Port: 8080, Protocol: "HTTP", Algorithm: "round_robin", CrossZone: CrossZoneUseLBConf,
			DeregistrationDelay: 300 * time.Second,
			HealthCheck: HealthCheck{Path: "/health", Port: "traffic-port", Protocol: "HTTP",
				Interval: 30 * time.Second, Timeout: 5 * time.Second, HealthyThreshold: 5, UnhealthyThreshold: 2, Matcher: "200"},
			Health:            awsDefaultHealth,
			AnomalyMitigation: "off",
			Stickiness:        Stickiness{Type: StickinessLBCookie, CookieDuration: DefaultStickinessDuration},
		},
		LaunchTemplate: LaunchTemplate{Command: []string{"simplydone"}, InstanceType: "t3.micro", Port: 8080, Version: 1,
			Environment: map[string]string{"SIMPLYDONE_CPU_COST": "2ms"}, BootTime: 40 * time.Second, PendingTime: 16 * time.Second, Monitoring: MonitoringDetailed},
		AutoScalingGroup: AutoScalingGroup{MinSize: 1, MaxSize: 6, DesiredCapacity: 2, HealthCheckType: "ELB",
			HealthCheckGracePeriod: 300 * time.Second, DefaultCooldown: 300 * time.Second, DefaultInstanceWarmup: &warmup,
			TerminationPolicies: []string{"Default"}, CapacityDistributionStrategy: "balanced-best-effort",
			LifecycleHooks: []LifecycleHook{{Name: "wait-for-app", LifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING",
				HeartbeatTimeout: 45 * time.Second, DefaultResult: "CONTINUE"}}},
		ScalingPolicies: []ScalingPolicy{
			{Name: "cpu-high", PolicyType: StepScaling, AdjustmentType: "ChangeInCapacity",
				StepAdjustments: []StepAdjustment{{LowerBound: &lower, ScalingAdjustment: 1}},
				Alarm: &Alarm{MetricName: "CPUUtilization", Namespace: "AWS/EC2", Statistic: "Average",
					ComparisonOperator: "GreaterThanThreshold", Threshold: 80, Period: time.Minute,
					EvaluationPeriods: 1, DatapointsToAlarm: 1, TreatMissingData: "missing"}},
			{Name: "cpu-low", PolicyType: StepScaling, AdjustmentType: "ChangeInCapacity",
				StepAdjustments: []StepAdjustment{{UpperBound: &upper, ScalingAdjustment: -1}},
				Alarm: &Alarm{MetricName: "CPUUtilization", Namespace: "AWS/EC2", Statistic: "Average",
					ComparisonOperator: "LessThanThreshold", Threshold: 10, Period: time.Minute,
					EvaluationPeriods: 2, DatapointsToAlarm: 2, TreatMissingData: "missing"}},
		},
		CloudWatch: CloudWatch{PublicationDelay: defaultPublicationDelay()},
		File:       s.File, Source: s.Source,
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("Builtin(simplydone) =\n%+v\nwant\n%+v", s, want)
	}
	if _, err := Builtin("nope"); err == nil || !strings.Contains(err.Error(), "built-ins are db-connections, multi-az, read-replicas, services, simplydone,") {
		t.Errorf("Builtin(nope) error = %v", err)
	}
}

// TestDefaults checks that a minimal stack gets every AWS default.
func TestDefaults(t *testing.T) {
	src := `name: web
target_group: {port: 8080}
launch_template: {command: [app, --flag]}
auto_scaling_group: {min_size: 2, max_size: 4}
scaling_policies:
  - name: up
    adjustment_type: ChangeInCapacity
    scaling_adjustment: 1
    alarm: {metric_name: CPUUtilization, namespace: AWS/EC2, statistic: Average, comparison_operator: GreaterThanThreshold, threshold: 80, period: 60, evaluation_periods: 3}
`
	s, err := Parse("min.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := &Stack{
		Name:         "web",
		Zones:        []string{"us-east-1a", "us-east-1b", "us-east-1c"},
		LoadBalancer: LoadBalancer{ListenerPort: 80, ListenerProtocol: "HTTP", IdleTimeout: 60 * time.Second, DesyncMitigationMode: "defensive"},
		TargetGroup: TargetGroup{
			Port: 8080, Protocol: "HTTP", Algorithm: "round_robin", CrossZone: "use_load_balancer_configuration",
			DeregistrationDelay: 300 * time.Second, SlowStart: 0,
			HealthCheck: HealthCheck{Path: "/", Port: "traffic-port", Protocol: "HTTP",
				Interval: 30 * time.Second, Timeout: 5 * time.Second, HealthyThreshold: 5, UnhealthyThreshold: 2, Matcher: "200"},
			Health:            awsDefaultHealth,
			AnomalyMitigation: "off",
			Stickiness:        Stickiness{Type: StickinessLBCookie, CookieDuration: DefaultStickinessDuration},
		},
		LaunchTemplate: LaunchTemplate{Command: []string{"app", "--flag"}, InstanceType: "t3.micro", Port: 8080, Version: 1,
			Environment: map[string]string{}, PendingTime: DefaultPendingTime, Monitoring: MonitoringBasic},
		AutoScalingGroup: AutoScalingGroup{MinSize: 2, MaxSize: 4, DesiredCapacity: 2, HealthCheckType: "EC2",
			HealthCheckGracePeriod: 0, DefaultCooldown: 300 * time.Second, DefaultInstanceWarmup: nil,
			TerminationPolicies: []string{"Default"}, CapacityDistributionStrategy: "balanced-best-effort"},
		ScalingPolicies: []ScalingPolicy{{Name: "up", PolicyType: SimpleScaling, AdjustmentType: "ChangeInCapacity",
			ScalingAdjustment: 1,
			Alarm: &Alarm{MetricName: "CPUUtilization", Namespace: "AWS/EC2", Statistic: "Average",
				ComparisonOperator: "GreaterThanThreshold", Threshold: 80, Period: time.Minute,
				EvaluationPeriods: 3, DatapointsToAlarm: 3, TreatMissingData: "missing"}}},
		CloudWatch: CloudWatch{PublicationDelay: defaultPublicationDelay()},
		File:       "min.yaml", Source: []byte(src),
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", s, want)
	}
	if !s.TargetGroup.CrossZoneEnabled() {
		t.Error("CrossZoneEnabled() = false for use_load_balancer_configuration")
	}
}

func TestCrossZoneEnabled(t *testing.T) {
	for setting, want := range map[string]bool{CrossZoneTrue: true, CrossZoneFalse: false, CrossZoneUseLBConf: true} {
		if got := (TargetGroup{CrossZone: setting}).CrossZoneEnabled(); got != want {
			t.Errorf("CrossZoneEnabled(%s) = %v, want %v", setting, got, want)
		}
	}
}

func TestMatches(t *testing.T) {
	cases := []struct {
		matcher string
		code    int
		want    bool
	}{
		{"200", 200, true},
		{"200", 201, false},
		{"200,202", 202, true},
		{"200,202", 201, false},
		{"200-299", 200, true},
		{"200-299", 299, true},
		{"200-299", 300, false},
		{"200, 301-302", 302, true},
		{"200, 301-302", 304, false},
		{"nonsense", 200, false},
	}
	for _, c := range cases {
		if got := (HealthCheck{Matcher: c.matcher}).Matches(c.code); got != c.want {
			t.Errorf("Matches(%q, %d) = %v, want %v", c.matcher, c.code, got, c.want)
		}
	}
}

// TestDurationForms checks that durations take AWS's integer seconds or Go
// duration text.
func TestDurationForms(t *testing.T) {
	cases := []struct {
		value string
		want  time.Duration
	}{
		{"30", 30 * time.Second},
		{`"30"`, 30 * time.Second},
		{"30s", 30 * time.Second},
		{"2m", 2 * time.Minute},
		{"1m30s", 90 * time.Second},
		{"1h", time.Hour},
	}
	for _, c := range cases {
		src := head + group + "load_balancer: {idle_timeout: " + c.value + "}\n"
		s, err := Parse("d.yaml", []byte(src))
		if err != nil {
			t.Errorf("idle_timeout %s: %v", c.value, err)
			continue
		}
		if s.LoadBalancer.IdleTimeout != c.want {
			t.Errorf("idle_timeout %s = %v, want %v", c.value, s.LoadBalancer.IdleTimeout, c.want)
		}
	}
	// boot_time is the lab's own setting, not AWS's, so it takes any precision.
	src := "name: web\ntarget_group: {port: 80}\nlaunch_template: {command: [app], boot_time: 1500ms}\n" + group
	s, err := Parse("d.yaml", []byte(src))
	if err != nil {
		t.Fatalf("boot_time 1500ms: %v", err)
	}
	if s.LaunchTemplate.BootTime != 1500*time.Millisecond {
		t.Errorf("boot_time = %v, want 1.5s", s.LaunchTemplate.BootTime)
	}
	// pending_time (EC2's pending -> running, observed) is the lab's too;
	// a negative one is refused with the file, field, value and the rule.
	src = "name: web\ntarget_group: {port: 80}\nlaunch_template: {command: [app], pending_time: 5500ms}\n" + group
	if s, err = Parse("d.yaml", []byte(src)); err != nil || s.LaunchTemplate.PendingTime != 5500*time.Millisecond {
		t.Fatalf("pending_time 5500ms: %v, %v", s, err)
	}
	src = "name: web\ntarget_group: {port: 80}\nlaunch_template: {command: [app], pending_time: -1s}\n" + group
	_, err = Parse("d.yaml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), "d.yaml") || !strings.Contains(err.Error(), "launch_template.pending_time") || !strings.Contains(err.Error(), "-1s is negative") {
		t.Errorf("pending_time -1s: %v", err)
	}
}

func TestLoadAndResolve(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "web.yaml")
	if err := os.WriteFile(file, []byte(head+group), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Resolve(file)
	if err != nil || s.Name != "web" || s.File != file {
		t.Errorf("Resolve(file) = %v, %v", s, err)
	}
	if s, err := Resolve("simplydone"); err != nil || s.Name != "simplydone" {
		t.Errorf("Resolve(simplydone) = %v, %v", s, err)
	}
	if _, err := Resolve(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "not a built-in ("+strings.Join(BuiltinNames(), ", ")+") and no such file") || !strings.Contains(err.Error(), "simplydone-peak, simplydone-peak-multi-az, simplydone-stateless") {
		t.Errorf("Resolve(missing) error = %v", err)
	}
}

// awsDefaultHealth is AWS's target group health default: both actions at a
// count of 1, percentages off.
var awsDefaultHealth = TargetGroupHealth{
	UnhealthyStateRouting: MinimumHealthyTargets{Count: 1},
	DNSFailover:           MinimumHealthyTargets{Count: 1},
}

func TestTargetGroupHealthAndAnomalyMitigation(t *testing.T) {
	src := `name: web
launch_template: {command: [app]}
auto_scaling_group: {min_size: 1, max_size: 3}
target_group:
  port: 80
  load_balancing_algorithm_type: weighted_random
  load_balancing_anomaly_mitigation: "on"
  target_group_health:
    unhealthy_state_routing: {minimum_healthy_targets_percentage: 50}
    dns_failover: {minimum_healthy_targets_count: "off", minimum_healthy_targets_percentage: 60}
`
	s, err := Parse("s.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := TargetGroupHealth{
		UnhealthyStateRouting: MinimumHealthyTargets{Count: 1, Percentage: 50},
		DNSFailover:           MinimumHealthyTargets{Count: 0, Percentage: 60},
	}
	if s.TargetGroup.Health != want {
		t.Fatalf("health %+v, want %+v", s.TargetGroup.Health, want)
	}
	if !s.TargetGroup.AnomalyMitigationEnabled() {
		t.Fatal("anomaly mitigation on was not read")
	}
	// Only routing set: DNS keeps its default and is not compared (the rule
	// applies when both actions are given).
	src = strings.Replace(src, "    dns_failover: {minimum_healthy_targets_count: \"off\", minimum_healthy_targets_percentage: 60}\n", "", 1)
	src = strings.Replace(src, "minimum_healthy_targets_percentage: 50", "minimum_healthy_targets_count: 3", 1)
	if s, err = Parse("s.yaml", []byte(src)); err != nil {
		t.Fatal(err)
	}
	if got := s.TargetGroup.Health; got.UnhealthyStateRouting.Count != 3 || got.DNSFailover.Count != 1 {
		t.Fatalf("health %+v", got)
	}
}
