package chaos

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

func (s Selector) empty() bool {
	return len(s.IDs) == 0 && s.Count == 0 && s.Percent == 0 && (s.Order == "" || s.Order == OrderRandom)
}

// Describe says which instances the selector chooses in zone, in words.
func (s Selector) Describe(zone string) string {
	in := "any zone"
	if zone != "" {
		in = zone
	}
	if len(s.IDs) > 0 {
		return strings.Join(s.IDs, ", ")
	}
	how := "at random"
	switch s.Order {
	case OrderOldest:
		how = "the oldest first"
	case OrderNewest:
		how = "the newest first"
	}
	switch {
	case s.Count > 1:
		return fmt.Sprintf("%d running instances in %s, %s", s.Count, in, how)
	case s.Percent > 0:
		return fmt.Sprintf("%v%% (rounded up) of the running instances in %s, %s", s.Percent, in, how)
	case s.Order == OrderOldest:
		return "the oldest running instance in " + in
	case s.Order == OrderNewest:
		return "the newest running instance in " + in
	}
	return "a random running instance in " + in
}

// choose picks the selector's instances among the run's running ones in
// zone ("" any), with rng for a random choice. Only the run's own running
// instances can ever be chosen.
func (h hooks) choose(zone string, sel Selector, rng *rand.Rand) ([]Victim, error) {
	var vs []Victim
	for _, v := range h.target.Running() {
		if zone == "" || v.Zone == zone {
			vs = append(vs, v)
		}
	}
	slices.SortFunc(vs, func(a, b Victim) int { return cmp.Compare(a.ID, b.ID) })
	if len(sel.IDs) > 0 {
		var out []Victim
		for _, id := range sel.IDs {
			i := slices.IndexFunc(vs, func(v Victim) bool { return v.ID == id })
			if i < 0 {
				return nil, fmt.Errorf("%s is not one of this run's running instances in %s", id, where(zone))
			}
			out = append(out, vs[i])
		}
		return out, nil
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("no running instance in %s to act on", where(zone))
	}
	n := 1
	switch {
	case sel.Count > 0:
		n = sel.Count
	case sel.Percent > 0:
		n = int(math.Ceil(sel.Percent / 100 * float64(len(vs))))
	}
	n = min(max(n, 1), len(vs))
	switch sel.Order {
	case OrderOldest, OrderNewest:
		slices.SortStableFunc(vs, func(a, b Victim) int {
			if sel.Order == OrderNewest {
				a, b = b, a
			}
			return cmp.Or(a.Launched.Compare(b.Launched), cmp.Compare(a.ID, b.ID))
		})
	default:
		rng.Shuffle(len(vs), func(i, j int) { vs[i], vs[j] = vs[j], vs[i] })
	}
	return vs[:n], nil
}

// where names a zone, or any zone.
func where(zone string) string {
	if zone == "" {
		return "any zone"
	}
	return zone
}

// downNow is how many of the group's instances are down now: those the
// group lacks against its desired capacity (stopped or killed and not yet
// replaced) and those chaos holds frozen while still running.
func (r *Runner) downNow() int {
	running := map[string]bool{}
	for _, v := range r.target.Running() {
		running[v.ID] = true
	}
	held := map[string]bool{}
	r.mu.Lock()
	for _, f := range r.pending {
		for _, id := range f.down {
			held[id] = true
		}
	}
	r.mu.Unlock()
	d, ok := r.target.(Desirer)
	if !ok {
		return len(held)
	}
	down := max(0, d.Desired()-len(running))
	if s, ok := r.target.(InServicer); ok {
		down = max(down, d.Desired()-s.InService())
	}
	for id := range held {
		if running[id] { // frozen, still running
			down++
		}
	}
	return down
}

// allowDown refuses a fault that would take more instances down at once
// than max_down_instances allows.
func (r *Runner) allowDown(k int) error {
	if r.limits.MaxDownInstances <= 0 || k == 0 {
		return nil
	}
	if now := r.downNow(); now+k > r.limits.MaxDownInstances {
		return fmt.Errorf("refused: it would take %d instance(s) down with %d already down, above max_down_instances %d",
			k, now, r.limits.MaxDownInstances)
	}
	return nil
}

// allowZone refuses a fault that would take more zones down at once than
// max_down_zones allows.
func (r *Runner) allowZone(zone string) error {
	if r.limits.MaxDownZones <= 0 {
		return nil
	}
	down := map[string]bool{}
	r.mu.Lock()
	for _, f := range r.pending {
		if f.zone != "" {
			down[f.zone] = true
		}
	}
	r.mu.Unlock()
	if !down[zone] && len(down)+1 > r.limits.MaxDownZones {
		zs := make([]string, 0, len(down))
		for z := range down {
			zs = append(zs, z)
		}
		slices.Sort(zs)
		return fmt.Errorf("refused: %s would be a zone down with %s already down, above max_down_zones %d",
			zone, strings.Join(zs, ", "), r.limits.MaxDownZones)
	}
	return nil
}
