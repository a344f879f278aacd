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
// order. Every target weighs the same: Automatic Target Weights (anomaly
// mitigation) is not modelled.
type WeightedRandom struct{ src Source }

// NewWeightedRandom draws from src.
func NewWeightedRandom(src Source) *WeightedRandom { return &WeightedRandom{src: src} }

// Pick implements Picker.
func (w *WeightedRandom) Pick(routes []Route) int {
	if len(routes) == 0 {
		return -1
	}
	hi, _ := bits.Mul64(w.src.Uint64(), uint64(len(routes))) // Lemire's multiply: uniform enough for n << 2^64
	return int(hi)
}
