package stack

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// CloudWatch's timing in the stack: EC2 monitoring as on a launch template
// (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/manage-detailed-monitoring.html:
// basic by default), the observed publication delays
// (https://docs.datadoghq.com/integrations/guide/cloud-metric-delay/), and
// high-resolution periods only for custom metrics
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/publishingMetrics.html#high-resolution-metrics).
func TestCloudWatchTiming(t *testing.T) {
	s, err := Parse("s.yaml", []byte(head+group))
	if err != nil {
		t.Fatal(err)
	}
	if s.LaunchTemplate.Monitoring != MonitoringBasic {
		t.Errorf("monitoring %q by default, want basic (AWS's default for a launch template)", s.LaunchTemplate.Monitoring)
	}
	for ns, want := range map[string]time.Duration{NamespaceEC2: 2 * time.Minute, NamespaceALB: 2 * time.Minute, "Lab/Custom": 30 * time.Second} {
		if got := s.CloudWatch.Delay(ns); got != want {
			t.Errorf("default publication delay of %s: %v, want %v", ns, got, want)
		}
	}

	s, err = Parse("s.yaml", []byte(`name: web
target_group: {port: 8080}
launch_template: {command: [app], monitoring: detailed}
auto_scaling_group: {min_size: 1, max_size: 3}
cloudwatch: {publication_delay: {AWS/EC2: 3m, custom: 0s}}
scaling_policies:
  - name: up
    policy_type: SimpleScaling
    adjustment_type: ChangeInCapacity
    scaling_adjustment: 1
    alarm: {metric_name: cpu_usage_active, namespace: CWAgent, statistic: Average, comparison_operator: GreaterThanThreshold, threshold: 80, period: 10s, evaluation_periods: 3}
`))
	if err != nil {
		t.Fatal(err)
	}
	if s.LaunchTemplate.Monitoring != MonitoringDetailed || s.CloudWatch.Delay(NamespaceEC2) != 3*time.Minute ||
		s.CloudWatch.Delay(NamespaceALB) != 2*time.Minute || s.CloudWatch.Delay("CWAgent") != 0 {
		t.Errorf("monitoring %q, delays %v", s.LaunchTemplate.Monitoring, s.CloudWatch.PublicationDelay)
	}
}

func TestCloudWatchTimingErrors(t *testing.T) {
	_, err := Parse("s.yaml", []byte(`name: web
target_group: {port: 8080}
launch_template: {command: [app], monitoring: fast}
auto_scaling_group: {min_size: 1, max_size: 3}
cloudwatch: {publication_delay: {AWS/EC2: 20m, AWS/Lambda: 1m}}
scaling_policies:
  - name: up
    policy_type: SimpleScaling
    adjustment_type: ChangeInCapacity
    scaling_adjustment: 1
    alarm: {metric_name: CPUUtilization, namespace: AWS/EC2, statistic: Average, comparison_operator: GreaterThanThreshold, threshold: 80, period: 10s, evaluation_periods: 3}
  - name: track
    policy_type: TargetTrackingScaling
    target_tracking: {predefined_metric_type: ASGAverageCPUUtilization, target_value: 50, period: 30s}
`))
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Parse: %v, want *Errors", err)
	}
	want := []string{
		`s.yaml:3:47: launch_template.monitoring: "fast" is not allowed; use basic (AWS's default for a launch template: 5-minute CPUUtilization) or detailed (1-minute)`,
		`s.yaml:5:43: cloudwatch.publication_delay.AWS/EC2: 1200s is not allowed; use 0s to 900s`,
		`s.yaml:5:48: cloudwatch.publication_delay.AWS/Lambda: unknown key; allowed keys are AWS/EC2, AWS/ApplicationELB, custom`,
		`s.yaml:11:148: scaling_policies[0].alarm.period: 10s is not allowed for AWS/EC2 CPUUtilization: AWS publishes AWS/EC2 CPUUtilization at best every minute; a 10s or 30s period needs a high-resolution custom metric put by an agent (PutMetricData)`,
		`s.yaml:14:99: scaling_policies[1].target_tracking.period: 30s is not allowed for the predefined metric ASGAverageCPUUtilization: AWS publishes ASGAverageCPUUtilization at best every minute; a 10s or 30s period needs a high-resolution custom metric put by an agent (PutMetricData)`,
	}
	if got := err.Error(); got != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}
