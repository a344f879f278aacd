package load

import (
	"math"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Phase is one stretch of the load profile: the rate moves linearly from
// From to To requests per wall second over Duration (wall time). From == To
// gives a constant rate; a rate of zero gives a pause. In a users phase the
// same ramp counts users.
type Phase struct {
	Name     string
	Duration time.Duration
	From, To float64
	// Users makes From and To counts of concurrent virtual users, not
	// rates (the closed model, vusers.go): each user sends, waits for the
	// answer, thinks for about ThinkTime (wall time), and sends again. A
	// profile's phases are all of one kind.
	Users     bool
	ThinkTime time.Duration
}

// hits is the number of hits the phase schedules in its first tau of time:
// the integral of its rate.
func (p Phase) hits(tau time.Duration) float64 {
	s, d := tau.Seconds(), p.Duration.Seconds()
	return p.From*s + (p.To-p.From)*s*s/(2*d)
}

// RampPacer is a vegeta.Pacer for a piecewise-linear profile: within each
// phase the rate ramps linearly, phases follow one another, and the attack
// stops after the last phase.
//
// Hit n (0-based) is scheduled at the first instant the cumulative hit count
// Hits reaches n+1, so a phase at rate r sends its first hit 1/r after it
// starts and a profile sends floor(Hits(end)) hits, give or take one at the
// very end. Pace and Due agree: vegeta sends hit n at Due(n) unless it is
// behind, in which case it sends at once.
type RampPacer struct {
	Phases []Phase
}

var _ vegeta.Pacer = RampPacer{}

// Pace returns how long to wait before sending hit number hits, given the
// time elapsed since the attack began, and whether to stop instead. A
// generator that is behind sends at once to catch up, but never after the
// end of the profile: hits it could not send by then are dropped.
func (p RampPacer) Pace(elapsed time.Duration, hits uint64) (wait time.Duration, stop bool) {
	due, ok := p.due(hits)
	if !ok || elapsed >= p.Duration() {
		return 0, true
	}
	if due <= elapsed {
		return 0, false
	}
	return due - elapsed, false
}

// Rate returns the scheduled rate in hits per second at elapsed; zero before
// the start and after the end of the profile.
func (p RampPacer) Rate(elapsed time.Duration) float64 {
	if elapsed < 0 {
		return 0
	}
	for _, ph := range p.Phases {
		if elapsed < ph.Duration {
			return ph.From + (ph.To-ph.From)*elapsed.Seconds()/ph.Duration.Seconds()
		}
		elapsed -= ph.Duration
	}
	return 0
}

// Hits returns the number of hits scheduled in the first elapsed of the
// profile (the integral of Rate; not rounded). It stays constant after the
// end of the profile.
func (p RampPacer) Hits(elapsed time.Duration) float64 {
	total := 0.0
	if elapsed <= 0 {
		return 0
	}
	for _, ph := range p.Phases {
		if elapsed < ph.Duration {
			return total + ph.hits(elapsed)
		}
		total += ph.hits(ph.Duration)
		elapsed -= ph.Duration
	}
	return total
}

// Due returns the time, since the attack began, at which hit n (0-based) is
// scheduled. For a hit past the end of the profile, which is never sent, it
// returns Duration().
func (p RampPacer) Due(n uint64) time.Duration {
	due, ok := p.due(n)
	if !ok {
		return p.Duration()
	}
	return due
}

// Duration is the length of the whole profile.
func (p RampPacer) Duration() time.Duration {
	var d time.Duration
	for _, ph := range p.Phases {
		d += ph.Duration
	}
	return d
}

// PhaseAt returns the index of the phase running at elapsed, or false
// before the start or after the end of the profile.
func (p RampPacer) PhaseAt(elapsed time.Duration) (int, bool) {
	if elapsed < 0 {
		return 0, false
	}
	for i, ph := range p.Phases {
		if elapsed < ph.Duration {
			return i, true
		}
		elapsed -= ph.Duration
	}
	return 0, false
}

// due inverts Hits: it finds the phase in which the cumulative count reaches
// n+1 and solves the phase's quadratic for the time. It reports false when
// the profile ends first.
func (p RampPacer) due(n uint64) (time.Duration, bool) {
	target := float64(n) + 1
	var start time.Duration
	done := 0.0 // hits scheduled before the current phase
	for _, ph := range p.Phases {
		inPhase := ph.hits(ph.Duration)
		if target <= done+inPhase {
			tau := solve(ph, target-done)
			if tau >= ph.Duration {
				// Only reachable through rounding: the hit falls on the
				// phase boundary; let the next phase (or the end) take it.
				start += ph.Duration
				done += inPhase
				continue
			}
			return start + tau, true
		}
		start += ph.Duration
		done += inPhase
	}
	return 0, false
}

// solve returns the time tau into phase ph at which the phase has scheduled
// r hits: the root of a*tau^2 + b*tau - r = 0 with a = (To-From)/(2D) and
// b = From, written as 2r / (b + sqrt(b^2 + 4ar)) so that it stays exact for
// a constant rate (a = 0) and well-conditioned for a falling one (a < 0).
func solve(ph Phase, r float64) time.Duration {
	if r <= 0 {
		return 0
	}
	a := (ph.To - ph.From) / (2 * ph.Duration.Seconds())
	b := ph.From
	disc := max(b*b+4*a*r, 0)
	den := b + math.Sqrt(disc)
	if den <= 0 {
		return ph.Duration
	}
	sec := 2 * r / den
	if sec >= ph.Duration.Seconds() {
		return ph.Duration
	}
	return time.Duration(math.Round(sec * 1e9))
}
