package stack

import (
	"slices"
	"strings"
	"time"

	"github.com/simplydone/lab/internal/figures"
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

// Figures are the CloudWatch timings the run relies on that AWS does not
// document: the publication delays (observed or assumed, unless the stack
// sets them) and the width of the evaluation range.
func (c CloudWatch) Figures() []figures.Figure {
	def := defaultPublicationDelay()
	delay := func(ns string, kind figures.Kind, source string) figures.Figure {
		f := figures.Figure{Name: "CloudWatch publication delay, " + ns, Value: c.Delay(ns).String(), Kind: kind, Source: source}
		if c.Delay(ns) != def[ns] {
			f.Kind, f.Source = figures.Setting, "cloudwatch.publication_delay."+ns+" (the lab's default: "+def[ns].String()+", "+string(kind)+")"
		}
		return f
	}
	return []figures.Figure{
		delay(NamespaceEC2, figures.Observed, "EC2 1-minute metrics are typically visible 1 to 3 minutes after the period ends; the lab takes the middle (https://docs.datadoghq.com/integrations/guide/cloud-metric-delay/)"),
		delay(NamespaceALB, figures.Assumed, "no figure is published for AWS/ApplicationELB; the lab assumes EC2's"),
		delay(NamespaceCustom, figures.Assumed, "metrics an agent puts with PutMetricData skip the service's own pipeline; no figure is published"),
		{Name: "CloudWatch evaluation range", Value: "EvaluationPeriods + 2 + the periods the publication delay spans", Kind: figures.Assumed,
			Source: "AWS fetches more datapoints than EvaluationPeriods to bridge late or missing ones and gives only an example (5 for 3); https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-evaluating-missing-data"},
	}
}

// PendingFigure is EC2's pending-to-running time the run relies on: AWS
// documents none, so the default is an observed one, unless the stack sets it.
func (lt LaunchTemplate) PendingFigure() figures.Figure {
	f := figures.Figure{Name: "EC2 pending → running", Value: lt.PendingTime.String(), Kind: figures.Observed,
		Source: "16.4-16.6 s for any instance family in 2025 (https://github.com/brevdev/ec2-coldboot-research); about 5 s for a c5 in 2021 (http://www.daemonology.net/blog/2021-08-12-EC2-boot-time-benchmarking.html); the lab takes the newer, slower figure"}
	if lt.PendingTime != DefaultPendingTime {
		f.Kind, f.Source = figures.Setting, "launch_template.pending_time (the lab's default: "+DefaultPendingTime.String()+", observed)"
	}
	return f
}
