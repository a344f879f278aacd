package scenarios

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/internal/yamlcheck"
	"github.com/simplydone/lab/sim/entry"
	"github.com/simplydone/lab/stack"
)

// Limits of what a scenario may ask for.
const (
	MinSpeed, MaxSpeed = 1, 1000
	MaxRate            = 100000 // requests per wall second
	// MaxDuration bounds the load's total length in AWS time: the run keeps
	// a record per wall second and the host runs it all that time (at speed
	// 1 a day of wall time).
	MaxDuration = 24 * time.Hour
)

// MinCapacityScale is the smallest capacity_scale: below it a t3.nano's
// share would need CFS periods longer than the kernel allows to be exact,
// and throttling slices coarse enough to be seen as latency.
const MinCapacityScale = 0.05

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// validate checks a decoded scenario. Fields that already failed to decode
// are skipped (Errf reports one problem per field).
func (p parser) validate(s *Scenario) {
	switch {
	case !p.Has("name"):
		p.Errf("name", "missing; name the scenario (letters, digits, '.', '_' and '-')")
	case !validName.MatchString(s.Name):
		p.Errf("name", "%q is not a valid name; use 1-64 letters, digits, '.', '_' and '-', starting with a letter or digit", s.Name)
	}
	builtins := strings.Join(stack.BuiltinNames(), ", ")
	switch {
	case !p.Has("stack"):
		p.Errf("stack", "missing; give a built-in stack (%s) or the path of a stack file", builtins)
	case strings.TrimSpace(s.Stack) == "":
		p.Errf("stack", "empty; give a built-in stack (%s) or the path of a stack file", builtins)
	case !slices.Contains(stack.BuiltinNames(), s.Stack) && s.stackOutside() != "":
		p.Errf("stack", "%s", s.stackOutside())
	}
	if s.Speed < MinSpeed || s.Speed > MaxSpeed {
		p.Errf("speed", "%s is not allowed; use %d to %d (AWS seconds per wall second)", fmtNum(s.Speed), MinSpeed, MaxSpeed)
	}
	if f := "capacity_scale"; p.Has(f) && !p.Bad(f) && (s.CapacityScale < MinCapacityScale || s.CapacityScale > 1) {
		p.Errf(f, "%s is not allowed; use %g to 1, the factor on every instance's CPU share and every request's CPU cost (1: full size)", fmtNum(s.CapacityScale), MinCapacityScale)
	}
	if s.MaxLag <= 0 {
		p.Errf("max_lag", "%s is not above 0; give the wall-time lag the load generator may have at p99, such as 250ms", clock.Short(s.MaxLag))
	}
	p.validateLoad(s.Load)
	p.validateChaos(s)
	p.validateLimits(s)
	p.validateActions(s)
	if !p.Has("slos") {
		p.Errf("slos", "missing; give at least one SLO, such as success_rate >= 99%%")
	} else if len(s.SLOs) == 0 && !p.Bad("slos") && !p.anyBad("slos") {
		p.Errf("slos", "empty; give at least one SLO, such as success_rate >= 99%%")
	}
	p.validatePerHost(s)
	p.validateGenerators(s)
}

// anyBad reports whether some element of the list at path was reported.
func (p parser) anyBad(path string) bool {
	for i := 0; p.Has(yamlcheck.Index(path, i)); i++ {
		if p.Bad(yamlcheck.Index(path, i)) {
			return true
		}
	}
	return false
}

func (p parser) validateLoad(l LoadProfile) {
	const path = "load.phases"
	if !p.Has(path) {
		p.Errf(path, "missing; give at least one phase, such as {name: calm, duration: 5m, rate: 20}")
	} else if len(l.Phases) == 0 && !p.Bad(path) {
		p.Errf(path, "empty; give at least one phase, such as {name: calm, duration: 5m, rate: 20}")
	}
	names := map[string]int{}
	var total time.Duration
	for i, ph := range l.Phases {
		ipath := yamlcheck.Index(path, i)
		if j, dup := names[ph.Name]; dup {
			p.Errf(ipath+".name", "%s is already the name of %s; phase names must be unique", ph.Name, yamlcheck.Index(path, j))
		} else {
			names[ph.Name] = i
		}
		if !p.Has(ipath + ".duration") {
			p.Errf(ipath+".duration", "missing; give how long the phase lasts in AWS time, such as 5m")
		} else if ph.Duration <= 0 {
			p.Errf(ipath+".duration", "%s is not above 0; give how long the phase lasts in AWS time, such as 5m", clock.Short(ph.Duration))
		}
		if ph.Users {
			p.validateUsers(ipath, ph, l)
		} else {
			p.validateRates(ipath)
			p.notWithRates(ipath, i, l)
		}
		if ph.Duration > 0 && total <= MaxDuration {
			total += min(ph.Duration, MaxDuration+1) // no overflow, however many phases
			if total > MaxDuration {
				p.Errf(ipath+".duration", "%s takes the load to over %s in all (AWS time), the most a scenario may run; shorten the phases", clock.Short(ph.Duration), clock.Short(MaxDuration))
			}
		}
		if ph.Users {
		} else if p.Has(ipath + ".rate") {
			p.rateRange(ipath+".rate", ph.From)
		} else {
			p.rateRange(ipath+".from", ph.From)
			p.rateRange(ipath+".to", ph.To)
		}
	}
	if p.Has("load.client") && !p.Bad("load.client") && !slices.Contains(entry.Clients, l.Client) {
		p.Errf("load.client", "%s (next-address: a connection refused or timed out is tried on the next address, "+
			"as Go's dialer, browsers and curl do; one-address: no retry, a dead cached address fails until the DNS TTL ends)",
			yamlcheck.OneOfMsg(l.Client, entry.Clients))
	}
	switch {
	case !p.Has("load.users") || p.Bad("load.users"):
	case l.Closed():
		p.Errf("load.users", "not allowed when the phases count users; each users phase says how many (load.phases[0].users)")
	case l.Users < 1 || l.Users > MaxUsers:
		p.Errf("load.users", "%d is out of range; give 1 to %d virtual users to send the phases' rates", l.Users, MaxUsers)
	}
	m := l.Mix
	for _, w := range []struct {
		key string
		v   int
	}{{"list", m.List}, {"create", m.Create}, {"get", m.Get}, {"done", m.Done}, {"cart", m.Cart}, {"add_to_cart", m.AddToCart}} {
		if w.v < 0 {
			p.Errf("load.mix."+w.key, "%d is negative; weights are 0 or more", w.v)
		}
	}
	for _, w := range []struct {
		key string
		v   int
	}{{"cart", m.Cart}, {"add_to_cart", m.AddToCart}} {
		if w.v > 0 && !l.Closed() && len(l.Phases) > 0 {
			p.Errf("load.mix."+w.key, "%d needs phases that count users (users: N): a cart belongs to a user whose requests follow one another; "+
				"with rates, a user's requests overlap and two first requests can each get a session of their own", w.v)
		}
	}
	if m == (Mix{}) && p.Has("load.mix") {
		p.Errf("load.mix", "all weights are 0; give at least one of list, create, get, done, cart, add_to_cart a weight above 0")
	}
}

// MaxUsers bounds a users phase: each virtual user holds a goroutine and a
// cookie jar while it lives.
const MaxUsers = 100000

// MaxThinkTime bounds a think time (AWS time).
const MaxThinkTime = time.Hour

// validateUsers checks a users phase (the closed model): a count or a ramp
// of whole users, nothing of a rate with it, a sensible think time, and a
// profile whose phases all count users.
func (p parser) validateUsers(path string, ph Phase, l LoadProfile) {
	users := path + ".users"
	for _, key := range []string{"rate", "from", "to"} {
		if p.Has(path + "." + key) {
			p.Errf(path+"."+key, "given with users; a phase counts users (users: 500, or users: {from: 100, to: 10000}) or gives a rate, not both")
		}
	}
	if !l.Phases[0].Users {
		p.Errf(users, "the profile gives rates (load.phases[0]); give users in every phase or a rate in every phase")
	}
	ramp := p.Has(users+".from") || p.Has(users+".to")
	for _, f := range []struct {
		field string
		v     float64
		given bool
	}{{users, ph.From, !ramp}, {users + ".from", ph.From, ramp}, {users + ".to", ph.To, ramp}} {
		if f.given && p.Has(f.field) && !p.Bad(f.field) && (f.v < 0 || f.v > MaxUsers) {
			p.Errf(f.field, "%s is not allowed; use 0 to %d concurrent virtual users", fmtNum(f.v), MaxUsers)
		}
	}
	for _, f := range []string{path + ".think_time", "load.think_time"} {
		if !p.Has(f) || p.Bad(f) {
			continue
		}
		d := ph.ThinkTime
		if f == "load.think_time" {
			d = l.ThinkTime
		}
		if d < 0 || d > MaxThinkTime {
			p.Errf(f, "%s is not allowed; give a virtual user's mean pause between an answer and its next request, 0 to %s (AWS time), such as 5s", clock.Short(d), clock.Short(MaxThinkTime))
		}
	}
}

// notWithRates refuses what only users phases take in a phase of rates.
func (p parser) notWithRates(path string, i int, l LoadProfile) {
	if f := path + ".think_time"; p.Has(f) {
		p.Errf(f, "not allowed with a rate; think_time is the pause of virtual users (a phase with users:)")
	}
	if l.Closed() {
		field := path + ".rate"
		if !p.Has(field) && p.Has(path+".from") {
			field = path + ".from"
		}
		p.Errf(field, "the profile counts users (load.phases[0].users); give users in every phase or a rate in every phase")
	}
	if i == 0 && p.Has("load.think_time") && !l.Closed() {
		p.Errf("load.think_time", "not allowed when the phases give rates; think_time is the pause of virtual users (phases with users:)")
	}
}

// rateRange checks a rate the file gives.
func (p parser) rateRange(field string, v float64) {
	if p.Has(field) && (v < 0 || v > MaxRate) {
		p.Errf(field, "%s is not allowed; use 0 to %d requests per wall second", fmtNum(v), MaxRate)
	}
}

// validateRates checks that a phase has either rate, or from and to.
func (p parser) validateRates(path string) {
	rate, from, to := p.Has(path+".rate"), p.Has(path+".from"), p.Has(path+".to")
	switch {
	case rate && (from || to):
		key := "from"
		if !from {
			key = "to"
		}
		p.Errf(path+"."+key, "given with rate; use rate (a steady phase) or from and to (a ramp)")
	case rate:
	case !from && !to:
		p.Errf(path+".rate", "missing; give rate (a steady phase) or from and to (a ramp), in requests per wall second")
	case !from:
		p.Errf(path+".from", "missing; a ramp needs from and to")
	case !to:
		p.Errf(path+".to", "missing; a ramp needs from and to")
	}
}

func (p parser) validateChaos(s *Scenario) {
	total := s.TotalDuration()
	phasesOK := len(s.Load.Phases) > 0 // the total is known: every phase has a good duration
	for i, ph := range s.Load.Phases {
		field := yamlcheck.Index("load.phases", i) + ".duration"
		phasesOK = phasesOK && p.Has(field) && !p.Bad(field) && ph.Duration > 0
	}
	var zones []string // the stack's, when it is needed and can be loaded
	for _, a := range s.Chaos {
		if a.Zone != "" && zones == nil && !p.Bad("stack") {
			if st, err := s.ResolveStack(); err == nil {
				zones = st.Zones
			}
		}
	}
	p.validateDBConnections(s)
	for i, a := range s.Chaos {
		path := yamlcheck.Index("chaos", i)
		switch {
		case !p.Has(path+".at") && !p.Has(path+".after"):
			p.Errf(path+".at", "missing; give when the action happens, in AWS time from the start of the load, such as 10m")
		case a.At < 0:
			p.Errf(path+".at", "%s is negative; give a time from the start of the load, such as 10m", clock.Short(a.At))
		case phasesOK && a.At >= total:
			p.Errf(path+".at", "%s is not before the end of the load (%s); chaos must happen while the load runs", clock.Short(a.At), clock.Short(total))
		case phasesOK && a.Action == chaos.Monkey && a.At+a.Duration > total:
			p.Errf(path+".duration", "the monkey would be loose until %s, past the end of the load (%s)", clock.Short(a.At+a.Duration), clock.Short(total))
		}
		if !p.Has(path + ".action") {
			p.Errf(path+".action", "missing; use one of %s", strings.Join(chaos.Kinds, ", "))
		} else if p.OneOf(path+".action", a.Action, chaos.Kinds) {
			p.validateDuration(path, a)
			p.validateTimeline(path, a, total)
		}
		switch {
		case !p.Has(path + ".zone"):
		case strings.TrimSpace(a.Zone) == "":
			p.Errf(path+".zone", "empty; name a zone of the stack, or leave zone out for any zone")
		case zones != nil && !slices.Contains(zones, a.Zone):
			p.Errf(path+".zone", "%q is not a zone of stack %s; use one of %s", a.Zone, s.Stack, strings.Join(zones, ", "))
		}
	}
}

// lasts says what an action's duration is.
var lasts = map[string]string{
	chaos.StopInstance:      "the instance stays stopped",
	chaos.PauseInstance:     "the instance stays frozen",
	chaos.HTTPError:         "the load balancer injects errors",
	chaos.Latency:           "the load balancer adds latency",
	chaos.Bandwidth:         "responses are slowed",
	chaos.ConnectionReset:   "connections are reset",
	chaos.ConnectionTimeout: "connections hang",
	chaos.AZOutage:          "the zone's power stays out",
	chaos.AZPartition:       "the zone stays cut off",
	chaos.CPUHog:            "the CPU is burned",
	chaos.StoreOutage:       "the database stays locked",
	chaos.KillLBNode:        "the node stays down",
	chaos.Monkey:            "the monkey is loose",
	chaos.ReplicaLag:        "the replica's replication stays paused",
	chaos.DBConnections:     "the leaky client holds its connections",
}

// chaosFields says which action takes which optional field.
var chaosFields = map[string][]string{
	"percent": chaos.RequestKinds,
	"status":  {chaos.HTTPError},
	"latency": {chaos.Latency},
	"jitter":  {chaos.Latency},
}

// validateDuration checks an action's duration and its own fields, and
// refuses fields the action does not take.
func (p parser) validateDuration(path string, a ChaosAction) {
	field := path + ".duration"
	switch {
	case a.Action == chaos.KillInstance && p.Has(field):
		p.Errf(field, "not allowed with kill-instance (a killed instance does not come back); remove it, or use stop-instance")
	case (a.Action == chaos.KillDB || a.Action == chaos.DBFailover) && p.Has(field):
		p.Errf(field, "not allowed with %s: it is over once done (RDS fails over or recovers the DB instance in its own time); remove it", a.Action)
	case a.Action == chaos.RepointDatabase && p.Has(field):
		p.Errf(field, "not allowed with %s: the redeploy is over once its instance refresh has started (the group carries it out) and is not undone; remove it", a.Action)
	case a.Action == chaos.KillDB || a.Action == chaos.DBFailover || a.Action == chaos.RepointDatabase:
	case a.Action == chaos.Monkey:
		if p.Has(field) && !p.Bad(field) && a.Duration <= 0 {
			p.Errf(field, "%s is not above 0; give how long the monkey is loose, or leave it out for the rest of the load", clock.Short(a.Duration))
		}
	case a.Action != chaos.KillInstance && !p.Has(field):
		p.Errf(field, "missing; %s needs how long %s, such as 3m", a.Action, lasts[a.Action])
	case a.Action != chaos.KillInstance && !p.Bad(field) && a.Duration <= 0:
		p.Errf(field, "%s is not above 0; give how long %s, such as 3m", clock.Short(a.Duration), lasts[a.Action])
	}
	for _, key := range []string{"percent", "status", "latency", "jitter"} {
		if p.Has(path+"."+key) && !slices.Contains(chaosFields[key], a.Action) {
			p.Errf(path+"."+key, "not allowed with %s; only %s take %s", a.Action, andList(chaosFields[key]), key)
		}
	}
	switch a.Action {
	case chaos.HTTPError:
		if f := path + ".status"; p.Has(f) && !p.Bad(f) && (a.Status < 500 || a.Status > 599) {
			p.Errf(f, "%d is not allowed; use a 5xx status a target would answer, 500 to 599 (default %d)", a.Status, DefaultStatus)
		}
	case chaos.Latency:
		f := path + ".latency"
		switch {
		case !p.Has(f):
			p.Errf(f, "missing; latency needs the delay to add before forwarding, such as 200ms")
		case !p.Bad(f) && a.Latency <= 0:
			p.Errf(f, "%s is not above 0; give the delay to add before forwarding, such as 200ms", clock.Short(a.Latency))
		case !p.Bad(f) && a.Latency > time.Minute:
			p.Errf(f, "%s is too long; use at most 1m (request time)", clock.Short(a.Latency))
		}
		if j := path + ".jitter"; p.Has(j) && !p.Bad(j) && (a.Jitter < 0 || a.Jitter > a.Latency) {
			p.Errf(j, "%s is not allowed; use 0 up to the latency (%s)", clock.Short(a.Jitter), clock.Short(a.Latency))
		}
	case chaos.AZOutage:
		if !p.Has(path + ".zone") {
			p.Errf(path+".zone", "missing; az-outage needs the zone whose power goes out")
		}
	}
	if f := path + ".percent"; p.Has(f) && !p.Bad(f) && (a.Percent <= 0 || a.Percent > 100) {
		p.Errf(f, "%s is not allowed; use more than 0 and at most 100 (the share of requests hit)", fmtNum(a.Percent))
	}
}

// fmtNum writes a number as briefly as it can: 10, 2.5.
func fmtNum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// andList writes a, b and c.
func andList(xs []string) string {
	if len(xs) < 2 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}
