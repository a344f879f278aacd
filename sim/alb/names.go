package alb

import (
	"fmt"
	"hash/fnv"
	"strings"
)

// The load balancer's names as AWS writes them: CloudWatch's LoadBalancer
// and TargetGroup dimensions, and the target group's ARN in the access log.
// The ids are derived from the seed, so a run's names are stable.

// Name is the load balancer's name (Config.Name, "lab" when empty).
func (lb *LoadBalancer) Name() string {
	if lb.cfg.Name == "" {
		return "lab"
	}
	return lb.cfg.Name
}

// Dimension is the LoadBalancer dimension: app/NAME/ID.
func (lb *LoadBalancer) Dimension() string {
	return fmt.Sprintf("app/%s/%016x", lb.Name(), newSource(lb.cfg.Seed, 0x6c62).Uint64())
}

// TargetGroupDimension is the TargetGroup dimension: targetgroup/NAME/ID.
func (lb *LoadBalancer) TargetGroupDimension() string {
	return fmt.Sprintf("targetgroup/%s-tg/%016x", lb.Name(), newSource(lb.cfg.Seed, 0x7467).Uint64())
}

// TargetGroupARN is the target group's ARN, in the zones' region and AWS's
// documentation account.
func (lb *LoadBalancer) TargetGroupARN() string {
	region := "us-east-1"
	if len(lb.cfg.Zones) > 0 {
		region = strings.TrimRight(lb.cfg.Zones[0].Name, "abcdefghijklmnopqrstuvwxyz")
	}
	return "arn:aws:elasticloadbalancing:" + region + ":123456789012:" + lb.TargetGroupDimension()
}

// targetGroupARNs are the ARNs of the load balancer's other target groups
// (a stack's services), by name: targetgroup/NAME/ID, each its own id from
// the seed. The load balancer's own keeps TargetGroupARN.
func (lb *LoadBalancer) targetGroupARNs() map[string]string {
	own := lb.TargetGroupARN()
	prefix := own[:strings.Index(own, "targetgroup/")]
	out := map[string]string{}
	for _, name := range lb.groupNames {
		if name == lb.cfg.TargetGroupName || name == "" {
			continue
		}
		h := fnv.New64a()
		h.Write([]byte(name))
		out[name] = fmt.Sprintf("%stargetgroup/%s/%016x", prefix, name, newSource(lb.cfg.Seed, h.Sum64()).Uint64())
	}
	return out
}
