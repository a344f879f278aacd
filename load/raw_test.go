package load

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// sample is one request as a generator saw it.
type sample struct {
	sent, latency, lag time.Duration
	code               uint16
}

func samples(n int, span time.Duration, seed uint64) []sample {
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([]sample, n)
	for i := range out {
		lat := time.Duration(rng.ExpFloat64() * 8e6)
		if rng.IntN(100) < 2 { // a slow tail, so p99 is not p50's neighbour
			lat = 900*ms + time.Duration(rng.Int64N(3e8))
		}
		codes := []uint16{200, 200, 200, 201, 404, 503, 0}
		out[i] = sample{
			sent:    span * time.Duration(i) / time.Duration(n),
			latency: lat,
			lag:     time.Duration(rng.ExpFloat64() * 2e6),
			code:    codes[rng.IntN(len(codes))],
		}
	}
	return out
}

// feed runs samples through an aggregator keeping raw seconds, as Run does,
// in send order with each generator's own sequence numbers, and returns its
// Raw and its summarised Result (the path Run takes to a Result).
func feed(start time.Time, pacer RampPacer, ss []sample, span time.Duration) (*Raw, Result) {
	agg := newAggregator(start, pacer, nil)
	agg.keep = true
	for i, s := range ss {
		agg.addLag(&vegeta.Result{Seq: uint64(i), Timestamp: start.Add(s.sent), Latency: s.latency, Code: s.code}, s.lag)
	}
	res := agg.finish(int((span + time.Second - 1) / time.Second))
	res.Offered = pacer.Hits(span)
	res.OfferedRate, res.AchievedRate = res.Offered/span.Seconds(), float64(res.Requests)/span.Seconds()
	judge(&res, DefaultMaxLag)
	raw := &Raw{Start: start, Span: span, Offered: res.Offered, MaxLag: DefaultMaxLag,
		Seconds: agg.raw, Latency: agg.latency, Lag: agg.lag}
	return raw, res
}

// TestMergeEqualsOneGenerator splits one run's requests across three
// generators (unevenly, at random), sends each part's raw results through
// JSON, merges them, and checks the merged Result is the one a single
// generator reported for all of them: every count, every second, and the
// quantiles identical, not averaged.
func TestMergeEqualsOneGenerator(t *testing.T) {
	start := time.Date(2026, 12, 6, 15, 0, 0, 0, time.UTC)
	span := 10 * time.Second
	phases := []Phase{{Name: "ramp", Duration: span, From: 100, To: 500}}
	all := samples(3000, span, 1)
	_, want := feed(start, RampPacer{Phases: phases}, all, span)

	weights := []float64{1, 2, 3}
	shares, err := Split(phases, weights)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	parts := make([][]sample, len(weights))
	for _, s := range all {
		g := rng.IntN(len(weights))
		parts[g] = append(parts[g], s)
	}
	var raws []*Raw
	var averaged time.Duration
	for g := range parts {
		raw, res := feed(start, RampPacer{Phases: shares[g]}, parts[g], span)
		averaged += res.P99 / time.Duration(len(parts))
		b, err := json.Marshal(raw)
		if err != nil {
			t.Fatal(err)
		}
		var back Raw
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		raws = append(raws, &back)
	}
	merged, err := Merge(raws...)
	if err != nil {
		t.Fatal(err)
	}
	got := merged.Result()

	if got.Requests != len(all) || want.Requests != len(all) {
		t.Fatalf("requests: merged %d, one generator %d, sent %d", got.Requests, want.Requests, len(all))
	}
	if math.Abs(got.Offered-want.Offered) > 1e-6 || math.Abs(got.OfferedRate-want.OfferedRate) > 1e-6 {
		t.Errorf("offered: merged %f (%f/s), one generator %f (%f/s)", got.Offered, got.OfferedRate, want.Offered, want.OfferedRate)
	}
	if len(got.Seconds) != len(want.Seconds) {
		t.Fatalf("merged %d seconds, one generator %d", len(got.Seconds), len(want.Seconds))
	}
	for i := range want.Seconds {
		g, w := got.Seconds[i], want.Seconds[i]
		if math.Abs(g.Offered-w.Offered) > 1e-6 {
			t.Errorf("second %d offered %f, one generator %f", i, g.Offered, w.Offered)
		}
		g.Offered = w.Offered
		if !g.Start.Equal(w.Start) {
			t.Errorf("second %d starts %s, one generator %s", i, g.Start, w.Start)
		}
		g.Start = w.Start
		if g != w {
			t.Errorf("second %d:\nmerged        %+v\none generator %+v", i, g, w)
		}
	}
	got.Seconds, want.Seconds = nil, nil
	got.Offered, got.OfferedRate = want.Offered, want.OfferedRate
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("merged result differs from one generator's:\nmerged        %+v\none generator %+v", *got, want)
	}
	t.Logf("p50 %s p95 %s p99 %s max %s (the parts' p99s averaged: %s); lag p99 %s",
		got.P50, got.P95, got.P99, got.Max, averaged, got.LagP99)
	if averaged == got.P99 {
		t.Errorf("the parts' averaged p99 happens to equal the union's; the test cannot tell merging from averaging")
	}
}

// TestMergeWrites checks acknowledged writes join, a write acknowledged by
// two parts counts as misacknowledged (as a repeat within one run does),
// and the checks add up.
func TestMergeWrites(t *testing.T) {
	start := time.Now()
	a := &Raw{Start: start, Created: []Write{{1, "lab load 1-1"}, {2, "lab load 1-2"}}, Unreadable: 1,
		Sessions: SessionCheck{Adds: 3, Reads: 5, Lost: 1, LostUsers: 1}, Reads: ReadCheck{Reads: 4, Stale: 1}}
	b := &Raw{Start: start, Created: []Write{{1, "lab load 9-1"}, {2, "lab load 1-2"}}, Misacknowledged: 2,
		Sessions: SessionCheck{Adds: 1, Reads: 2, Lost: 2, LostUsers: 1}, Reads: ReadCheck{Reads: 6}}
	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	r := m.Result()
	if want := []Write{{1, "lab load 1-1"}, {2, "lab load 1-2"}, {1, "lab load 9-1"}}; !reflect.DeepEqual(r.Created, want) {
		t.Errorf("created %v, want %v", r.Created, want)
	}
	if r.Unreadable != 1 || r.Misacknowledged != 3 {
		t.Errorf("unreadable %d misacknowledged %d, want 1 and 3", r.Unreadable, r.Misacknowledged)
	}
	if want := (SessionCheck{Adds: 4, Reads: 7, Lost: 3, LostUsers: 2}); r.Sessions != want {
		t.Errorf("sessions %+v, want %+v", r.Sessions, want)
	}
	if want := (ReadCheck{Reads: 10, Stale: 1}); r.Reads != want {
		t.Errorf("reads %+v, want %+v", r.Reads, want)
	}
}

func TestMergeRefusesPartsOfDifferentRuns(t *testing.T) {
	start := time.Now()
	if _, err := Merge(&Raw{Start: start}, &Raw{Start: start.Add(time.Second)}); err == nil {
		t.Error("parts with two starts merged")
	}
	if _, err := Merge(&Raw{Start: start}, &Raw{Start: start, Closed: true}); err == nil {
		t.Error("an open and a closed part merged")
	}
	if _, err := Merge(); err == nil {
		t.Error("nothing merged without an error")
	}
}

func TestSplit(t *testing.T) {
	open := []Phase{{Duration: time.Second, From: 10, To: 30}, {Duration: time.Second, From: 30, To: 30}}
	shares, err := Split(open, []float64{1, 1, 2})
	if err != nil {
		t.Fatal(err)
	}
	for k := range open {
		var from, to float64
		for _, s := range shares {
			from, to = from+s[k].From, to+s[k].To
		}
		if math.Abs(from-open[k].From) > 1e-9 || math.Abs(to-open[k].To) > 1e-9 {
			t.Errorf("phase %d: shares add to %g..%g, want %g..%g", k, from, to, open[k].From, open[k].To)
		}
	}
	if shares[2][0].From != 5 || shares[0][0].To != 7.5 {
		t.Errorf("shares %+v", shares)
	}

	closed := []Phase{{Duration: time.Second, From: 0, To: 5, Users: true}, {Duration: time.Second, From: 5, To: 1, Users: true}}
	shares, err = Split(closed, []float64{1, 1})
	if err != nil {
		t.Fatal(err)
	}
	for k, p := range closed {
		a, b := shares[0][k], shares[1][k]
		if a.From+b.From != p.From || a.To+b.To != p.To {
			t.Errorf("phase %d: users %g+%g..%g+%g, want %g..%g", k, a.From, b.From, a.To, b.To, p.From, p.To)
		}
		for _, v := range []float64{a.From, a.To, b.From, b.To} {
			if v != math.Trunc(v) {
				t.Errorf("phase %d: a share of %g users", k, v)
			}
		}
	}
	if _, err := Split(open, []float64{0, 0}); err == nil {
		t.Error("all-zero weights split")
	}
	if ShareSeed(7, 0) != 7 || ShareSeed(7, 1) == 7 || ShareSeed(7, 1) == ShareSeed(7, 2) {
		t.Error("share seeds: the first must be the run's, the others distinct")
	}
}

// TestRunRawStartsAtTheGivenInstant runs two real generators with one
// start instant against a real server, merges them, and checks the merged
// counts are the sum and the seconds line up; a start already past is
// refused.
func TestRunRawStartsAtTheGivenInstant(t *testing.T) {
	nodes := simplyDone(t, 1)
	phases := []Phase{{Name: "steady", Duration: 2 * time.Second, From: 100, To: 100}}
	shares, err := Split(phases, []float64{1, 1})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(300 * ms)
	type out struct {
		raw *Raw
		err error
	}
	done := make(chan out, 2)
	for i, sh := range shares {
		go func() {
			_, raw, err := RunRaw(context.Background(), Config{Targets: []string{nodes[0].URL}, Phases: sh, Seed: ShareSeed(5, i), StartAt: at})
			done <- out{raw, err}
		}()
	}
	var raws []*Raw
	sum := 0
	for range shares {
		o := <-done
		if o.err != nil {
			t.Fatalf("RunRaw: %v", o.err)
		}
		if !o.raw.Start.Equal(at) {
			t.Errorf("a share started at %s, not %s", o.raw.Start, at)
		}
		sum += o.raw.Requests()
		raws = append(raws, o.raw)
	}
	m, err := Merge(raws...)
	if err != nil {
		t.Fatal(err)
	}
	r := m.Result()
	t.Logf("merged: %d requests (%d + %d), offered %.1f, %d created, p99 %s, invalid %v",
		r.Requests, raws[0].Requests(), raws[1].Requests(), r.Offered, len(r.Created), r.P99, r.Invalid)
	if r.Requests != sum || r.Offered < 199 || r.Offered > 201 || r.Requests < 190 {
		t.Errorf("merged %d requests of %g offered, the shares sent %d", r.Requests, r.Offered, sum)
	}
	if lost, err := VerifyWrites(context.Background(), nodes[0].URL, r.Created); err != nil || lost != 0 {
		t.Errorf("VerifyWrites: %d lost, %v", lost, err)
	}

	_, _, err = RunRaw(context.Background(), Config{Targets: []string{nodes[0].URL}, Phases: phases, StartAt: time.Now().Add(-time.Second)})
	if !errors.Is(err, ErrStartPassed) {
		t.Errorf("a start a second ago: %v, want ErrStartPassed", err)
	}
}

// TestMergeClosedModel: with users phases, each second's offered is what
// was sent and its users the ramp's; split by Split (whole users) and
// merged, they are one generator's again, as are the run's users.
func TestMergeClosedModel(t *testing.T) {
	start := time.Date(2026, 12, 6, 15, 0, 0, 0, time.UTC)
	span := 5 * time.Second
	phases := []Phase{{Name: "steady", Duration: span, From: 6, To: 6, Users: true, ThinkTime: time.Second}}
	closedFeed := func(ps []Phase, ss []sample) (*Raw, Result) {
		agg := newAggregator(start, RampPacer{Phases: ps}, nil)
		agg.keep, agg.closed = true, true
		for i, s := range ss {
			agg.addLag(&vegeta.Result{Seq: uint64(i), Timestamp: start.Add(s.sent), Latency: s.latency, Code: s.code}, s.lag)
		}
		res := agg.finish(int(span / time.Second))
		res.Offered, res.Users = float64(res.Requests), peakUsers(ps)
		res.OfferedRate, res.AchievedRate = res.Offered/span.Seconds(), float64(res.Requests)/span.Seconds()
		judge(&res, DefaultMaxLag)
		return &Raw{Start: start, Span: span, Offered: res.Offered, Users: res.Users, Closed: true, MaxLag: DefaultMaxLag,
			Seconds: agg.raw, Latency: agg.latency, Lag: agg.lag}, res
	}
	all := samples(600, span, 9)
	_, want := closedFeed(phases, all)
	shares, err := Split(phases, []float64{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	var parts [2][]sample
	for i, s := range all {
		parts[i%3/2] = append(parts[i%3/2], s) // a third and two thirds
	}
	a, _ := closedFeed(shares[0], parts[0])
	b, _ := closedFeed(shares[1], parts[1])
	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	got := m.Result()
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("merged closed-model result differs:\nmerged        %+v\none generator %+v", *got, want)
	}
	if got.Users != 6 || got.Seconds[0].Users != 6 || got.Seconds[0].Offered != float64(got.Seconds[0].Sent) {
		t.Errorf("users %d, second 0: users %d, offered %g of %d sent", got.Users, got.Seconds[0].Users, got.Seconds[0].Offered, got.Seconds[0].Sent)
	}
}
