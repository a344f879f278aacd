package promexport

import (
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/simplydone/lab/sim/alb"
)

// gatherer is what the endpoint gathers from at each scrape: the
// Collector's metric families, without a registry's work per sample. A
// registry's Gather makes every sample a Metric, sends it over a channel,
// writes it into a new protobuf, hashes and checks it against its
// descriptor and sorts each one's label pairs (about a thousand allocations
// for one node and two targets, issue 17). The gatherer keeps its
// families, their samples and their label pairs from one scrape to the
// next and only sets the values and label values: a scrape holds its mutex
// from Gather until promhttp has encoded the families and calls done
// (prometheus.TransactionalGatherer). The families are sorted as a
// registry sorts them (by name; a family's samples by their label values,
// label names in order), so that promhttp writes the same bytes as from
// the registry (TestGathererMatchesTheRegistry).
//
// The extra collectors (the data tier's) are gathered through a registry
// of their own, as before, and merged in by name. What the gatherer does
// not handle itself it leaves to ref, the registry of the Collector and the
// extra collectors, which was the endpoint's: a label value that is not
// valid UTF-8, two samples with the same labels, an extra family named as
// one of the Collector's.
type gatherer struct {
	src   Source
	ref   prometheus.Gatherer // the Collector and the extra collectors
	extra prometheus.Gatherer // the extra collectors alone; nil: none

	mu             sync.Mutex   // held from Gather to done: the families are reused (see Gather)
	byName         []*metricFam // every family, sorted by name
	counters       []*metricFam // nodeCounters' families, in their order
	trt, active    *metricFam
	healthy        *metricFam
	unhealthy      *metricFam
	groupCounters  []*metricFam // groupCounters' families, in their order
	groupHealthy   *metricFam
	groupUnhealthy *metricFam
	out            []*dto.MetricFamily
	bad            bool // a label value is not valid UTF-8 this scrape
}

// maxLabels is the most labels a family of the gatherer has (hostLabels).
const maxLabels = 4

// metricFam is one metric family, with its samples of the scrape under way
// (the first n) and those of earlier scrapes kept for reuse.
type metricFam struct {
	mf      dto.MetricFamily
	name    string
	help    string
	typ     dto.MetricType
	labels  []string // label names, sorted (as a registry sorts a sample's label pairs)
	perm    []int    // perm[i] is where the i-th label name as declared is in labels
	samples []*sample
	n       int
	metrics []*dto.Metric
}

// sample is one sample of a family; its protobuf's pointers point into it.
type sample struct {
	m       dto.Metric
	pairs   [maxLabels]dto.LabelPair
	ptrs    [maxLabels]*dto.LabelPair
	values  [maxLabels]string // label values, in the family's label order
	value   float64           // a counter's or gauge's value; a summary's sum
	count   uint64            // a summary's count
	counter dto.Counter
	gauge   dto.Gauge
	summary dto.Summary
}

func newGatherer(src Source, ref, extra prometheus.Gatherer) *gatherer {
	g := &gatherer{src: src, ref: ref, extra: extra}
	add := func(f family, typ dto.MetricType, labels []string) *metricFam {
		m := newMetricFam(f, typ, labels)
		g.byName = append(g.byName, m)
		return m
	}
	for _, k := range nodeCounters {
		g.counters = append(g.counters, add(k.family, dto.MetricType_COUNTER, requestLabels))
	}
	g.trt = add(trtFamily, dto.MetricType_SUMMARY, requestLabels)
	g.active = add(activeFamily, dto.MetricType_GAUGE, requestLabels)
	g.healthy = add(healthyFamily, dto.MetricType_GAUGE, hostLabels)
	g.unhealthy = add(unhealthyFamily, dto.MetricType_GAUGE, hostLabels)
	for _, k := range groupCounters {
		g.groupCounters = append(g.groupCounters, add(k.family, dto.MetricType_COUNTER, groupLabels))
	}
	g.groupHealthy = add(groupHealthyFamily, dto.MetricType_GAUGE, groupLabels[:2])
	g.groupUnhealthy = add(groupUnhealthyFamily, dto.MetricType_GAUGE, groupLabels[:2])
	slices.SortFunc(g.byName, func(a, b *metricFam) int { return strings.Compare(a.name, b.name) })
	return g
}

func newMetricFam(f family, typ dto.MetricType, labels []string) *metricFam {
	m := &metricFam{name: f.name, help: f.help, typ: typ, labels: slices.Clone(labels), perm: make([]int, len(labels))}
	slices.Sort(m.labels)
	for i, l := range labels {
		m.perm[i] = slices.Index(m.labels, l)
	}
	m.mf.Name, m.mf.Help, m.mf.Type = &m.name, &m.help, &m.typ
	return m
}

// next is the family's next sample of this scrape, its label values set
// (in the order the family declares its labels).
func (f *metricFam) next(labelValues ...string) *sample {
	if f.n == len(f.samples) {
		s := &sample{}
		for i := range f.labels {
			s.pairs[i].Name, s.pairs[i].Value = &f.labels[i], &s.values[i]
			s.ptrs[i] = &s.pairs[i]
		}
		s.m.Label = s.ptrs[:len(f.labels)]
		switch f.typ {
		case dto.MetricType_COUNTER:
			s.counter.Value, s.m.Counter = &s.value, &s.counter
		case dto.MetricType_GAUGE:
			s.gauge.Value, s.m.Gauge = &s.value, &s.gauge
		case dto.MetricType_SUMMARY:
			s.summary.SampleCount, s.summary.SampleSum, s.m.Summary = &s.count, &s.value, &s.summary
		}
		f.samples = append(f.samples, s)
	}
	s := f.samples[f.n]
	f.n++
	for i, v := range labelValues {
		s.values[f.perm[i]] = v
	}
	return s
}

// Gather implements prometheus.TransactionalGatherer. The families stay
// locked until done: promhttp encodes them into http.TimeoutHandler's
// buffer (HandlerOpts.Timeout), so no scrape waits on another's client.
func (g *gatherer) Gather() ([]*dto.MetricFamily, func(), error) {
	g.mu.Lock()
	if !g.collect() {
		g.mu.Unlock()
		return g.refGather()
	}
	if g.extra == nil {
		return g.out, g.mu.Unlock, nil
	}
	more, err := g.extra.Gather()
	if len(more) == 0 {
		return g.out, g.mu.Unlock, err
	}
	merged := make([]*dto.MetricFamily, 0, len(g.out)+len(more))
	i, j := 0, 0
	for i < len(g.out) || j < len(more) {
		switch {
		case j == len(more) || i < len(g.out) && g.out[i].GetName() < more[j].GetName():
			merged = append(merged, g.out[i])
			i++
		case i == len(g.out) || more[j].GetName() < g.out[i].GetName():
			merged = append(merged, more[j])
			j++
		default: // one name in both: the registry merges them
			g.mu.Unlock()
			return g.refGather()
		}
	}
	return merged, g.mu.Unlock, err
}

func (g *gatherer) refGather() ([]*dto.MetricFamily, func(), error) {
	mfs, err := g.ref.Gather()
	return mfs, func() {}, err
}

// collect reads the load balancer into the families, as Collector.Collect
// does, and sorts them into g.out; false when the scrape is the
// registry's (see gatherer).
func (g *gatherer) collect() bool {
	for _, f := range g.byName {
		f.n = 0
	}
	g.bad = false
	src := g.src
	lb, tg := g.check(src.Dimension()), g.check(src.TargetGroupDimension())
	groups := src.TargetGroupNames()
	if len(groups) > 1 {
		tg = "" // as Collect: the node-wide families count every group
	}
	var all []alb.TargetGroupCounts
	if a, ok := src.(allGroupCounter); ok {
		all = a.AllTargetGroupCounts()
	}
	for i, name := range groups {
		g.check(name)
		var h alb.TargetGroupCounts
		if i < len(all) && all[i].Name == name {
			h = all[i]
		} else {
			h = src.TargetGroupCounts(name)
		}
		g.groupHealthy.next(lb, name).value = float64(h.Healthy)
		g.groupUnhealthy.next(lb, name).value = float64(h.Unhealthy)
	}
	for _, n := range src.Nodes() {
		zone := g.check(n.Zone())
		for _, name := range groups {
			gc := n.GroupCounts(name)
			for i, k := range groupCounters {
				g.groupCounters[i].next(lb, name, zone).value = float64(k.get(gc))
			}
		}
		s := n.Metrics()
		for i, k := range nodeCounters {
			g.counters[i].next(lb, tg, zone).value = float64(k.get(s))
		}
		trt := g.trt.next(lb, tg, zone)
		trt.count, trt.value = uint64(s.TargetResponses), s.TargetResponseTimeTotal.Seconds()
		g.active.next(lb, tg, zone).value = float64(s.ActiveConnectionCount)
		// the targets' zones this node counts, and its own
		for z := range s.HealthyHostCount {
			g.hosts(&s, lb, tg, z, zone)
		}
		for z := range s.UnHealthyHostCount {
			if _, ok := s.HealthyHostCount[z]; !ok {
				g.hosts(&s, lb, tg, z, zone)
			}
		}
		_, h := s.HealthyHostCount[zone]
		_, u := s.UnHealthyHostCount[zone]
		if !h && !u {
			g.hosts(&s, lb, tg, zone, zone)
		}
	}
	if g.bad {
		return false
	}
	g.out = g.out[:0]
	for _, f := range g.byName {
		if f.n == 0 {
			continue
		}
		if !f.sort() {
			return false
		}
		g.out = append(g.out, &f.mf)
	}
	return true
}

// allGroupCounter is a Source that reads every target group's counts in
// one pass (*alb.LoadBalancer: one lock of each node per scrape rather
// than one per target).
type allGroupCounter interface {
	AllTargetGroupCounts() []alb.TargetGroupCounts // in TargetGroupNames' order
}

// hosts adds a node's healthy and unhealthy counts of zone z's targets.
func (g *gatherer) hosts(s *alb.Snapshot, lb, tg, z, node string) {
	g.check(z)
	g.healthy.next(lb, tg, z, node).value = float64(s.HealthyHostCount[z])
	g.unhealthy.next(lb, tg, z, node).value = float64(s.UnHealthyHostCount[z])
}

// check notes a label value that is not valid UTF-8 (the registry refuses
// it) and returns it.
func (g *gatherer) check(v string) string {
	if !utf8.ValidString(v) {
		g.bad = true
	}
	return v
}

// sort orders the family's samples by their label values and points its
// protobuf at them; false when two have the same labels.
func (f *metricFam) sort() bool {
	k := len(f.labels)
	used := f.samples[:f.n]
	slices.SortFunc(used, func(a, b *sample) int {
		for i := 0; i < k; i++ {
			if c := strings.Compare(a.values[i], b.values[i]); c != 0 {
				return c
			}
		}
		return 0
	})
	f.metrics = f.metrics[:0]
	for i, s := range used {
		if i > 0 && s.values == used[i-1].values {
			return false
		}
		f.metrics = append(f.metrics, &s.m)
	}
	f.mf.Metric = f.metrics
	return true
}
