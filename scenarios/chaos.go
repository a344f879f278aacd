package scenarios

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/internal/yamlcheck"
)

// window splits a stop condition's "for DURATION" from its expression. An
// SLO (live false) takes no window: it is judged over the whole run.
func (p parser) window(item *yaml.Node, field string, live bool) (string, time.Duration, bool) {
	expr := item.Value
	i := strings.LastIndex(expr, " for ")
	if i < 0 {
		return expr, 0, true
	}
	if !live {
		p.ErrAt(item, field, "an SLO is judged over the whole run and takes no \"for\"; a window is for stop_conditions, such as error_rate > 50%% for 1m")
		return "", 0, false
	}
	d, err := time.ParseDuration(strings.TrimSpace(expr[i+5:]))
	if err != nil || d <= 0 {
		p.ErrAt(item, field, "%q after for is not a duration above 0; give how long it must hold in AWS time, such as error_rate > 50%% for 1m",
			strings.TrimSpace(expr[i+5:]))
		return "", 0, false
	}
	return expr[:i], d, true
}

// chaosTimeline reads an action's timeline and targeting fields.
func (p parser) chaosTimeline(m map[string]*yaml.Node, path string, a *ChaosAction) {
	p.Str(m, path, "after", &a.After)
	if n := m["after"]; n != nil && a.After != "" {
		if _, err := chaos.ParseCondition(a.After); err != nil {
			col := n.Column
			if ce, ok := err.(*chaos.ConditionError); ok {
				if n.Style == yaml.DoubleQuotedStyle || n.Style == yaml.SingleQuotedStyle {
					col++
				}
				col += ce.Col - 1
				err = fmt.Errorf("%s", ce.Msg)
			}
			p.ErrAt(&yaml.Node{Line: n.Line, Column: col}, path+".after", "%v", err)
		}
	}
	p.Dur(m, path, "every", &a.Every, true)
	p.Dur(m, path, "every_jitter", &a.EveryJitter, true)
	p.Int(m, path, "repeat", &a.Repeat)
	p.Int(m, path, "count", &a.Count)
	var bw int
	p.Int(m, path, "bandwidth", &bw)
	a.Bandwidth = int64(bw)
	p.Dur(m, path, "blackhole_for", &a.BlackholeAt, true)
	p.Str(m, path, "lb_node", &a.LBNode)
	p.Dur(m, path, "mean_gap", &a.MeanGap, true)
	p.Dur(m, path, "min_gap", &a.MinGap, true)
	if m["target"] != nil {
		tpath := path + ".target"
		tm := p.Mapping(m["target"], tpath, "ids", "count", "percent", "pick")
		t := &Target{}
		p.StrList(tm, tpath, "ids", &t.IDs)
		p.Int(tm, tpath, "count", &t.Count)
		p.Float(tm, tpath, "percent", &t.Percent)
		p.Str(tm, tpath, "pick", &t.Pick)
		a.Target = t
	}
}

// validateTimeline checks an action's timeline, targeting and own fields.
func (p parser) validateTimeline(path string, a ChaosAction, total time.Duration) {
	f := func(k string) string { return path + "." + k }
	has := func(k string) bool { return p.Has(f(k)) && !p.Bad(f(k)) }
	if has("every") && a.Every <= 0 {
		p.Errf(f("every"), "%s is not above 0; give the time between repetitions, such as 5m", clock.Short(a.Every))
	}
	if has("every") && a.Action == chaos.Monkey {
		p.Errf(f("every"), "not allowed with monkey, which draws its own gaps; give mean_gap and min_gap")
	}
	switch {
	case has("every_jitter") && !p.Has(f("every")):
		p.Errf(f("every_jitter"), "given without every; jitter moves each repetition of an action repeated every")
	case has("every_jitter") && (a.EveryJitter < 0 || a.EveryJitter >= a.Every):
		p.Errf(f("every_jitter"), "%s is not allowed; use 0 up to less than every (%s)", clock.Short(a.EveryJitter), clock.Short(a.Every))
	}
	switch {
	case has("repeat") && !p.Has(f("every")):
		p.Errf(f("repeat"), "given without every; say how far apart the repetitions are, such as every: 5m")
	case has("repeat") && a.Repeat < 1:
		p.Errf(f("repeat"), "%d is not allowed; give how many times in all, 1 or more (leave it out: until the load ends)", a.Repeat)
	}
	if has("every") && a.Every > 0 && a.Duration > a.Every {
		p.Errf(f("every"), "%s is shorter than the duration (%s); a fault must end before it happens again", clock.Short(a.Every), clock.Short(a.Duration))
	}
	if has("count") {
		switch {
		case a.Action != chaos.HTTPError:
			p.Errf(f("count"), "not allowed with %s; only http-error takes count (the first N requests fail); to choose instances use target.count", a.Action)
		case a.Count < 1:
			p.Errf(f("count"), "%d is not allowed; give how many requests fail first, 1 or more", a.Count)
		}
	}
	switch {
	case a.Action == chaos.Bandwidth && !p.Has(f("bandwidth")):
		p.Errf(f("bandwidth"), "missing; bandwidth needs the bytes per second a response body may take, such as 16384")
	case has("bandwidth") && a.Action != chaos.Bandwidth:
		p.Errf(f("bandwidth"), "not allowed with %s; only bandwidth takes it", a.Action)
	case has("bandwidth") && a.Bandwidth < 1:
		p.Errf(f("bandwidth"), "%d is not allowed; give bytes per second, 1 or more", a.Bandwidth)
	}
	switch {
	case has("blackhole_for") && a.Action != chaos.AZOutage:
		p.Errf(f("blackhole_for"), "not allowed with %s; only az-outage takes it (use az-partition for a blackhole on its own)", a.Action)
	case has("blackhole_for") && (a.BlackholeAt <= 0 || a.BlackholeAt > a.Duration):
		p.Errf(f("blackhole_for"), "%s is not allowed; give above 0 and at most the duration (%s); leave it out for FIS's %s", clock.Short(a.BlackholeAt), clock.Short(a.Duration), clock.Short(chaos.FISBlackhole))
	}
	switch {
	case has("lb_node") && a.Action != chaos.AZOutage:
		p.Errf(f("lb_node"), "not allowed with %s; only az-outage takes it (use kill-lb-node to take a node down on its own)", a.Action)
	case has("lb_node"):
		p.OneOf(f("lb_node"), a.LBNode, chaos.LBNodeStates)
	}
	for _, k := range []string{"mean_gap", "min_gap"} {
		if has(k) && a.Action != chaos.Monkey {
			p.Errf(f(k), "not allowed with %s; only monkey takes %s", a.Action, k)
		}
	}
	if a.Action == chaos.Monkey {
		switch {
		case !p.Has(f("mean_gap")):
			p.Errf(f("mean_gap"), "missing; monkey needs the mean time between kills, such as 3m")
		case has("mean_gap") && a.MeanGap < time.Second:
			p.Errf(f("mean_gap"), "%s is not allowed; give 1s or more", clock.Short(a.MeanGap))
		}
		if has("min_gap") && (a.MinGap < 0 || (a.MeanGap > 0 && a.MinGap > a.MeanGap)) {
			p.Errf(f("min_gap"), "%s is not allowed; give 0 up to the mean gap (%s)", clock.Short(a.MinGap), clock.Short(a.MeanGap))
		}
	}
	if slices.Contains(chaos.ZoneKinds, a.Action) && !p.Has(f("zone")) {
		p.Errf(f("zone"), "missing; %s needs the zone it takes down", a.Action)
	}
	if a.Action == chaos.StoreOutage && p.Has(f("zone")) {
		p.Errf(f("zone"), "not allowed with store-outage; the database is shared by every zone")
	}
	isDB := slices.Contains(chaos.DBKinds, a.Action)
	switch {
	case has("db_instance") && !isDB:
		p.Errf(f("db_instance"), "not allowed with %s; only %s take it", a.Action, strings.Join(chaos.DBKinds, ", "))
	case has("db_instance") && strings.TrimSpace(a.DBInstance) == "":
		p.Errf(f("db_instance"), "empty; use %s, %s or a DB instance's identifier, or leave it out", chaos.DBPrimary, chaos.DBReplica)
	case has("db_instance") && a.Action == chaos.ReplicaLag && a.DBInstance == chaos.DBPrimary:
		p.Errf(f("db_instance"), "%s is not allowed with replica-lag: the primary replays nothing; use %s or a replica's identifier", chaos.DBPrimary, chaos.DBReplica)
	}
	if isDB && p.Has(f("zone")) {
		p.Errf(f("zone"), "not allowed with %s; it names its DB instance with db_instance (az-outage takes a zone's DB instances down)", a.Action)
	}
	p.validateTarget(path, a)
}

func (p parser) validateTarget(path string, a ChaosAction) {
	t := a.Target
	tp := path + ".target"
	if t == nil || p.Bad(tp) {
		return
	}
	if !slices.Contains(chaos.InstanceKinds, a.Action) && !slices.Contains(chaos.RequestKinds, a.Action) && a.Action != chaos.Monkey {
		p.Errf(tp, "not allowed with %s; only %s and the request faults (%s) choose instances",
			a.Action, strings.Join(chaos.InstanceKinds, ", "), strings.Join(chaos.RequestKinds, ", "))
		return
	}
	given := 0
	for _, k := range []string{"ids", "count", "percent"} {
		if p.Has(tp + "." + k) {
			given++
		}
	}
	if given > 1 {
		p.Errf(tp, "give one of ids, count and percent")
	}
	for i, id := range t.IDs {
		if !strings.HasPrefix(id, "i-") {
			p.Errf(yamlcheck.Index(tp+".ids", i), "%q is not an instance id (i-...)", id)
		}
	}
	if p.Has(tp+".ids") && len(t.IDs) == 0 && !p.Bad(tp+".ids") {
		p.Errf(tp+".ids", "empty; list instance ids, or leave ids out")
	}
	if f := tp + ".count"; p.Has(f) && !p.Bad(f) && t.Count < 1 {
		p.Errf(f, "%d is not allowed; give how many instances, 1 or more", t.Count)
	}
	if f := tp + ".percent"; p.Has(f) && !p.Bad(f) && (t.Percent <= 0 || t.Percent > 100) {
		p.Errf(f, "%s is not allowed; use more than 0 and at most 100 (the share of running instances, rounded up)", fmtNum(t.Percent))
	}
	if f := tp + ".pick"; p.Has(f) && !p.Bad(f) {
		p.OneOf(f, t.Pick, chaos.Orders)
	}
	if p.Has(tp+".ids") && p.Has(tp+".pick") {
		p.Errf(tp+".pick", "not allowed with ids; the ids say which instances")
	}
}

// validateLimits checks the blast-radius limits.
func (p parser) validateLimits(s *Scenario) {
	for _, l := range []struct {
		key string
		v   int
	}{{"max_down_instances", s.MaxDownInstances}, {"max_down_zones", s.MaxDownZones}} {
		if p.Has(l.key) && !p.Bad(l.key) && l.v < 1 {
			p.Errf(l.key, "%d is not allowed; give 1 or more, or leave it out for no limit", l.v)
		}
	}
}

// Chaos is the action as chaos's runner takes it. The file's words are
// chaos's under other names: action is Kind, bandwidth Rate, blackhole_for
// BlackholeFor, lb_node LBNode, target Select with pick its Order.
func (a ChaosAction) Chaos() chaos.Action {
	ca := chaos.Action{At: a.At, After: a.After, Every: a.Every, EveryJitter: a.EveryJitter, Repeat: a.Repeat,
		Kind: a.Action, Zone: a.Zone, Duration: a.Duration, Percent: a.Percent, Status: a.Status, Count: a.Count,
		Latency: a.Latency, Jitter: a.Jitter, Rate: a.Bandwidth, BlackholeFor: a.BlackholeAt, LBNode: a.LBNode, MeanGap: a.MeanGap, MinGap: a.MinGap,
		DBInstance: a.DBInstance, Connections: a.Connections}
	if t := a.Target; t != nil {
		ca.Select = chaos.Selector{IDs: t.IDs, Count: t.Count, Percent: t.Percent, Order: t.Pick}
	}
	return ca
}

// ChaosActions is the scenario's chaos as chaos's runner takes it, in file
// order.
func (s *Scenario) ChaosActions() []chaos.Action {
	var as []chaos.Action
	for _, a := range s.Chaos {
		as = append(as, a.Chaos())
	}
	return as
}
