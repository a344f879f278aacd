package export

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/simplydone/lab/stack"
)

// warmStack is testdata/stacks/warm-pool.yaml with the warm pool replaced.
func warmStack(t *testing.T, wp *stack.WarmPool) *stack.Stack {
	t.Helper()
	s := load(t, "testdata/stacks/warm-pool.yaml")
	s.AutoScalingGroup.WarmPool = wp
	return s
}

// The warm pool reaches Terraform's warm_pool block with the stack's values
// (and no max_group_prepared_capacity when it is AWS's default, -1); the
// TerraformValidate and spec tests check testdata/stacks/warm-pool.yaml
// against the provider and the resource specification.
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_PutWarmPool.html
func TestWarmPoolTerraform(t *testing.T) {
	for _, c := range []struct {
		wp       stack.WarmPool
		prepared bool
	}{
		{stack.WarmPool{PoolState: "Stopped", MinSize: 1, MaxGroupPreparedCapacity: 6, ReuseOnScaleIn: true}, true},
		{stack.WarmPool{PoolState: "Hibernated", MaxGroupPreparedCapacity: -1}, false},
	} {
		files, err := Terraform(warmStack(t, &c.wp), Options{})
		if err != nil {
			t.Fatal(err)
		}
		asg := tfModule(parseModule(t, files)).block(t, "resource", "aws_autoscaling_group", "this")
		eq(t, "pool_state", val(t, asg, "warm_pool", "pool_state").AsString(), c.wp.PoolState)
		eq(t, "min_size", f64(val(t, asg, "warm_pool", "min_size")), c.wp.MinSize)
		eq(t, "reuse_on_scale_in", val(t, asg, "warm_pool", "instance_reuse_policy", "reuse_on_scale_in").True(), c.wp.ReuseOnScaleIn)
		_, has := nested(asg, "warm_pool")[0].Attributes["max_group_prepared_capacity"]
		if has != c.prepared {
			t.Errorf("%+v: max_group_prepared_capacity written %v, want %v", c.wp, has, c.prepared)
		} else if has {
			eq(t, "max_group_prepared_capacity", f64(val(t, asg, "warm_pool", "max_group_prepared_capacity")), c.wp.MaxGroupPreparedCapacity)
		}
		if !strings.Contains(string(files["compute.tf"]), "launch_template.restart_time (20s) is lab-only") {
			t.Error("compute.tf does not say restart_time is lab-only")
		}
	}
	files, err := Terraform(warmStack(t, nil), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(files["compute.tf"]), "warm_pool") {
		t.Error("a stack without a warm pool exports one")
	}
}

// The warm pool is an AWS::AutoScaling::WarmPool resource on the group.
func TestWarmPoolCloudFormation(t *testing.T) {
	wp := stack.WarmPool{PoolState: "Running", MinSize: 2, MaxGroupPreparedCapacity: 5, ReuseOnScaleIn: true}
	data, err := CloudFormation(warmStack(t, &wp), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var tmpl struct {
		Resources map[string]struct {
			Type       string         `yaml:"Type"`
			Properties map[string]any `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(data, &tmpl); err != nil {
		t.Fatal(err)
	}
	r, ok := tmpl.Resources["WarmPool"]
	if !ok || r.Type != "AWS::AutoScaling::WarmPool" {
		t.Fatalf("no AWS::AutoScaling::WarmPool resource: %+v", r)
	}
	p := r.Properties
	eq(t, "AutoScalingGroupName", p["AutoScalingGroupName"], map[string]any{"Ref": "AutoScalingGroup"})
	eq(t, "PoolState", p["PoolState"], wp.PoolState)
	eq(t, "MinSize", p["MinSize"], wp.MinSize)
	eq(t, "MaxGroupPreparedCapacity", p["MaxGroupPreparedCapacity"], wp.MaxGroupPreparedCapacity)
	eq(t, "InstanceReusePolicy", p["InstanceReusePolicy"], map[string]any{"ReuseOnScaleIn": true})
	for _, prob := range checkTemplate(t, readSpec(t), data) {
		t.Error(prob)
	}
}
