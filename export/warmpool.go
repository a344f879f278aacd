package export

import (
	"fmt"

	"github.com/simplydone/lab/stack"
)

// warmPoolNote is what both formats say of a warm pool.
const warmPoolNote = "auto_scaling_group.warm_pool: instances initialised once and kept %s, started on scale-out before any cold launch (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-warm-pools.html). AWS stops a new pool instance as soon as it runs unless a launch lifecycle hook holds it until its user data is done; the lab waits for the first boot."

// tfWarmPool writes the group's warm_pool block inside aws_autoscaling_group.
func tfWarmPool(w *tf, s *stack.Stack) {
	wp := s.AutoScalingGroup.WarmPool
	if wp == nil {
		return
	}
	w.comment(fmt.Sprintf(warmPoolNote, wp.PoolState))
	w.open("warm_pool")
	w.attr("pool_state", q(wp.PoolState))
	w.attr("min_size", itoa(wp.MinSize))
	if wp.MaxGroupPreparedCapacity >= 0 {
		w.attr("max_group_prepared_capacity", itoa(wp.MaxGroupPreparedCapacity))
	}
	w.open("instance_reuse_policy")
	w.attr("reuse_on_scale_in", boolean(wp.ReuseOnScaleIn))
	w.close()
	w.close()
}

// cfnWarmPool writes the AWS::AutoScaling::WarmPool resource of the group.
func cfnWarmPool(res *obj, s *stack.Stack) {
	for _, sv := range cfnServices(s) {
		cfnServiceWarmPool(res, sv)
	}
}

func cfnServiceWarmPool(res *obj, sv cfnSvc) {
	wp := sv.st.AutoScalingGroup.WarmPool
	if wp == nil {
		return
	}
	props := obj{
		{key: "AutoScalingGroupName", val: ref(sv.id("AutoScalingGroup"))},
		{key: "PoolState", val: wp.PoolState},
		{key: "MinSize", val: wp.MinSize},
	}
	if wp.MaxGroupPreparedCapacity >= 0 {
		props.set("MaxGroupPreparedCapacity", wp.MaxGroupPreparedCapacity)
	}
	props.set("InstanceReusePolicy", obj{{key: "ReuseOnScaleIn", val: wp.ReuseOnScaleIn}})
	res.set(sv.id("WarmPool"), resource("AWS::AutoScaling::WarmPool", props), fmt.Sprintf(warmPoolNote, wp.PoolState))
}

// restartNote is the lab-only restart_time, when the stack sets it.
func restartNote(lt stack.LaunchTemplate) []string {
	if lt.RestartTime == nil {
		return nil
	}
	return []string{fmt.Sprintf("launch_template.restart_time (%ds) is lab-only: on AWS a stopped instance's start takes what it takes.", secs(*lt.RestartTime))}
}
