package stack

import "time"

// validateTrackingPeriod allows 60 s, the period of AWS's own metrics.
// Every predefined metric is one AWS publishes itself (AWS/EC2,
// AWS/ApplicationELB), at best every minute, so 10 s and 30 s are refused
// for them: high-resolution target tracking needs a custom metric an agent
// puts (https://docs.aws.amazon.com/autoscaling/ec2/userguide/policy-creating-high-resolution-metrics.html).
func (p *parser) validateTrackingPeriod(field, metricType string, d time.Duration) {
	switch d {
	case time.Minute:
	case 10 * time.Second, 30 * time.Second:
		p.Errf(field, "%s is not allowed for the predefined metric %s: "+highResolutionNeedsCustom, d, metricType, metricType)
	default:
		p.Errf(field, "%s is not allowed; use 60s (10s and 30s need a high-resolution custom metric)", d)
	}
}
