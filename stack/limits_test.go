package stack

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// aliasBomb is 12 KB of nested aliases: 1,500 policies of 1,500 steps each
// once expanded. Before aliases were refused, Parse walked all 2.25 million
// steps: 28 s and 4.6 GB allocated.
func aliasBomb() string {
	steps := "[&s {metric_interval_lower_bound: 0, scaling_adjustment: 1}" + strings.Repeat(", *s", 1500) + "]"
	pol := "&p {name: up, policy_type: StepScaling, adjustment_type: ChangeInCapacity, step_adjustments: " + steps + "}"
	return head + group + "scaling_policies: [" + pol + strings.Repeat(", *p", 1500) + "]\n"
}

func TestAliasBombRefused(t *testing.T) {
	src := aliasBomb()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := Parse("s.yaml", []byte(src))
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d bytes of aliases: %s, %d KB allocated", len(src), took, alloc>>10)
	want := "s.yaml:5:174: scaling_policies[0].step_adjustments[1]: the alias *s is not allowed; write the value out"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("Parse(alias bomb) = %.300v, want %q...", err, want)
	}
	if alloc > 16<<20 {
		t.Errorf("parsing the refused file allocated %d MB, want under 16 MB", alloc>>20)
	}
}

func TestHostLimits(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{head + "auto_scaling_group: {min_size: 1, max_size: 101}\n",
			"s.yaml:4:45: auto_scaling_group.max_size: 101 is above the lab's maximum of 100: every instance runs on this host (AWS's own bound is the account's EC2 vCPU quota)"},
		{head + "auto_scaling_group: {min_size: 1, max_size: 3, warm_pool: {min_size: 500}}\n",
			"s.yaml:4:70: auto_scaling_group.warm_pool.min_size: 500 is above the lab's maximum of 100: every instance runs on this host (AWS's own bound is the account's EC2 vCPU quota)"},
		{head + "auto_scaling_group: {min_size: 1, max_size: 3, warm_pool: {max_group_prepared_capacity: 1000}}\n",
			"s.yaml:4:89: auto_scaling_group.warm_pool.max_group_prepared_capacity: 1000 is above the lab's maximum of 100: every instance runs on this host (AWS's own bound is the account's EC2 vCPU quota)"},
	}
	for _, c := range cases {
		_, err := Parse("s.yaml", []byte(c.yaml))
		if err == nil || err.Error() != c.want {
			t.Errorf("Parse:\n%s\ngot  %v\nwant %s", c.yaml, err, c.want)
		}
	}
	if _, err := Parse("s.yaml", []byte(head+fmt.Sprintf("auto_scaling_group: {min_size: 1, max_size: %d}\n", MaxInstances))); err != nil {
		t.Errorf("max_size %d: %v", MaxInstances, err)
	}
}

func TestAWSQuotas(t *testing.T) {
	steps := strings.Repeat("      - {metric_interval_lower_bound: 0, scaling_adjustment: 1}\n", 21)
	src := head + group + policy + `    alarm: {metric_name: CPUUtilization, namespace: AWS/EC2, statistic: Average, comparison_operator: GreaterThanThreshold, threshold: 80, period: 60, evaluation_periods: 2}
    step_adjustments:
` + steps
	_, err := Parse("s.yaml", []byte(src))
	want := "s.yaml:11:7: scaling_policies[0].step_adjustments: 21 given; AWS allows at most 20 step adjustments per step scaling policy"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("21 steps: %v\nwant %s", err, want)
	}
	var b strings.Builder
	b.WriteString(head + group + "scaling_policies:\n")
	for i := range 51 {
		fmt.Fprintf(&b, "  - {name: p%d, policy_type: TargetTrackingScaling, target_tracking: {predefined_metric_type: ASGAverageCPUUtilization, target_value: 50}}\n", i)
	}
	_, err = Parse("s.yaml", []byte(b.String()))
	want = "s.yaml:6:3: scaling_policies: 51 given; AWS allows at most 50 scaling policies per Auto Scaling group"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("51 policies: %.300v\nwant %s", err, want)
	}
}
