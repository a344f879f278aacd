package stack

import "github.com/simplydone/lab/internal/figures"

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
