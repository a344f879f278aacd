package lab

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/asg"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/cloudwatch"
	"github.com/simplydone/lab/stack"
)

func trackingStack(t *testing.T, policies string) *stack.Stack {
	t.Helper()
	src := `name: tt
availability_zones: [us-east-1a, us-east-1b]
load_balancer:
  listener: {port: 18080}
target_group:
  port: 18080
  health_check: {path: /health}
launch_template:
  image: simplydone:lab
  instance_type: t3.micro
auto_scaling_group: {min_size: 1, max_size: 8, desired_capacity: 2}
scaling_policies:
` + policies
	s, err := stack.Parse("tt.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func alarmsLab(s *stack.Stack) *Lab {
	c := clock.NewFake(time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC))
	return &Lab{opts: Options{Stack: s}, CloudWatch: cloudwatch.NewService(cloudwatch.NewStore(), c, nil)}
}

func TestTargetTrackingCreatesAWSAlarms(t *testing.T) {
	s := trackingStack(t, `  - name: cpu50
    policy_type: TargetTrackingScaling
    target_tracking: {predefined_metric_type: ASGAverageCPUUtilization, target_value: 50}
  - name: req
    policy_type: TargetTrackingScaling
    target_tracking: {predefined_metric_type: ALBRequestCountPerTarget, target_value: 500, disable_scale_in: true}
`)
	l := alarmsLab(s)
	if err := l.addAlarms(); err != nil {
		t.Fatal(err)
	}
	got := map[string]cloudwatch.AlarmConfig{}
	for _, a := range l.CloudWatch.Alarms() {
		got[a.Name()] = a.Config()
	}
	if len(got) != 3 {
		t.Fatalf("alarms %v, want AlarmHigh and AlarmLow for cpu50 and AlarmHigh only for req", keys(got))
	}
	want := []struct {
		name, ns, metric, stat, op, dim string
		threshold                       float64
		n                               int
	}{
		{"TargetTracking-tt-AlarmHigh-cpu50", cloudwatch.NamespaceEC2, cloudwatch.MetricCPUUtilization, "Average",
			cloudwatch.GreaterThanThreshold, "AutoScalingGroupName=tt", 50, 3},
		{"TargetTracking-tt-AlarmLow-cpu50", cloudwatch.NamespaceEC2, cloudwatch.MetricCPUUtilization, "Average",
			cloudwatch.LessThanThreshold, "AutoScalingGroupName=tt", 35, 15},
		{"TargetTracking-tt-AlarmHigh-req", cloudwatch.NamespaceALB, cloudwatch.MetricRequestCountPerTarget, "Sum",
			cloudwatch.GreaterThanThreshold, "LoadBalancer=tt", 500, 3},
	}
	for _, w := range want {
		c, ok := got[w.name]
		if !ok {
			t.Errorf("no alarm %s among %v", w.name, keys(got))
			continue
		}
		if c.Namespace != w.ns || c.MetricName != w.metric || c.Statistic != w.stat || c.ComparisonOperator != w.op ||
			c.Threshold != w.threshold || c.Period != time.Minute || c.EvaluationPeriods != w.n || c.DatapointsToAlarm != w.n ||
			!strings.Contains(c.Dimensions.String(), w.dim) {
			t.Errorf("%s: %+v", w.name, c)
		}
	}
	if _, ok := got["TargetTracking-tt-AlarmLow-req"]; ok {
		t.Error("AlarmLow created although scale-in is disabled")
	}
	ps := policies(s)
	if len(ps) != 2 || ps[0].Type != "TargetTrackingScaling" || ps[0].TargetValue != 50 || ps[0].DisableScaleIn ||
		!ps[1].DisableScaleIn || ps[1].TargetValue != 500 {
		t.Fatalf("group policies %+v", ps)
	}
}

func TestTargetTrackingOnNetworkMetricIsRefused(t *testing.T) {
	s := trackingStack(t, `  - name: net
    policy_type: TargetTrackingScaling
    target_tracking: {predefined_metric_type: ASGAverageNetworkIn, target_value: 1000000}
`)
	err := alarmsLab(s).addAlarms()
	if err == nil || !strings.Contains(err.Error(), "net") || !strings.Contains(err.Error(), "ASGAverageNetworkIn") {
		t.Fatalf("error %v, want one naming the policy and the metric", err)
	}
}

func keys(m map[string]cloudwatch.AlarmConfig) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// stubFleet and stubTargets stand in for processes and the load balancer:
// every launch succeeds and every target is healthy at once.
type stubFleet struct {
	mu sync.Mutex
	n  int
}

func (f *stubFleet) Launch(context.Context, string, int) (az.InstanceID, netip.AddrPort, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	return az.InstanceID(fmt.Sprintf("i-%02d", f.n)), netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 2, byte(f.n)}), 8080), nil
}
func (f *stubFleet) Terminate(context.Context, az.InstanceID) error      { return nil }
func (f *stubFleet) Running(az.InstanceID) bool                          { return true }
func (f *stubFleet) CPU(context.Context, az.InstanceID) (float64, error) { return 0, nil }

type stubTargets struct{}

func (stubTargets) Register(az.InstanceID, string, netip.AddrPort) error { return nil }
func (stubTargets) Deregister(az.InstanceID) (<-chan struct{}, error) {
	c := make(chan struct{})
	close(c)
	return c, nil
}
func (stubTargets) State(az.InstanceID) string { return "healthy" }

type eventLog struct {
	mu  sync.Mutex
	evs []events.Event
}

func (e *eventLog) Publish(ev events.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.evs = append(e.evs, ev)
}

// TestTargetTrackingAlarmDrivesGroup runs the alarms on a fake clock over
// datapoints put by hand: three minutes of CPU 90 against a target of 50
// take a warm group of 2 to ceil(2 × 90 / 50) = 4.
func TestTargetTrackingAlarmDrivesGroup(t *testing.T) {
	s := trackingStack(t, `  - name: cpu50
    policy_type: TargetTrackingScaling
    target_tracking: {predefined_metric_type: ASGAverageCPUUtilization, target_value: 50}
`)
	t0 := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	c := clock.NewFake(t0)
	store := cloudwatch.NewStore()
	log := &eventLog{}
	l := &Lab{opts: Options{Stack: s}, CloudWatch: cloudwatch.NewService(store, c, nil)}
	zero := time.Duration(0)
	g, err := asg.New(asg.Config{Name: s.Name, Zones: s.Zones, Min: 1, Max: 8, Desired: 2, HealthCheckType: "EC2",
		DefaultCooldown: 300 * time.Second, DefaultInstanceWarmup: &zero, Policies: policies(s),
		Clock: c, Fleet: &stubFleet{}, Targets: stubTargets{}, Events: log, Rand: rand.New(rand.NewPCG(1, 2))})
	if err != nil {
		t.Fatal(err)
	}
	l.Group = g
	if err := l.addAlarms(); err != nil {
		t.Fatal(err)
	}
	g.Reconcile(context.Background())
	sink := cpuSink{store: store, group: s.Name}
	for i := 0; i < 3*6; i++ {
		sink.PutCPU(t0.Add(time.Duration(i)*10*time.Second), "i-01", 90, true)
	}
	c.Advance(3 * time.Minute)
	l.CloudWatch.EvaluateAll(c.Now())
	if d := g.Desired(); d != 4 {
		t.Fatalf("desired %d after 3 minutes of CPU 90 vs 50, want 4", d)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	found := false
	for _, e := range log.evs {
		if d, ok := e.(asg.DesiredCapacityChanged); ok && d.Policy == "cpu50" && d.Alarm == "TargetTracking-tt-AlarmHigh-cpu50" && d.To == 4 {
			found = true
			t.Log(d.Message())
		}
	}
	if !found {
		t.Fatalf("no DesiredCapacityChanged from the policy in %v", log.evs)
	}
}

// TestPartsUseCloudWatchNames: the load balancer publishes under the names
// CloudWatch's alarms and queries read (it spells them itself, not to
// import CloudWatch).
func TestPartsUseCloudWatchNames(t *testing.T) {
	for _, p := range [][2]string{
		{alb.Namespace, cloudwatch.NamespaceALB},
		{alb.DimLoadBalancer, cloudwatch.DimLoadBalancer},
		{alb.DimAvailabilityZone, cloudwatch.DimAvailabilityZone},
		{alb.MetricRequestCount, cloudwatch.MetricRequestCount},
		{alb.MetricRequestCountPerTarget, cloudwatch.MetricRequestCountPerTarget},
		{alb.MetricTargetResponseTime, cloudwatch.MetricTargetResponseTime},
		{alb.MetricHTTPCodeELB5XXCount, cloudwatch.MetricHTTPCodeELB5XXCount},
		{alb.MetricHTTPCodeELB502Count, cloudwatch.MetricHTTPCodeELB502Count},
		{alb.MetricHTTPCodeELB503Count, cloudwatch.MetricHTTPCodeELB503Count},
		{alb.MetricHTTPCodeELB504Count, cloudwatch.MetricHTTPCodeELB504Count},
		{alb.MetricHTTPCodeTarget2XXCount, cloudwatch.MetricHTTPCodeTarget2XXCount},
		{alb.MetricHTTPCodeTarget4XXCount, cloudwatch.MetricHTTPCodeTarget4XXCount},
		{alb.MetricHTTPCodeTarget5XXCount, cloudwatch.MetricHTTPCodeTarget5XXCount},
		{alb.MetricHealthyHostCount, cloudwatch.MetricHealthyHostCount},
		{alb.MetricUnHealthyHostCount, cloudwatch.MetricUnHealthyHostCount},
		{alb.MetricUnhealthyRoutingRequestCount, cloudwatch.MetricUnhealthyRoutingRequestCount},
	} {
		if p[0] != p[1] {
			t.Errorf("sim/alb says %q, CloudWatch %q", p[0], p[1])
		}
	}
}
