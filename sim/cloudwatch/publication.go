package cloudwatch

import (
	"time"
)

// Publication is how a namespace's datapoints reach CloudWatch: one
// datapoint per Resolution (EC2 basic monitoring: 5 minutes; detailed: 1
// minute; the load balancer: 1 minute), stamped with its interval's start,
// and visible to GetMetricData and to alarms only Delay after the interval
// ends. A Resolution of 0 is a metric put as it is measured (a
// high-resolution custom metric); its samples are visible Delay after
// their own time.
//
// AWS documents no publication delay; the stack sets it, over defaults
// that are observed or assumed (stack.CloudWatch).
type Publication struct {
	Resolution time.Duration
	Delay      time.Duration
}

// Monitoring is an EC2 instance's monitoring, as a launch template sets it.
type Monitoring string

// EC2 monitoring kinds. AWS's default for a launch template is basic.
const (
	MonitoringBasic    Monitoring = "basic"    // CPUUtilization every 5 minutes
	MonitoringDetailed Monitoring = "detailed" // every minute
)

// Resolution is how often EC2 publishes a datapoint under m.
func (m Monitoring) Resolution() time.Duration {
	if m == MonitoringDetailed {
		return time.Minute
	}
	return 5 * time.Minute
}

// EC2Publication is AWS/EC2's publication under monitoring m with delay d.
func EC2Publication(m Monitoring, d time.Duration) Publication {
	return Publication{Resolution: m.Resolution(), Delay: d}
}

// ALBPublication is AWS/ApplicationELB's: a datapoint a minute, delay d.
func ALBPublication(d time.Duration) Publication {
	return Publication{Resolution: time.Minute, Delay: d}
}

// Lag is how many periods of length period the newest published datapoint
// can trail the evaluation: the delay, plus a coarser resolution's wait.
// CloudWatch fetches an evaluation range wider than EvaluationPeriods so
// that delayed or missing datapoints do not leave an alarm without data
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-evaluating-missing-data);
// AWS does not document its width, so the lab widens its own (N + 2) by
// this lag: an assumption, listed with the run's figures.
func (p Publication) Lag(period time.Duration) int {
	if period <= 0 {
		return 0
	}
	d := p.Delay + max(p.Resolution, period) - period
	return int((d + period - 1) / period)
}

// interval is the publication interval a sample at t belongs to, and when
// its datapoint becomes visible.
func (p Publication) interval(t time.Time) (start, visible time.Time) {
	if p.Resolution <= 0 {
		return t, t.Add(p.Delay)
	}
	start = AlignPeriod(t, p.Resolution)
	return start, start.Add(p.Resolution + p.Delay)
}

// WithPublication sets how namespace's datapoints are published. A
// namespace without one is published as put, at once: the store's raw view.
func WithPublication(namespace string, p Publication) Option {
	return func(s *Store) {
		if s.pubs == nil {
			s.pubs = map[string]Publication{}
		}
		s.pubs[namespace] = p
	}
}

// WithCustomPublication sets the publication of every namespace that has
// none of its own (custom metrics).
func WithCustomPublication(p Publication) Option {
	return func(s *Store) { s.custom = &p }
}

// PublicationOf is how namespace's datapoints are published.
func (s *Store) PublicationOf(namespace string) Publication {
	if p, ok := s.pubs[namespace]; ok {
		return p
	}
	if s.custom != nil {
		return *s.custom
	}
	return Publication{}
}

// Window is what an alarm evaluated at now sees of q: n periods ending at
// end (the last one is [end-q.Period, end)), oldest first, each a datapoint
// or Missing. Only datapoints already published at now count; a metric
// published at a coarser resolution than q.Period gives one datapoint per
// publication interval, in the period holding the interval's start, as
// GetMetricData returns 5-minute EC2 data asked for at 60 s.
func (s *Store) Window(q Query, end time.Time, n int, now time.Time) []Point {
	points := make([]Point, n)
	start := end.Add(-time.Duration(n) * q.Period)
	for i := range points {
		points[i] = Point{Time: start.Add(time.Duration(i) * q.Period), Missing: true}
	}
	if q.Period <= 0 || n <= 0 || ValidateStatistic(q.Statistic) != nil {
		return points
	}
	pub := s.PublicationOf(q.Namespace)
	from := start
	if pub.Resolution > 0 {
		from = AlignPeriod(start, pub.Resolution)
	}
	buckets := make([][]float64, n)
	for _, x := range s.values(q, from, end) {
		t, visible := pub.interval(x.t)
		if visible.After(now) {
			continue
		}
		if pub.Resolution <= q.Period {
			t = x.t
		}
		if t.Before(start) || !t.Before(end) {
			continue
		}
		i := int(t.Sub(start) / q.Period)
		buckets[i] = append(buckets[i], x.v)
	}
	for i, vals := range buckets {
		if len(vals) == 0 {
			continue
		}
		v, _ := newStats(vals).Value(q.Statistic)
		points[i].Value, points[i].Missing = v, false
	}
	return points
}
