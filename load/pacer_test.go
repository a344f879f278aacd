package load

import (
	"math"
	"testing"
	"time"
)

const sec = time.Second

var profiles = []struct {
	name   string
	phases []Phase
}{
	{"constant", []Phase{{Name: "hold", Duration: 2 * sec, From: 100, To: 100}}},
	{"ramp from zero", []Phase{{Name: "ramp", Duration: 3 * sec, From: 0, To: 100}}},
	{"falling", []Phase{{Name: "fall", Duration: 2 * sec, From: 200, To: 50}}},
	{"slow fractional", []Phase{{Name: "trickle", Duration: 10 * sec, From: 0.5, To: 0.5}}},
	{"fast", []Phase{{Name: "burst", Duration: sec, From: 5000, To: 5000}}},
	{"flash sale", []Phase{
		{Name: "warm", Duration: sec, From: 200, To: 200},
		{Name: "ramp", Duration: sec, From: 200, To: 400},
		{Name: "pause", Duration: sec / 2, From: 0, To: 0},
		{Name: "peak", Duration: 1500 * time.Millisecond, From: 400, To: 400},
		{Name: "fall", Duration: sec, From: 400, To: 0},
	}},
	{"odd lengths", []Phase{
		{Name: "a", Duration: 333 * time.Millisecond, From: 7, To: 91},
		{Name: "b", Duration: 1234 * time.Millisecond, From: 91, To: 13},
	}},
}

// simulate runs the pacer as vegeta would, on a perfect clock: wait, send,
// ask again. It returns the send time of every hit.
func simulate(t *testing.T, p RampPacer) []time.Duration {
	t.Helper()
	var sends []time.Duration
	var elapsed time.Duration
	for hits := uint64(0); ; hits++ {
		wait, stop := p.Pace(elapsed, hits)
		if stop {
			return sends
		}
		if wait < 0 {
			t.Fatalf("hit %d: negative wait %s", hits, wait)
		}
		elapsed += wait
		sends = append(sends, elapsed)
		if len(sends) > 1e6 {
			t.Fatal("pacer never stops")
		}
	}
}

func TestPacerHitsPerPhaseMatchIntegral(t *testing.T) {
	for _, tc := range profiles {
		t.Run(tc.name, func(t *testing.T) {
			p := RampPacer{Phases: tc.phases}
			sends := simulate(t, p)

			perPhase := make([]int, len(tc.phases))
			for _, at := range sends {
				i, ok := p.PhaseAt(at)
				if !ok {
					t.Fatalf("hit sent at %s, outside the %s profile", at, p.Duration())
				}
				perPhase[i]++
			}
			for i, ph := range tc.phases {
				want := ph.hits(ph.Duration)
				if math.Abs(float64(perPhase[i])-want) > 1 {
					t.Errorf("phase %q: %d hits, integral %.2f", ph.Name, perPhase[i], want)
				}
			}
			if want := math.Floor(p.Hits(p.Duration())); math.Abs(float64(len(sends))-want) > 1 {
				t.Errorf("%d hits in all, want about %.0f", len(sends), want)
			}
		})
	}
}

func TestPaceWaitsAgreeWithDue(t *testing.T) {
	for _, tc := range profiles {
		t.Run(tc.name, func(t *testing.T) {
			p := RampPacer{Phases: tc.phases}
			for n, at := range simulate(t, p) {
				if due := p.Due(uint64(n)); due != at {
					t.Fatalf("hit %d sent at %s, Due says %s", n, at, due)
				}
				if n > 0 && at < p.Due(uint64(n-1)) {
					t.Fatalf("hit %d due before hit %d", n, n-1)
				}
			}
		})
	}
}

func TestDueInvertsHits(t *testing.T) {
	for _, tc := range profiles {
		t.Run(tc.name, func(t *testing.T) {
			p := RampPacer{Phases: tc.phases}
			total := uint64(p.Hits(p.Duration()))
			for _, n := range []uint64{0, 1, 2, total / 3, total / 2, total - 2} {
				if n+1 >= total {
					continue
				}
				due := p.Due(n)
				// Due rounds to the nanosecond: allow that much of the rate.
				slack := 1e-9*p.Rate(due) + 1e-6
				if got := p.Hits(due); math.Abs(got-float64(n+1)) > slack {
					t.Errorf("Hits(Due(%d) = %s) = %.6f, want %d", n, due, got, n+1)
				}
			}
		})
	}
}

func TestPaceBehindAndAfterTheEnd(t *testing.T) {
	p := RampPacer{Phases: []Phase{{Duration: sec, From: 10, To: 10}}} // hit n due at (n+1)/10 s
	tests := []struct {
		name     string
		elapsed  time.Duration
		hits     uint64
		wantWait time.Duration
		wantStop bool
	}{
		{"first hit waits one interval", 0, 0, 100 * time.Millisecond, false},
		{"on schedule", 250 * time.Millisecond, 2, 50 * time.Millisecond, false},
		{"behind: send at once", 700 * time.Millisecond, 3, 0, false},
		{"last hit", 850 * time.Millisecond, 8, 50 * time.Millisecond, false},
		{"hit due at the very end is not sent", 950 * time.Millisecond, 9, 0, true},
		{"after the end", 2 * sec, 3, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wait, stop := p.Pace(tc.elapsed, tc.hits)
			if wait != tc.wantWait || stop != tc.wantStop {
				t.Errorf("Pace(%s, %d) = %s, %v; want %s, %v", tc.elapsed, tc.hits, wait, stop, tc.wantWait, tc.wantStop)
			}
		})
	}
}

func TestPacerRateAndHits(t *testing.T) {
	p := RampPacer{Phases: []Phase{
		{Duration: 2 * sec, From: 100, To: 300},
		{Duration: sec, From: 0, To: 0},
		{Duration: sec, From: 50, To: 50},
	}}
	tests := []struct {
		at        time.Duration
		rate, hit float64
	}{
		{-sec, 0, 0},
		{0, 100, 0},
		{sec, 200, 150},
		{2 * sec, 0, 400},
		{2500 * time.Millisecond, 0, 400},
		{3500 * time.Millisecond, 50, 425},
		{4 * sec, 0, 450},
		{10 * sec, 0, 450},
	}
	for _, tc := range tests {
		if got := p.Rate(tc.at); math.Abs(got-tc.rate) > 1e-9 {
			t.Errorf("Rate(%s) = %g, want %g", tc.at, got, tc.rate)
		}
		if got := p.Hits(tc.at); math.Abs(got-tc.hit) > 1e-9 {
			t.Errorf("Hits(%s) = %g, want %g", tc.at, got, tc.hit)
		}
	}
	if got, want := p.Duration(), 4*sec; got != want {
		t.Errorf("Duration = %s, want %s", got, want)
	}
	if i, ok := p.PhaseAt(2500 * time.Millisecond); i != 1 || !ok {
		t.Errorf("PhaseAt(2.5s) = %d, %v; want 1, true", i, ok)
	}
	if _, ok := p.PhaseAt(4 * sec); ok {
		t.Error("PhaseAt(end) reports a phase")
	}
}

func TestEmptyPacerStops(t *testing.T) {
	var p RampPacer
	if _, stop := p.Pace(0, 0); !stop {
		t.Error("a pacer without phases should stop at once")
	}
	if p.Rate(0) != 0 || p.Hits(sec) != 0 || p.Due(0) != 0 {
		t.Error("a pacer without phases should schedule nothing")
	}
}

func BenchmarkPacer(b *testing.B) {
	p := RampPacer{Phases: []Phase{
		{Name: "warm", Duration: 30 * sec, From: 100, To: 100},
		{Name: "ramp", Duration: 120 * sec, From: 100, To: 2000},
		{Name: "hold", Duration: 300 * sec, From: 2000, To: 2000},
		{Name: "fall", Duration: 60 * sec, From: 2000, To: 100},
	}}
	total := uint64(p.Hits(p.Duration())) - 1
	b.ReportAllocs()
	var elapsed time.Duration
	for i := 0; b.Loop(); i++ {
		hits := uint64(i) % total
		if hits == 0 {
			elapsed = 0
		}
		wait, _ := p.Pace(elapsed, hits)
		elapsed += wait
	}
}
