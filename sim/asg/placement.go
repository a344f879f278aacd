package asg

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"time"
)

// pickZone is where the next launch goes: the zone with the fewest
// instances; ties go to the zone listed first.
func pickZone(counts []int) int {
	best := 0
	for i, n := range counts {
		if n < counts[best] {
			best = i
		}
	}
	return best
}

// candidate is what the termination policy looks at.
type candidate struct {
	ID       string
	Zone     string
	Launched time.Time
	Template int // launch template version; lower is older
}

// chooseTermination picks the instance to terminate on scale-in. Keeping the
// zones balanced comes first: only the zones with the most instances are
// considered. Then each policy in order narrows the set; Default means
// oldest launch template, then closest to the next billing hour, then random.
func chooseTermination(cs []candidate, zones []string, policies []string, now time.Time, r *rand.Rand) candidate {
	count := map[string]int{}
	most := 0
	for _, c := range cs {
		count[c.Zone]++
		most = max(most, count[c.Zone])
	}
	var set []candidate
	for _, c := range cs {
		if count[c.Zone] == most {
			set = append(set, c)
		}
	}
	for _, p := range policies {
		switch p {
		case "OldestInstance":
			set = keepBest(set, func(c candidate) float64 { return -float64(c.Launched.UnixNano()) })
		case "NewestInstance":
			set = keepBest(set, func(c candidate) float64 { return float64(c.Launched.UnixNano()) })
		case "OldestLaunchTemplate", "OldestLaunchConfiguration":
			set = keepBest(set, func(c candidate) float64 { return -float64(c.Template) })
		case "ClosestToNextInstanceHour":
			set = keepBest(set, func(c candidate) float64 { return sinceHour(c, now) })
		case "Default":
			set = keepBest(set, func(c candidate) float64 { return -float64(c.Template) })
			set = keepBest(set, func(c candidate) float64 { return sinceHour(c, now) })
		}
		if len(set) == 1 {
			return set[0]
		}
	}
	slices.SortFunc(set, func(a, b candidate) int { return cmp.Compare(a.ID, b.ID) })
	return set[r.IntN(len(set))]
}

// sinceHour is how far into its current billing hour an instance is: the
// larger, the closer to the next hour.
func sinceHour(c candidate, now time.Time) float64 {
	return float64(now.Sub(c.Launched) % time.Hour)
}

// keepBest keeps the candidates with the highest score.
func keepBest(cs []candidate, score func(candidate) float64) []candidate {
	if len(cs) < 2 {
		return cs
	}
	best := score(cs[0])
	for _, c := range cs[1:] {
		best = max(best, score(c))
	}
	var out []candidate
	for _, c := range cs {
		if score(c) == best {
			out = append(out, c)
		}
	}
	return out
}
