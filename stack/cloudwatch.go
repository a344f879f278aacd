package stack

import (
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// EC2 monitoring of the launch template (monitoring: basic or detailed).
// AWS's default for a launch template is basic: CPUUtilization every 5
// minutes. https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/manage-detailed-monitoring.html
const (
	MonitoringBasic    = "basic"
	MonitoringDetailed = "detailed"
)

var monitoringKinds = []string{MonitoringBasic, MonitoringDetailed}

// Namespaces whose publication delay a stack can set; "custom" is every
// namespace of metrics put with PutMetricData.
const (
	NamespaceEC2    = "AWS/EC2"
	NamespaceALB    = "AWS/ApplicationELB"
	NamespaceCustom = "custom"
)

var delayNamespaces = []string{NamespaceEC2, NamespaceALB, NamespaceCustom}

// CloudWatch holds the lab's CloudWatch settings: figures AWS does not
// document, which the stack may change and the report lists as observed
// or assumed.
type CloudWatch struct {
	// PublicationDelay is how long after its period ends a datapoint of
	// each namespace becomes visible to alarms (cloudwatch.publication_delay).
	PublicationDelay map[string]time.Duration
}

// Default publication delays. None is documented by AWS: EC2's 1-minute
// metrics are observed to be visible 1 to 3 minutes after the period ends
// (https://docs.datadoghq.com/integrations/guide/cloud-metric-delay/); the
// lab takes the middle, assumes the same for the load balancer, and 30 s
// for custom metrics an agent puts.
func defaultPublicationDelay() map[string]time.Duration {
	return map[string]time.Duration{NamespaceEC2: 2 * time.Minute, NamespaceALB: 2 * time.Minute, NamespaceCustom: 30 * time.Second}
}

// Delay is the publication delay of namespace: its own, or custom's.
func (c CloudWatch) Delay(namespace string) time.Duration {
	if d, ok := c.PublicationDelay[namespace]; ok {
		return d
	}
	return c.PublicationDelay[NamespaceCustom]
}

// maxPublicationDelay bounds the setting: beyond it an alarm on 1-minute
// data with the default evaluation range would never see a datapoint.
const maxPublicationDelay = 15 * time.Minute

func (p *parser) cloudWatch(n *yaml.Node, c *CloudWatch) {
	const path = "cloudwatch"
	m := p.Mapping(n, path, "publication_delay")
	if m == nil || m["publication_delay"] == nil {
		return
	}
	dpath := path + ".publication_delay"
	d := p.Mapping(m["publication_delay"], dpath, delayNamespaces...)
	for _, ns := range delayNamespaces {
		if d[ns] == nil {
			continue
		}
		v := c.PublicationDelay[ns]
		p.Dur(d, dpath, ns, &v, false)
		c.PublicationDelay[ns] = v
	}
}

func (p *parser) validateCloudWatch(c CloudWatch) {
	for _, ns := range delayNamespaces {
		field := "cloudwatch.publication_delay." + ns
		if d := c.PublicationDelay[ns]; p.Has(field) && !p.Bad(field) && (d < 0 || d > maxPublicationDelay) {
			p.Errf(field, "%s is not allowed; use 0s to %s", fmtDur(d), fmtDur(maxPublicationDelay))
		}
	}
}

func (p *parser) validateMonitoring(lt LaunchTemplate) {
	const field = "launch_template.monitoring"
	if p.Has(field) && !p.Bad(field) && !slices.Contains(monitoringKinds, lt.Monitoring) {
		p.Errf(field, "%q is not allowed; use %s (AWS's default for a launch template: 5-minute CPUUtilization) or %s (1-minute)", lt.Monitoring, MonitoringBasic, MonitoringDetailed)
	}
}

// highResolutionNeedsCustom is why a period under 60 s is refused for a
// metric AWS publishes itself.
const highResolutionNeedsCustom = "AWS publishes %s at best every minute; a 10s or 30s period needs a high-resolution custom metric put by an agent (PutMetricData)"

// subMinute reports whether d is a high-resolution period.
func subMinute(d time.Duration) bool { return d > 0 && d < time.Minute }

// awsNamespace reports whether AWS itself publishes the namespace.
func awsNamespace(ns string) bool { return strings.HasPrefix(ns, "AWS/") }
