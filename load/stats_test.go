package load

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

const ms = time.Millisecond

func TestHistogramBuckets(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 129, 255, 256, 257, 1000, 123456789, 1 << 40} {
		i := bucketOf(v)
		if high := bucketHigh(i); v > high {
			t.Errorf("value %d in bucket %d whose top is %d", v, i, high)
		}
		if i > 0 && v <= bucketHigh(i-1) {
			t.Errorf("value %d also fits bucket %d", v, i-1)
		}
		if high := bucketHigh(i); float64(high-v) > float64(v)/128+1 {
			t.Errorf("bucket of %d is too wide: top %d", v, high)
		}
	}
}

func TestHistogramQuantilesMatchExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dists := []struct {
		name string
		draw func() time.Duration
	}{
		{"uniform 1-50ms", func() time.Duration { return time.Duration(1e6 + rng.Int64N(49e6)) }},
		{"exponential 5ms", func() time.Duration { return time.Duration(rng.ExpFloat64() * 5e6) }},
		{"bimodal", func() time.Duration {
			if rng.IntN(100) < 3 {
				return 2*time.Second + time.Duration(rng.Int64N(1e8))
			}
			return time.Duration(2e6 + rng.Int64N(1e6))
		}},
		{"tiny", func() time.Duration { return time.Duration(rng.Int64N(100)) }},
	}
	for _, d := range dists {
		t.Run(d.name, func(t *testing.T) {
			var h Histogram
			exact := make([]time.Duration, 5000)
			for i := range exact {
				exact[i] = d.draw()
				h.add(exact[i])
			}
			slices.Sort(exact)
			for _, q := range []float64{0.5, 0.9, 0.95, 0.99, 0.999, 1} {
				want, got := exactQuantile(exact, q), h.quantile(q)
				if got < want || float64(got-want) > float64(want)/128+1 {
					t.Errorf("q%.3f = %s, exact %s", q, got, want)
				}
			}
		})
	}
	var empty Histogram
	if empty.quantile(0.99) != 0 {
		t.Error("an empty histogram has no quantiles")
	}
}

// at builds a result sent at offset from t0.
func at(t0 time.Time, seq uint64, sent time.Duration, code uint16, latency time.Duration) *vegeta.Result {
	return &vegeta.Result{Seq: seq, Timestamp: t0.Add(sent), Code: code, Latency: latency}
}

func TestLagIsSendTimeMinusSchedule(t *testing.T) {
	t0 := time.Unix(1000, 0)
	p := RampPacer{Phases: []Phase{{Duration: 2 * sec, From: 10, To: 10}}} // hit n due at (n+1)*100ms
	a := newAggregator(t0, p, nil)
	tests := []struct {
		seq  uint64
		sent time.Duration
		want time.Duration
	}{
		{0, 100 * ms, 0},
		{1, 203 * ms, 3 * ms},
		{2, 350 * ms, 50 * ms},
		{5, 590 * ms, 0}, // early, which vegeta never is, counts as on time
		{19, 2100 * ms, 100 * ms},
	}
	for _, tc := range tests {
		if got := a.lagOf(at(t0, tc.seq, tc.sent, 200, ms)); got != tc.want {
			t.Errorf("seq %d sent at %s: lag %s, want %s", tc.seq, tc.sent, got, tc.want)
		}
	}
}

func TestAggregatorClosesSecondsInOrder(t *testing.T) {
	t0 := time.Unix(1000, 0)
	p := RampPacer{Phases: []Phase{{Duration: 4 * sec, From: 2, To: 2}}} // hits at 0.5s, 1s, 1.5s, ...
	var got []Second
	a := newAggregator(t0, p, func(s Second) { got = append(got, s) })

	steps := []struct {
		r          *vegeta.Result
		wantClosed int
	}{
		{at(t0, 0, 500*ms, 200, 10*ms), 0},
		// seq 2 (second 1) completes before seq 1 (second 0 boundary, also second 1).
		{at(t0, 2, 1500*ms, 503, 20*ms), 0},
		{at(t0, 1, 1000*ms, 201, 900*ms), 1}, // seq 0..2 all in: second 0 closes
		// seconds 2 and 3 send nothing (say the generator stalled); seq 3 is late.
		{at(t0, 3, 3900*ms, 0, 5*ms), 3}, // closes seconds 1 and 2
	}
	for i, st := range steps {
		a.add(st.r)
		if len(got) != st.wantClosed {
			t.Fatalf("after step %d: %d seconds closed, want %d", i, len(got), st.wantClosed)
		}
	}
	res := a.finish(4)
	if len(got) != 4 || len(res.Seconds) != 4 {
		t.Fatalf("delivered %d seconds, result holds %d; want 4", len(got), len(res.Seconds))
	}
	for i, s := range got {
		if s.Index != i || !s.Start.Equal(t0.Add(time.Duration(i)*sec)) || s.Offered != 2 {
			t.Errorf("second %d: index %d start %s offered %g", i, s.Index, s.Start, s.Offered)
		}
	}
	want := []struct{ sent, ok, e5, tr int }{{1, 1, 0, 0}, {2, 1, 1, 0}, {0, 0, 0, 0}, {1, 0, 0, 1}}
	for i, w := range want {
		s := got[i]
		if s.Sent != w.sent || s.OK2xx != w.ok || s.Err5xx != w.e5 || s.Transport != w.tr {
			t.Errorf("second %d: %+v, want sent %d ok %d 5xx %d transport %d", i, s, w.sent, w.ok, w.e5, w.tr)
		}
	}
	if got[1].P50 != 20*ms || got[1].Max != 900*ms {
		t.Errorf("second 1 latency p50 %s max %s, want 20ms, 900ms", got[1].P50, got[1].Max)
	}
	if got[3].MaxLag != 1900*ms { // seq 3 was due at 2s
		t.Errorf("second 3 max lag %s, want 1.9s", got[3].MaxLag)
	}
	if res.Requests != 4 || res.OK2xx != 2 || res.Err5xx != 1 || res.Transport != 1 || res.Max != 900*ms {
		t.Errorf("totals %+v", res)
	}
	if res.MaxLag != 1900*ms {
		t.Errorf("run max lag %s, want 1.9s", res.MaxLag)
	}
}

func TestJudge(t *testing.T) {
	tests := []struct {
		lagP99  time.Duration
		invalid bool
	}{
		{0, false},
		{250 * ms, false},
		{251 * ms, true},
		{3 * sec, true},
	}
	for _, tc := range tests {
		r := Result{LagP99: tc.lagP99, MaxLag: 4 * sec}
		judge(&r, 250*ms)
		if r.Invalid != tc.invalid {
			t.Errorf("lag p99 %s: invalid %v, want %v", tc.lagP99, r.Invalid, tc.invalid)
		}
		if tc.invalid && (!strings.Contains(r.InvalidReason, tc.lagP99.String()) || !strings.Contains(r.InvalidReason, "250ms")) {
			t.Errorf("reason %q does not give the numbers", r.InvalidReason)
		}
	}
}
