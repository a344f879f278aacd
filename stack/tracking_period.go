package stack

import "time"

// trackingPeriods are the metric periods a target tracking policy may use:
// 60 s, or 10 s and 30 s for high-resolution metrics (aws-behaviour.md 2.6:
// "more than 60 s is not supported").
var trackingPeriods = []time.Duration{10 * time.Second, 30 * time.Second, time.Minute}

func (p *parser) validateTrackingPeriod(field string, d time.Duration) {
	for _, ok := range trackingPeriods {
		if d == ok {
			return
		}
	}
	p.Errf(field, "%s is not allowed; use 10s, 30s (high-resolution metrics) or 60s", d)
}
