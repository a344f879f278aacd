package stack

import (
	"strings"
	"testing"
	"time"
)

// TestWarmPoolParse reads warm_pool with AWS's defaults (PutWarmPool: pool
// state Stopped, MinSize 0, MaxGroupPreparedCapacity -1, ReuseOnScaleIn
// false) and restart_time (default boot_time).
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_PutWarmPool.html
func TestWarmPoolParse(t *testing.T) {
	s, err := Parse("s.yaml", []byte(head+"auto_scaling_group: {min_size: 1, max_size: 3, warm_pool: {}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if w := s.AutoScalingGroup.WarmPool; w == nil || *w != (WarmPool{PoolState: "Stopped", MinSize: 0, MaxGroupPreparedCapacity: -1}) {
		t.Fatalf("defaults: %+v", w)
	}
	s, err = Parse("s.yaml", []byte(`name: web
target_group: {port: 8080}
launch_template: {command: [app], boot_time: 90s, restart_time: 15s}
auto_scaling_group:
  min_size: 1
  max_size: 10
  warm_pool:
    pool_state: Hibernated
    min_size: 2
    max_group_prepared_capacity: 8
    instance_reuse_policy: {reuse_on_scale_in: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := WarmPool{PoolState: "Hibernated", MinSize: 2, MaxGroupPreparedCapacity: 8, ReuseOnScaleIn: true}
	if w := s.AutoScalingGroup.WarmPool; *w != want {
		t.Fatalf("got %+v, want %+v", *w, want)
	}
	if got := s.LaunchTemplate.Restart(); got != 15*time.Second {
		t.Fatalf("Restart() = %s", got)
	}
	s, _ = Parse("s.yaml", []byte(head+group))
	if s.AutoScalingGroup.WarmPool != nil || s.LaunchTemplate.Restart() != s.LaunchTemplate.BootTime {
		t.Fatalf("no warm_pool: %+v, restart %s", s.AutoScalingGroup.WarmPool, s.LaunchTemplate.Restart())
	}
}

// TestWarmPoolSize follows the warm pools page's examples: max 10, desired
// 6 gives 4; with a max prepared capacity of 8, 2; desired above the
// prepared capacity gives 0 unless MinSize says otherwise.
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-warm-pools.html
func TestWarmPoolSize(t *testing.T) {
	cases := []struct {
		w                WarmPool
		maxSize, desired int
		want             int
	}{
		{WarmPool{MaxGroupPreparedCapacity: -1}, 10, 6, 4},
		{WarmPool{MaxGroupPreparedCapacity: 8}, 10, 6, 2},
		{WarmPool{MaxGroupPreparedCapacity: 5}, 10, 6, 0},
		{WarmPool{MaxGroupPreparedCapacity: 5, MinSize: 1}, 10, 6, 1},
		{WarmPool{MaxGroupPreparedCapacity: 3, MinSize: 3}, 10, 6, 3}, // equal values: an absolute size
		{WarmPool{MaxGroupPreparedCapacity: -1, MinSize: 2}, 6, 5, 2},
	}
	for _, c := range cases {
		if got := c.w.Size(c.maxSize, c.desired); got != c.want {
			t.Errorf("%+v max %d desired %d: size %d, want %d", c.w, c.maxSize, c.desired, got, c.want)
		}
	}
}

func TestWarmPoolErrors(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"pool state typo", head + "auto_scaling_group: {min_size: 1, max_size: 3, warm_pool: {pool_state: stopped}}\n",
			`s.yaml:4:72: auto_scaling_group.warm_pool.pool_state: "stopped" is not allowed; use one of Stopped, Running, Hibernated; did you mean Stopped?`},
		{"negative min size", head + "auto_scaling_group: {min_size: 1, max_size: 3, warm_pool: {min_size: -1}}\n",
			`s.yaml:4:70: auto_scaling_group.warm_pool.min_size: -1 is below AWS's minimum of 0`},
		{"prepared capacity below -1", head + "auto_scaling_group: {min_size: 1, max_size: 3, warm_pool: {max_group_prepared_capacity: -2}}\n",
			`s.yaml:4:89: auto_scaling_group.warm_pool.max_group_prepared_capacity: -2 is not allowed; use -1 (the group's max size, AWS's default) or 0 or more`},
		{"reuse not a bool", head + "auto_scaling_group: {min_size: 1, max_size: 3, warm_pool: {instance_reuse_policy: {reuse_on_scale_in: maybe}}}\n",
			`s.yaml:4:103: auto_scaling_group.warm_pool.instance_reuse_policy.reuse_on_scale_in: "maybe" is not true or false`},
		{"unknown key", head + "auto_scaling_group: {min_size: 1, max_size: 3, warm_pool: {colour: red}}\n",
			`s.yaml:4:60: auto_scaling_group.warm_pool.colour: unknown key; allowed keys are pool_state, min_size, max_group_prepared_capacity, instance_reuse_policy`},
		{"negative restart time", "name: web\ntarget_group: {port: 8080}\nlaunch_template: {command: [app], restart_time: -5s}\n" + group,
			`s.yaml:3:49: launch_template.restart_time: -5s is negative; use 0 or more (the default is boot_time)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(c.yaml))
			if err == nil {
				t.Fatal("parsed")
			}
			if got := err.Error(); !strings.Contains(got, c.want) {
				t.Fatalf("error:\n%s\nwant:\n%s", got, c.want)
			}
		})
	}
}
