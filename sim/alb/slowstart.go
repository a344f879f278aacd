package alb

import "time"

// slowStartFloor is the weight a target has the moment it enters slow start:
// AWS does not document where the linear ramp starts; it is small but not
// zero, so the new target is exercised from the start.
const slowStartFloor = 0.1

// slowStartWeight is the weight of a target that has been in slow start for
// sinceHealthy out of duration: rising linearly from slowStartFloor to 1 at
// the end of the duration, and 1 from then on (or when slow start is off).
// Targets not in slow start weigh 1.
func slowStartWeight(sinceHealthy, duration time.Duration) float64 {
	switch {
	case duration <= 0 || sinceHealthy >= duration:
		return 1
	case sinceHealthy <= 0:
		return slowStartFloor
	}
	return slowStartFloor + (1-slowStartFloor)*float64(sinceHealthy)/float64(duration)
}
