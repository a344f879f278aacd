package stack

import (
	"slices"
	"time"
)

// trackingPeriods are the metric periods a target tracking policy may use:
// 60 s, or 10 s and 30 s for high-resolution metrics (aws-behaviour.md 2.6:
// "more than 60 s is not supported").
var trackingPeriods = []time.Duration{10 * time.Second, 30 * time.Second, time.Minute}

// Every predefined metric is one AWS publishes itself (AWS/EC2,
// AWS/ApplicationELB), at best every minute, so 10 s and 30 s are refused
// for them: high-resolution target tracking needs a custom metric an agent
// puts (https://docs.aws.amazon.com/autoscaling/ec2/userguide/policy-creating-high-resolution-metrics.html).
func (p *parser) validateTrackingPeriod(field, metricType string, d time.Duration) {
	if subMinute(d) && slices.Contains(trackingPeriods, d) {
		p.Errf(field, "%s is not allowed for the predefined metric %s: "+highResolutionNeedsCustom, d, metricType, metricType)
		return
	}
	if !slices.Contains(trackingPeriods, d) {
		p.Errf(field, "%s is not allowed; use 60s (10s and 30s need a high-resolution custom metric)", d)
	}
}
