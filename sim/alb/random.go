package alb

import (
	"math/bits"
	"math/rand/v2"
	"sync/atomic"
)

// Source is a random source safe for concurrent use.
type Source interface {
	Uint64() uint64
}

// splitMix is a node's random source: SplitMix64 over an atomic counter,
// so concurrent requests never wait on a lock and never allocate. Its start
// comes from a PCG seeded with the load balancer's seed and the node's index,
// so runs with the same seed repeat.
type splitMix struct{ state atomic.Uint64 }

func newSource(seed, stream uint64) *splitMix {
	s := &splitMix{}
	s.state.Store(rand.New(rand.NewPCG(seed, stream)).Uint64())
	return s
}

// Uint64 implements Source.
func (s *splitMix) Uint64() uint64 {
	z := s.state.Add(0x9e3779b97f4a7c15)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// unitFloat maps x to [0, 1).
func unitFloat(x uint64) float64 { return float64(x>>11) * 0x1p-53 }

// WeightedRandom spreads requests evenly over the routable targets in random
// order. With Automatic Target Weights' anomaly mitigation, a node's
// detector lowers the weight of anomalous targets (setWeights); every other
// target weighs 1, and a target's chance is its weight over the sum.
type WeightedRandom struct {
	src     Source
	weights atomic.Pointer[map[*Target]float64] // nil: every target weighs the same
}

// NewWeightedRandom draws from src.
func NewWeightedRandom(src Source) *WeightedRandom { return &WeightedRandom{src: src} }

// setWeights replaces the weights below parity; nil or empty is parity for all.
func (w *WeightedRandom) setWeights(m map[*Target]float64) {
	if len(m) == 0 {
		w.weights.Store(nil)
		return
	}
	w.weights.Store(&m)
}

// Pick implements Picker.
func (w *WeightedRandom) Pick(routes []Route) int {
	if len(routes) == 0 {
		return -1
	}
	if m := w.weights.Load(); m != nil {
		return pickWeighted(routes, *m, unitFloat(w.src.Uint64()))
	}
	hi, _ := bits.Mul64(w.src.Uint64(), uint64(len(routes))) // Lemire's multiply: uniform enough for n << 2^64
	return int(hi)
}

// pickWeighted maps u in [0, 1) onto the routes by weight (1 unless listed).
func pickWeighted(routes []Route, weights map[*Target]float64, u float64) int {
	weight := func(t *Target) float64 {
		if x, ok := weights[t]; ok {
			return x
		}
		return 1
	}
	total := 0.0
	for i := range routes {
		total += weight(routes[i].Target)
	}
	x := u * total
	for i := range routes {
		if x -= weight(routes[i].Target); x < 0 {
			return i
		}
	}
	return len(routes) - 1
}
