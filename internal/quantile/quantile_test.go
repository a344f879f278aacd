package quantile

import (
	"math"
	"testing"
)

func TestNearestRank(t *testing.T) {
	ten := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	cases := []struct {
		values []float64
		q      float64
		want   float64
	}{
		{ten, 0, 1},     // the smallest
		{ten, 0.1, 1},   // ceil(1) = 1st
		{ten, 0.11, 2},  // ceil(1.1) = 2nd
		{ten, 0.5, 5},   // ceil(5) = 5th, not an average
		{ten, 0.95, 10}, // ceil(9.5) = 10th
		{ten, 0.99, 10}, //
		{ten, 1, 10},    // the largest
		{ten, 1.5, 10},  // clamped
		{ten, -1, 1},    // clamped
		{[]float64{7}, 0.5, 7},
		{[]float64{1, 2}, 0.5, 1}, // ceil(1) = 1st: the lower median
	}
	for _, c := range cases {
		got, ok := NearestRank(c.values, c.q)
		if !ok || got != c.want {
			t.Errorf("NearestRank(%v, %v) = %v, %v; want %v", c.values, c.q, got, ok, c.want)
		}
	}
	if _, ok := NearestRank([]float64(nil), 0.5); ok {
		t.Error("no values gave a quantile")
	}
	// CloudWatch's p99.9 of 1000 samples is the 999th smallest.
	var k []int
	for i := 1; i <= 1000; i++ {
		k = append(k, i)
	}
	if got, _ := NearestRank(k, 99.9/100); got != 999 {
		t.Errorf("p99.9 of 1..1000 = %d, want 999", got)
	}
	if Rank(math.Nextafter(0.5, 1), 10) != 5 {
		t.Error("a q just over 0.5 of 10 values is the 6th")
	}
}
