package load

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Raw is a run's results before they are summarised: what several load
// generators, each sending a share of one run's load from its own host,
// send back to be merged (Merge) into the one Result a single generator
// would have reported for the union of their requests. Nothing in it is a
// percentile: the run's latencies are a Histogram (merged by adding
// counts), each second's are the sorted latencies themselves (merged by
// merging the lists), and everything else is a count, a sum or a maximum.
// It crosses the wire as JSON.
//
// Generators merge only when they started at the same wall instant
// (Config.StartAt): second Index of every part is then the same wall
// second. Their clocks are assumed synchronised (NTP); a skew between
// hosts moves a part's seconds by that much and is not detected.
type Raw struct {
	// Start is the wall instant second 0 began.
	Start time.Time `json:"start"`
	// Span is how long the schedule ran (shorter than the profile if the
	// run was stopped early).
	Span time.Duration `json:"span"`
	// Offered is the hits scheduled over Span (in the closed model, what
	// the users sent); Users the most virtual users live at once (closed
	// model only); Closed says the phases counted users.
	Offered float64 `json:"offered"`
	Users   int     `json:"users,omitempty"`
	Closed  bool    `json:"closed,omitempty"`
	// MaxLag is the send lag allowed at the 99th percentile (Config.MaxLag).
	MaxLag  time.Duration `json:"max_lag"`
	Seconds []RawSecond   `json:"seconds"`
	Latency Histogram     `json:"latency"`
	Lag     Histogram     `json:"lag"`
	// Created, Unreadable, Misacknowledged, Sessions and Reads are
	// Result's.
	Created         []Write      `json:"created,omitempty"`
	Unreadable      int          `json:"unreadable,omitempty"`
	Misacknowledged int          `json:"misacknowledged,omitempty"`
	Sessions        SessionCheck `json:"sessions"`
	Reads           ReadCheck    `json:"reads"`
}

// RawSecond is one second of a Raw: Second's counts, and its latencies
// sorted, so that merged seconds keep exact quantiles.
type RawSecond struct {
	Index                                  int     `json:"i"`
	Offered                                float64 `json:"offered"`
	Sent, OK2xx, Err4xx, Err5xx, Transport int
	MaxLag                                 time.Duration   `json:"max_lag"`
	Users                                  int             `json:"users,omitempty"`
	Latencies                              []time.Duration `json:"latencies"`
}

// rawSecond keeps a closed second and a copy of its sorted latencies (the
// window's slice is reused).
func rawSecond(s Second, sorted []time.Duration) RawSecond {
	return RawSecond{
		Index: s.Index, Offered: s.Offered,
		Sent: s.Sent, OK2xx: s.OK2xx, Err4xx: s.Err4xx, Err5xx: s.Err5xx, Transport: s.Transport,
		MaxLag: s.MaxLag, Users: s.Users,
		Latencies: slices.Clone(sorted),
	}
}

// second is the Second this raw second summarises, starting at start.
func (r RawSecond) second(start time.Time) Second {
	s := Second{
		Index: r.Index, Start: start.Add(time.Duration(r.Index) * time.Second), Offered: r.Offered,
		Sent: r.Sent, OK2xx: r.OK2xx, Err4xx: r.Err4xx, Err5xx: r.Err5xx, Transport: r.Transport,
		MaxLag: r.MaxLag, Users: r.Users,
	}
	s.P50 = exactQuantile(r.Latencies, 0.50)
	s.P95 = exactQuantile(r.Latencies, 0.95)
	s.P99 = exactQuantile(r.Latencies, 0.99)
	if n := len(r.Latencies); n > 0 {
		s.Max = r.Latencies[n-1]
	}
	return s
}

// Requests is how many requests the raw results hold.
func (r *Raw) Requests() int { return int(r.Latency.N) }

// Result summarises r as Run does: totals over the seconds, run quantiles
// from the histograms, rates over the span, and validity against MaxLag.
func (r *Raw) Result() *Result {
	res := &Result{}
	for _, rs := range r.Seconds {
		res.Seconds = append(res.Seconds, rs.second(r.Start))
	}
	res.totals(&r.Latency, &r.Lag)
	res.Created = slices.Clone(r.Created)
	res.Unreadable, res.Misacknowledged = r.Unreadable, r.Misacknowledged
	res.Sessions, res.Reads = r.Sessions, r.Reads
	res.Offered, res.Users = r.Offered, r.Users
	if s := r.Span.Seconds(); s > 0 {
		res.OfferedRate = res.Offered / s
		res.AchievedRate = float64(res.Requests) / s
	}
	judge(res, r.MaxLag)
	return res
}

// Merge returns the raw results of the union of parts' requests: seconds
// merged by index (counts and offered hits added, latency lists merged,
// the worst lag kept), histograms merged bucket by bucket, acknowledged
// writes joined (one acknowledged twice counts as misacknowledged, as
// within one run), checks added. Every part must have the same start, the
// same model and the same allowed lag.
func Merge(parts ...*Raw) (*Raw, error) {
	if len(parts) == 0 {
		return nil, errors.New("merge load results: no parts")
	}
	first := parts[0]
	m := &Raw{Start: first.Start, Closed: first.Closed, MaxLag: first.MaxLag}
	seen := map[Write]bool{}
	var errs []error
	for i, p := range parts {
		switch {
		case !p.Start.Equal(first.Start):
			errs = append(errs, fmt.Errorf("part %d started at %s, part 1 at %s: generators must share one start", i+1, p.Start.Format(time.RFC3339Nano), first.Start.Format(time.RFC3339Nano)))
		case p.Closed != first.Closed:
			errs = append(errs, fmt.Errorf("part %d: one part counts users and another rates", i+1))
		case p.MaxLag != first.MaxLag:
			errs = append(errs, fmt.Errorf("part %d allows %s of lag, part 1 %s", i+1, p.MaxLag, first.MaxLag))
		}
		m.Span = max(m.Span, p.Span)
		m.Offered += p.Offered
		m.Users += p.Users
		m.Latency.Merge(p.Latency)
		m.Lag.Merge(p.Lag)
		for _, w := range p.Created {
			if seen[w] {
				m.Misacknowledged++
				continue
			}
			seen[w] = true
			m.Created = append(m.Created, w)
		}
		m.Unreadable += p.Unreadable
		m.Misacknowledged += p.Misacknowledged
		m.Sessions.Adds += p.Sessions.Adds
		m.Sessions.Reads += p.Sessions.Reads
		m.Sessions.Lost += p.Sessions.Lost
		m.Sessions.LostUsers += p.Sessions.LostUsers
		m.Reads.Reads += p.Reads.Reads
		m.Reads.Stale += p.Reads.Stale
		m.Seconds = mergeSeconds(m.Seconds, p.Seconds)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("merge load results: %w", err)
	}
	return m, nil
}

// mergeSeconds merges b into a by second index; both are in index order.
func mergeSeconds(a, b []RawSecond) []RawSecond {
	out := make([]RawSecond, 0, max(len(a), len(b)))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i].Index < b[j].Index):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j].Index < a[i].Index:
			out = append(out, cloneSecond(b[j]))
			j++
		default:
			s, o := a[i], b[j]
			s.Offered += o.Offered
			s.Sent += o.Sent
			s.OK2xx += o.OK2xx
			s.Err4xx += o.Err4xx
			s.Err5xx += o.Err5xx
			s.Transport += o.Transport
			s.MaxLag = max(s.MaxLag, o.MaxLag)
			s.Users += o.Users
			s.Latencies = mergeSorted(s.Latencies, o.Latencies)
			out = append(out, s)
			i++
			j++
		}
	}
	return out
}

func cloneSecond(s RawSecond) RawSecond {
	s.Latencies = slices.Clone(s.Latencies)
	return s
}

// mergeSorted merges two sorted lists into a new one.
func mergeSorted(a, b []time.Duration) []time.Duration {
	out := make([]time.Duration, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if b[0] < a[0] {
			out, b = append(out, b[0]), b[1:]
		} else {
			out, a = append(out, a[0]), a[1:]
		}
	}
	return append(append(out, a...), b...)
}
