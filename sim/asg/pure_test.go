package asg

import (
	"math/rand/v2"
	"testing"
	"time"
)

func f(v float64) *float64 { return &v }

func TestStepFor(t *testing.T) {
	// The seed's policies and AWS's docs example: threshold 50, +1 at 60-70
	// (10..20 above), +3 at 70 and up; -1 below 40 (up to -10 below).
	out := []Step{{Lower: f(10), Upper: f(20), Adjustment: 1}, {Lower: f(20), Adjustment: 3}}
	in := []Step{{Upper: f(-10), Adjustment: -1}}
	tests := []struct {
		steps []Step
		value float64
		want  int
		ok    bool
	}{
		{out, 60, 1, true},   // lower bound inclusive above the threshold
		{out, 69.9, 1, true}, // upper bound exclusive
		{out, 70, 3, true},
		{out, 95, 3, true},
		{out, 55, 0, false}, // in no step
		{in, 40, -1, true},  // upper bound inclusive below the threshold
		{in, 12, -1, true},
		{in, 45, 0, false},
		{[]Step{{Lower: f(0), Adjustment: 1}}, 80, 1, true}, // seed: +1 at >= threshold
	}
	for _, tt := range tests {
		got, ok := StepFor(tt.steps, 50, tt.value)
		if got != tt.want || ok != tt.ok {
			t.Errorf("StepFor(%v) = %d,%v; want %d,%v", tt.value, got, ok, tt.want, tt.ok)
		}
	}
}

func TestNewCapacityRounding(t *testing.T) {
	tests := []struct {
		typ                 string
		current, adj, minMg int
		want                int
	}{
		{ChangeInCapacity, 2, 1, 0, 3},
		{ChangeInCapacity, 2, -1, 0, 1},
		{ExactCapacity, 2, 5, 0, 5},
		{PercentChangeInCapacity, 10, 10, 0, 11},  // docs: 10% of 10 = 1
		{PercentChangeInCapacity, 11, 30, 0, 14},  // docs: 3.3 rounds down to 3
		{PercentChangeInCapacity, 14, -10, 0, 13}, // docs: -1.4 rounds toward zero
		{PercentChangeInCapacity, 2, 10, 0, 3},    // 0.2 becomes 1
		{PercentChangeInCapacity, 2, -10, 0, 1},   // -0.2 becomes -1
		{PercentChangeInCapacity, 10, 10, 2, 12},  // MinAdjustmentMagnitude
		{PercentChangeInCapacity, 30, -22, 0, 24}, // -6.6 rounds toward zero
	}
	for _, tt := range tests {
		if got := NewCapacity(tt.typ, tt.current, tt.adj, tt.minMg); got != tt.want {
			t.Errorf("NewCapacity(%s, %d, %d, %d) = %d, want %d", tt.typ, tt.current, tt.adj, tt.minMg, got, tt.want)
		}
	}
}

func TestPickZone(t *testing.T) {
	for _, tt := range []struct {
		counts []int
		want   int
	}{{[]int{0, 0, 0}, 0}, {[]int{1, 0, 0}, 1}, {[]int{1, 1, 0}, 2}, {[]int{2, 1, 1}, 1}, {[]int{1, 1, 1}, 0}} {
		if got := pickZone(tt.counts); got != tt.want {
			t.Errorf("pickZone(%v) = %d, want %d", tt.counts, got, tt.want)
		}
	}
}

func TestChooseTermination(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	zones := []string{"a", "b", "c"}
	r := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name     string
		cs       []candidate
		policies []string
		want     string
	}{
		{"the zone with the most goes first", []candidate{
			{ID: "i-1", Zone: "a", Launched: t0}, {ID: "i-2", Zone: "b", Launched: t0}, {ID: "i-3", Zone: "b", Launched: t0.Add(time.Minute)},
		}, []string{"Default"}, "i-2"}, // b, then i-2 is further into its billing hour
		{"then the oldest launch template", []candidate{
			{ID: "i-1", Zone: "a", Launched: t0, Template: 2}, {ID: "i-2", Zone: "b", Launched: t0, Template: 1},
		}, []string{"Default"}, "i-2"},
		{"then the closest to the next billing hour", []candidate{
			{ID: "i-1", Zone: "a", Launched: t0.Add(10 * time.Minute)}, {ID: "i-2", Zone: "b", Launched: t0.Add(5 * time.Minute)},
		}, []string{"Default"}, "i-2"},
		{"OldestInstance", []candidate{
			{ID: "i-1", Zone: "a", Launched: t0.Add(time.Minute)}, {ID: "i-2", Zone: "b", Launched: t0},
		}, []string{"OldestInstance"}, "i-2"},
		{"NewestInstance", []candidate{
			{ID: "i-1", Zone: "a", Launched: t0.Add(time.Minute)}, {ID: "i-2", Zone: "b", Launched: t0},
		}, []string{"NewestInstance", "Default"}, "i-1"},
		{"balance beats NewestInstance", []candidate{
			{ID: "i-1", Zone: "a", Launched: t0.Add(time.Hour)}, {ID: "i-2", Zone: "b", Launched: t0}, {ID: "i-3", Zone: "b", Launched: t0},
		}, []string{"NewestInstance", "Default"}, ""},
	}
	for _, tt := range tests {
		got := chooseTermination(tt.cs, zones, tt.policies, t0.Add(30*time.Minute), r)
		if tt.want == "" {
			if got.Zone != "b" {
				t.Errorf("%s: got %s in %s, want one in b", tt.name, got.ID, got.Zone)
			}
			continue
		}
		if got.ID != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got.ID, tt.want)
		}
	}
}

func TestChooseTerminationIsRandomButSeeded(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cs := []candidate{{ID: "i-1", Zone: "a", Launched: t0}, {ID: "i-2", Zone: "b", Launched: t0}, {ID: "i-3", Zone: "c", Launched: t0}}
	pick := func(seed uint64) string {
		return chooseTermination(cs, []string{"a", "b", "c"}, []string{"Default"}, t0, rand.New(rand.NewPCG(seed, 0))).ID
	}
	if pick(7) != pick(7) {
		t.Fatal("same seed, different choice")
	}
	seen := map[string]bool{}
	for s := uint64(0); s < 50; s++ {
		seen[pick(s)] = true
	}
	if len(seen) != 3 {
		t.Fatalf("random tie-break reached only %v", seen)
	}
}

func TestHealthCheck(t *testing.T) {
	t0 := time.Unix(0, 0)
	grace := 300 * time.Second
	tests := []struct {
		name string
		in   healthInput
		bad  bool
	}{
		{"running and healthy", healthInput{running: true, elbState: "healthy", healthType: "ELB", inService: t0, grace: grace, now: t0.Add(time.Hour)}, false},
		{"stopped inside the grace period", healthInput{running: false, elbState: "healthy", healthType: "ELB", inService: t0, grace: grace, now: t0.Add(time.Second)}, true},
		{"ELB unhealthy inside the grace period", healthInput{running: true, elbState: "unhealthy", healthType: "ELB", inService: t0, grace: grace, now: t0.Add(299 * time.Second)}, false},
		{"ELB unhealthy after the grace period", healthInput{running: true, elbState: "unhealthy", healthType: "ELB", inService: t0, grace: grace, now: t0.Add(300 * time.Second)}, true},
		{"ELB unhealthy with EC2 checks only", healthInput{running: true, elbState: "unhealthy", healthType: "EC2", inService: t0, grace: grace, now: t0.Add(time.Hour)}, false},
		{"initial is not unhealthy", healthInput{running: true, elbState: "initial", healthType: "ELB", inService: t0, now: t0.Add(time.Hour)}, false},
	}
	for _, tt := range tests {
		if bad, _ := healthCheck(tt.in); bad != tt.bad {
			t.Errorf("%s: unhealthy=%v, want %v", tt.name, bad, tt.bad)
		}
	}
}
