package load

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Split divides a run's load profile among generators by weight (equal
// weights: evenly), so that together they offer what one generator would:
//
//   - Rates (the open model) are scaled: share i of a phase ramps from
//     From*w_i to To*w_i, and the shares' schedules add up to the
//     profile's, hit for hit in expectation (each share's pacer rounds its
//     own hits, so the union may differ by one hit per share at the end).
//   - Users (the closed model) are whole: each phase's From and To are
//     split by largest remainder (ties to the lower index), so the shares'
//     users at every phase boundary add up to the profile's exactly;
//     inside a ramp each share floors its own count, so the union may lag
//     the profile's count by up to one user per share, for a moment.
//
// Each share should run with its own seed (ShareSeed): a create's title
// carries the seed and must be unique within the run.
func Split(phases []Phase, weights []float64) ([][]Phase, error) {
	if len(weights) == 0 {
		return nil, errors.New("split load: no generators")
	}
	total := 0.0
	for i, w := range weights {
		if !(w >= 0) || math.IsInf(w, 1) {
			return nil, fmt.Errorf("split load: generator %d's weight %g: weights must be zero or more", i+1, w)
		}
		total += w
	}
	if total <= 0 {
		return nil, errors.New("split load: every weight is zero")
	}
	shares := make([][]Phase, len(weights))
	for i := range shares {
		shares[i] = slices.Clone(phases)
	}
	for k, p := range phases {
		var from, to []float64
		if p.Users {
			from, to = splitWhole(p.From, weights, total), splitWhole(p.To, weights, total)
		}
		for i, w := range weights {
			if p.Users {
				shares[i][k].From, shares[i][k].To = from[i], to[i]
				continue
			}
			shares[i][k].From, shares[i][k].To = p.From*w/total, p.To*w/total
		}
	}
	return shares, nil
}

// splitWhole splits the whole number v by weight, largest remainder first.
func splitWhole(v float64, weights []float64, total float64) []float64 {
	n := int(math.Floor(v + 1e-9))
	out := make([]float64, len(weights))
	rem := make([]float64, len(weights))
	given := 0
	for i, w := range weights {
		exact := float64(n) * w / total
		out[i] = math.Floor(exact + 1e-9)
		rem[i] = exact - out[i]
		given += int(out[i])
	}
	order := make([]int, len(weights))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case rem[a] > rem[b]:
			return -1
		case rem[a] < rem[b]:
			return 1
		}
		return 0
	})
	for k := 0; given < n; k++ {
		out[order[k%len(order)]]++
		given++
	}
	return out
}

// ShareSeed is the seed of share i of a run seeded seed: share 0 keeps the
// run's (so a run whose only generator is the controller is unchanged),
// the others get their own, so that their creates' titles differ.
func ShareSeed(seed uint64, i int) uint64 {
	if i == 0 {
		return seed
	}
	return seed ^ (uint64(i) * 0x9e3779b97f4a7c15)
}

// WithDefaults is c with its defaults filled in (Timeout, MaxLag, Mix), as
// Run uses it: what a share sent elsewhere must carry.
func (c Config) WithDefaults() Config { return c.withDefaults() }
