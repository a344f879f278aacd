package cloudwatch

import (
	"math"
	"sort"
	"sync"
	"time"
)

// DefaultRetention is how long raw samples are kept, in AWS time.
const DefaultRetention = 3 * time.Hour

// DefaultMaxSamples caps the raw samples kept per metric (a ring: the
// oldest go first), so a per-request latency metric cannot grow unbounded.
const DefaultMaxSamples = 500_000

// Datum is one raw sample, as PutMetricData sends it. Time is AWS time.
type Datum struct {
	Namespace  string
	MetricName string
	Dimensions Dimensions
	Time       time.Time
	Value      float64
}

// Query names one metric and how to aggregate it.
type Query struct {
	Namespace  string
	MetricName string
	Dimensions Dimensions
	Period     time.Duration
	Statistic  string
}

// Point is one period's datapoint: Time is the period's start. Missing
// marks a period in which no sample fell (no datapoint, which is not zero).
type Point struct {
	Time    time.Time `json:"time"`
	Value   float64   `json:"value"`
	Missing bool      `json:"missing,omitempty"`
}

// Store keeps raw samples per metric and aggregates them per period. It
// matches dimensions exactly: aggregating across instances is the
// publisher's job, as in CloudWatch. Safe for concurrent use.
type Store struct {
	retention  time.Duration
	maxSamples int

	pubs   map[string]Publication // per namespace; set by options only
	custom *Publication           // namespaces without their own

	mu        sync.RWMutex
	series    map[string]*series
	newest    time.Time // newest sample time seen in any series
	lastSweep time.Time
}

type sample struct {
	t time.Time
	v float64
}

type series struct {
	samples []sample // ascending by time
}

// Option configures a Store.
type Option func(*Store)

// WithRetention keeps raw samples for d of AWS time (default 3 h).
func WithRetention(d time.Duration) Option { return func(s *Store) { s.retention = d } }

// WithMaxSamples caps the raw samples kept per metric (default 500,000).
func WithMaxSamples(n int) Option { return func(s *Store) { s.maxSamples = n } }

// NewStore returns an empty store.
func NewStore(opts ...Option) *Store {
	s := &Store{retention: DefaultRetention, maxSamples: DefaultMaxSamples, series: map[string]*series{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Retention is how long raw samples are kept.
func (s *Store) Retention() time.Duration { return s.retention }

func seriesKey(namespace, metric string, d Dimensions) string {
	return namespace + "\x00" + metric + "\x00" + d.String()
}

// Put records one sample. NaN and infinite values are dropped, as
// CloudWatch rejects them.
func (s *Store) Put(d Datum) {
	if math.IsNaN(d.Value) || math.IsInf(d.Value, 0) {
		return
	}
	key := seriesKey(d.Namespace, d.MetricName, d.Dimensions)
	s.mu.Lock()
	defer s.mu.Unlock()
	sr := s.series[key]
	if sr == nil {
		sr = &series{}
		s.series[key] = sr
	}
	sr.insert(sample{d.Time, d.Value})
	sr.trim(d.Time.Add(-s.retention), s.maxSamples)
	if d.Time.After(s.newest) {
		s.newest = d.Time
	}
	if s.newest.Sub(s.lastSweep) >= s.retention/10 {
		s.sweep()
	}
}

// insert keeps samples sorted; samples nearly always arrive in order.
func (sr *series) insert(x sample) {
	i := len(sr.samples)
	for i > 0 && sr.samples[i-1].t.After(x.t) {
		i--
	}
	sr.samples = append(sr.samples, sample{})
	copy(sr.samples[i+1:], sr.samples[i:])
	sr.samples[i] = x
}

// trim drops samples older than cutoff and beyond the cap. Re-slicing from
// the front lets the next growing append release the old backing array.
func (sr *series) trim(cutoff time.Time, maxSamples int) {
	drop := sort.Search(len(sr.samples), func(i int) bool { return !sr.samples[i].t.Before(cutoff) })
	if maxSamples > 0 && len(sr.samples)-drop > maxSamples {
		drop = len(sr.samples) - maxSamples
	}
	if drop > 0 {
		sr.samples = sr.samples[drop:]
	}
}

// sweep prunes every series against the store's newest time, forgetting
// metrics that stopped (terminated instances). Called with mu held.
func (s *Store) sweep() {
	cutoff := s.newest.Add(-s.retention)
	for k, sr := range s.series {
		sr.trim(cutoff, s.maxSamples)
		if len(sr.samples) == 0 {
			delete(s.series, k)
		}
	}
	s.lastSweep = s.newest
}

// values copies the values of the samples in [from, to).
func (s *Store) values(q Query, from, to time.Time) []sample {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sr := s.series[seriesKey(q.Namespace, q.MetricName, q.Dimensions)]
	if sr == nil {
		return nil
	}
	lo := sort.Search(len(sr.samples), func(i int) bool { return !sr.samples[i].t.Before(from) })
	hi := sort.Search(len(sr.samples), func(i int) bool { return !sr.samples[i].t.Before(to) })
	if lo >= hi {
		return nil
	}
	return append([]sample(nil), sr.samples[lo:hi]...)
}

// Datapoint aggregates the samples in [start, start+q.Period). It returns
// false when no sample fell in the period: no datapoint, not zero.
func (s *Store) Datapoint(q Query, start time.Time) (Stats, bool) {
	got := s.values(q, start, start.Add(q.Period))
	if len(got) == 0 {
		return Stats{}, false
	}
	vals := make([]float64, len(got))
	for i, x := range got {
		vals[i] = x.v
	}
	return newStats(vals), true
}

// Series returns q's statistic for every period with data whose start lies
// in [from, to), periods aligned to multiples of q.Period since the Unix
// epoch as CloudWatch aligns them. Each period is aggregated whole. It
// returns nil for a non-positive period or an unknown statistic.
func (s *Store) Series(q Query, from, to time.Time) []Point {
	if q.Period <= 0 || ValidateStatistic(q.Statistic) != nil {
		return nil
	}
	first := AlignPeriod(from, q.Period)
	last := AlignPeriod(to, q.Period)
	if last.Before(to) {
		last = last.Add(q.Period)
	}
	got := s.values(q, first, last)
	var out []Point
	for i := 0; i < len(got); {
		start := AlignPeriod(got[i].t, q.Period)
		var vals []float64
		for ; i < len(got) && got[i].t.Before(start.Add(q.Period)); i++ {
			vals = append(vals, got[i].v)
		}
		v, _ := newStats(vals).Value(q.Statistic)
		out = append(out, Point{Time: start, Value: v})
	}
	return out
}

// AlignPeriod rounds t down to a multiple of period since the Unix epoch.
func AlignPeriod(t time.Time, period time.Duration) time.Time {
	if period <= 0 {
		return t
	}
	ns := t.UnixNano()
	r := ns % int64(period)
	if r < 0 {
		r += int64(period)
	}
	return time.Unix(0, ns-r).In(t.Location())
}
