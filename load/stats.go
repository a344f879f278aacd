package load

import (
	"slices"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Second is what happened to the requests sent in one wall second of the
// run: second Index covers [Start, Start+1s) since the attack began.
type Second struct {
	Index int
	Start time.Time
	// Offered is the number of hits the pacer scheduled in this second (not
	// rounded: a ramp offers fractions).
	Offered float64
	// Sent counts requests sent in this second; the others split them by
	// outcome (1xx and 3xx fall in none of them). Transport counts requests
	// that got no HTTP response at all: refused, reset, timed out.
	Sent, OK2xx, Err4xx, Err5xx, Transport int
	// Latency of this second's requests (exact nearest-rank quantiles).
	P50, P95, P99, Max time.Duration
	// MaxLag is the worst delay of a send behind its schedule.
	MaxLag time.Duration
	// Users is the most virtual users the ramp had live in this second
	// when the phases count users (the closed model: Offered is then what
	// they sent); zero in the open model.
	Users int
}

// window accumulates one open second.
type window struct {
	s         Second
	latencies []time.Duration
}

func (w *window) add(r *vegeta.Result, lag time.Duration) {
	w.s.Sent++
	switch c := r.Code; {
	case c == 0:
		w.s.Transport++
	case c >= 200 && c < 300:
		w.s.OK2xx++
	case c >= 400 && c < 500:
		w.s.Err4xx++
	case c >= 500:
		w.s.Err5xx++
	}
	w.latencies = append(w.latencies, r.Latency)
	w.s.MaxLag = max(w.s.MaxLag, lag)
}

// close computes the latency quantiles and returns the finished Second.
func (w *window) close() Second {
	slices.Sort(w.latencies)
	w.s.P50 = exactQuantile(w.latencies, 0.50)
	w.s.P95 = exactQuantile(w.latencies, 0.95)
	w.s.P99 = exactQuantile(w.latencies, 0.99)
	if n := len(w.latencies); n > 0 {
		w.s.Max = w.latencies[n-1]
	}
	return w.s
}

// aggregator turns vegeta results, which arrive in completion order, into
// per-second statistics, delivered in order, and run totals.
//
// A result belongs to the second in which it was sent (its Timestamp). A
// second can close only once every request sent in it has its result.
// vegeta numbers requests in send order (Seq and Timestamp are assigned
// together under one lock), so once all results up to some Seq have arrived
// and that Seq was sent at or after the end of second k, nothing more can
// come for second k. A second therefore closes at most one request timeout
// after it ends.
type aggregator struct {
	start time.Time
	pacer RampPacer
	emit  func(Second)
	// closed: the phases count users; a second's Offered is what they
	// sent and its Users the ramp's count.
	closed bool

	open []*window // seconds base, base+1, ...
	base int
	free []*window

	next     uint64                   // lowest Seq not yet received
	ahead    map[uint64]time.Duration // received Seqs above next: their send time
	frontier time.Duration            // send time of Seq next-1

	seconds []Second
	// keep: keep each second's latencies in raw, for a Raw (raw.go).
	keep    bool
	raw     []RawSecond
	latency Histogram
	lag     Histogram
}

func newAggregator(start time.Time, pacer RampPacer, emit func(Second)) *aggregator {
	return &aggregator{start: start, pacer: pacer, emit: emit, ahead: make(map[uint64]time.Duration)}
}

// lagOf is how late the result's request was sent behind its schedule.
func (a *aggregator) lagOf(r *vegeta.Result) time.Duration {
	return max(r.Timestamp.Sub(a.start)-a.pacer.Due(r.Seq), 0)
}

// add takes one result of the open model and delivers every second it
// completes.
func (a *aggregator) add(r *vegeta.Result) { a.addLag(r, a.lagOf(r)) }

// addLag takes one result, sent lag behind its schedule.
func (a *aggregator) addLag(r *vegeta.Result, lag time.Duration) {
	sent := max(r.Timestamp.Sub(a.start), 0)
	a.window(int(sent/time.Second)).add(r, lag)

	a.latency.add(r.Latency)
	a.lag.add(lag)

	if r.Seq != a.next {
		a.ahead[r.Seq] = sent
		return
	}
	a.frontier = sent
	a.next++
	for {
		s, ok := a.ahead[a.next]
		if !ok {
			break
		}
		delete(a.ahead, a.next)
		a.frontier = s
		a.next++
	}
	for time.Duration(a.base+1)*time.Second <= a.frontier {
		a.closeFirst()
	}
}

// window returns the open window of second i, opening it (and any seconds
// between) if needed. A result for a second already closed, which the
// ordering above rules out, is counted in the oldest open second.
func (a *aggregator) window(i int) *window {
	i = max(i, a.base)
	for a.base+len(a.open) <= i {
		a.open = append(a.open, a.newWindow(a.base+len(a.open)))
	}
	return a.open[i-a.base]
}

func (a *aggregator) newWindow(i int) *window {
	var w *window
	if n := len(a.free); n > 0 {
		w, a.free = a.free[n-1], a.free[:n-1]
	} else {
		w = new(window)
	}
	from, to := time.Duration(i)*time.Second, time.Duration(i+1)*time.Second
	w.s = Second{
		Index:   i,
		Start:   a.start.Add(from),
		Offered: a.pacer.Hits(to) - a.pacer.Hits(from),
	}
	if a.closed {
		w.s.Offered = 0 // counted as sent (window.close)
		w.s.Users = max(liveAt(a.pacer, from), liveAt(a.pacer, to-1))
	}
	w.latencies = w.latencies[:0]
	return w
}

// closeFirst closes the oldest open second and delivers it.
func (a *aggregator) closeFirst() {
	w := a.window(a.base)
	s := w.close()
	if a.closed {
		s.Offered = float64(s.Sent)
	}
	a.open = a.open[1:]
	a.base++
	a.free = append(a.free, w)
	a.seconds = append(a.seconds, s)
	if a.keep {
		a.raw = append(a.raw, rawSecond(s, w.latencies))
	}
	if a.emit != nil {
		a.emit(s)
	}
}

// finish closes every second before through (exclusive) and every second
// that holds results, then returns the run totals, without validity.
func (a *aggregator) finish(through int) Result {
	for a.base < through || len(a.open) > 0 {
		a.closeFirst()
	}
	r := Result{Seconds: a.seconds}
	r.totals(&a.latency, &a.lag)
	return r
}

// totals adds up r's seconds into its counts and takes the run's quantiles
// from its latency and lag histograms: one generator's (finish) or the
// merged ones of several (Raw.Result).
func (r *Result) totals(latency, lag *Histogram) {
	for _, s := range r.Seconds {
		r.Requests += s.Sent
		r.OK2xx += s.OK2xx
		r.Err4xx += s.Err4xx
		r.Err5xx += s.Err5xx
		r.Transport += s.Transport
	}
	r.P50 = latency.quantile(0.50)
	r.P95 = latency.quantile(0.95)
	r.P99 = latency.quantile(0.99)
	r.Max = latency.Max
	r.MaxLag = lag.Max
	r.LagP99 = lag.quantile(0.99)
}
