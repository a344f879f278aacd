package scenarios

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/internal/yamlcheck"
	"github.com/simplydone/lab/sim/entry"
	"github.com/simplydone/lab/stack"
)

// DefaultClient is the load generator's client when the file gives none:
// one that tries the next address, as Go's dialer, browsers and curl do.
const DefaultClient = entry.NextAddress

// Scenario is one rehearsal: what happens to a stack, and how to judge it.
// Durations are AWS time unless said otherwise.
type Scenario struct {
	Name        string
	Description string // one line, for `lab scenarios`
	Stack       string // a built-in stack name, or a path relative to the scenario file
	// StackWithoutPostgreSQL (stack_without_postgresql) is the stack to
	// run instead where the stack has a database and this host has no
	// PostgreSQL server: the same tier with SimplyDone's embedded store.
	StackWithoutPostgreSQL string

	Speed  float64       // AWS seconds per wall second: 10 runs a 30-minute scenario in 3 wall minutes
	Seed   uint64        // seeds every random choice (request mix, chaos targets)
	MaxLag time.Duration // wall time: the run is INVALID if the load generator's p99 lag exceeds it
	// CapacityScale (capacity_scale) multiplies every instance's CPU share
	// and every request's CPU cost (SimplyDone's SIMPLYDONE_CPU_COST), so
	// the tier behaves as at full size while the host spends that fraction
	// of the CPU. 1 (the default): full size.
	CapacityScale float64

	Load           LoadProfile
	Chaos          []ChaosAction    // in file order; At counts from the start of the load
	SLOs           []SLO            // all must pass for the verdict PASS
	StopConditions []SLO            // evaluated live over the last 10 wall seconds; one holding (for its For) stops the run (FAIL)
	Actions        []OperatorAction // the operator's timeline (deploys), in file order
	Expect         string           // PASS (default) or FAIL: a scenario that demonstrates a failure

	// The blast radius: chaos refuses a fault that would take more
	// instances or zones down at once (0: no limit).
	MaxDownInstances int
	MaxDownZones     int

	File   string // where the scenario came from ("builtin/flash-sale.yaml" for a built-in)
	Source []byte // the YAML as given

	stackAt    yamlcheck.Error // where the file says stack:, for ResolveStack's errors
	fallbackAt yamlcheck.Error // where it says stack_without_postgresql:
}

// LoadProfile is the traffic the load generator sends through the ALB.
type LoadProfile struct {
	Mix    Mix
	Phases []Phase // played in order, back to back
	// Client is how the load generator's clients use the addresses the load
	// balancer's name resolves to: entry.NextAddress (the default: a
	// connection refused or timed out is tried on the next address, as Go's
	// dialer, browsers and curl do) or entry.OneAddress (no retry: a dead
	// cached address fails until the DNS TTL ends).
	Client string
	// ThinkTime is the users phases' think time where a phase gives none
	// (load.think_time; DefaultThinkTime when the file gives none).
	ThinkTime time.Duration
	// Users is, for phases that give rates, how many virtual users send
	// the requests, each with its own cookies (load.users); 0: the lab's
	// choice (500 with sticky sessions or cart requests, else none).
	Users int
	// Generators names where the load is sent from (load.generators):
	// Controller (this host) and zones of the stack whose agent takes a
	// share (generators.go); the load is split evenly among them. Empty:
	// the controller alone.
	Generators []string
}

// Closed reports whether the profile counts users (the closed model).
func (l LoadProfile) Closed() bool { return len(l.Phases) > 0 && l.Phases[0].Users }

// PeakUsers is the most virtual users the profile has live at once (0 for
// a profile of rates).
func (l LoadProfile) PeakUsers() int {
	peak := 0.0
	for _, p := range l.Phases {
		if p.Users {
			peak = max(peak, p.From, p.To)
		}
	}
	return int(peak)
}

// Mix weighs the request kinds of the SimplyDone workload. A scenario
// without a mix gets 50/20/20/10; a mix in the file gives 0 to the kinds it
// leaves out.
type Mix struct {
	List, Create, Get, Done int
	// Cart and AddToCart weigh the cart's requests (each user's session
	// state); they need virtual users: users phases, or sticky sessions.
	Cart, AddToCart int
}

// Total is the sum of the weights.
func (m Mix) Total() int { return m.List + m.Create + m.Get + m.Done + m.Cart + m.AddToCart }

// Phase is a stretch of the load profile. The rate goes linearly from From
// to To (real requests per wall second) over Duration (AWS time); a steady
// phase (rate: x in the file) has From == To.
type Phase struct {
	Name     string
	Duration time.Duration
	From, To float64
	// Users (users: in the file) makes From and To counts of concurrent
	// virtual users, the closed model: each user sends a request, waits for
	// the answer, thinks for about ThinkTime (AWS time; uniform within
	// +-50% of it) and sends the next, so a slow tier gets fewer requests.
	// A profile's phases all give rates or all give users.
	Users     bool
	ThinkTime time.Duration
}

// RateAt is the phase's rate (requests per wall second) at elapsed AWS time
// into it.
func (p Phase) RateAt(elapsed time.Duration) float64 {
	if p.Duration <= 0 || elapsed <= 0 {
		return p.From
	}
	if elapsed >= p.Duration {
		return p.To
	}
	return p.From + (p.To-p.From)*float64(elapsed)/float64(p.Duration)
}

// The chaos actions' names (kill-instance, az-outage, ...) are chaos's:
// chaos.KillInstance and the rest, listed in chaos.Kinds.

// Target chooses instances among the run's running ones (in the action's
// zone when it has one). At most one of IDs, Count and Percent.
type Target struct {
	IDs     []string
	Count   int
	Percent float64
	Pick    string // chaos.OrderRandom (default, seeded), chaos.OrderOldest, chaos.OrderNewest
}

// DefaultStatus is http-error's status when the file gives none: chaos's.
const DefaultStatus = chaos.DefaultStatus

// ChaosAction is one fault on the timeline, in the file's words; Chaos
// hands it to chaos.
type ChaosAction struct {
	At       time.Duration // from the start of the load
	Action   string        // one of the chaos actions
	Zone     string        // "" = any zone (all zones for http-error and latency); the instance is picked with the scenario's seed
	Duration time.Duration // every action but kill-instance: how long the fault lasts
	Percent  float64       // http-error, latency: share of requests hit, 0 < percent <= 100 (default 100)
	Status   int           // http-error: 500 to 599 (default 503)
	Latency  time.Duration // latency: added before forwarding, request (wall) time
	Jitter   time.Duration // latency: ± this much, uniform; at most Latency

	After       string        // an event, "desired_capacity >= 4": At counts from when it first holds
	Every       time.Duration // repeat this long after each time
	EveryJitter time.Duration // ± this much, seeded; below Every
	Repeat      int           // how many times in all (with Every; 0: until the load ends)
	Target      *Target       // which instances; nil: one at random (all of Zone's targets for request faults)
	Count       int           // http-error: only the first Count requests fail
	Bandwidth   int64         // bandwidth: bytes per second
	BlackholeAt time.Duration // az-outage: how long its subnets are cut off (0: FIS's 2 minutes, chaos.FISBlackhole)
	LBNode      string        // az-outage: chaos.LBNodeUp (default, as FIS) or chaos.LBNodeDown (a harsher test)
	MeanGap     time.Duration // monkey
	MinGap      time.Duration // monkey
	DBInstance  string        // db-failover, kill-db, replica-lag, db-connections: primary, replica or a DB instance's identifier ("": the kind's default)
	Connections int           // db-connections: how many connections the leaky client holds, 1 up to the DB instance's max_connections
}

// TotalDuration is the AWS time the load profile lasts.
func (s *Scenario) TotalDuration() time.Duration {
	var total time.Duration
	for _, p := range s.Load.Phases {
		total += p.Duration
	}
	return total
}

// ResolveStack returns the scenario's stack: the built-in of that name, or
// the stack file at that path, relative to the scenario file. Problems are
// reported at the scenario's stack: line; a stack file that does not
// validate also gives its own errors (errors.As finds *stack.Errors).
func (s *Scenario) ResolveStack() (*stack.Stack, error) {
	at := s.stackAt
	if at.File == "" {
		at = yamlcheck.Error{File: s.File, Field: "stack"}
	}
	builtins := strings.Join(stack.BuiltinNames(), ", ")
	if s.Stack == "" {
		at.Msg = "missing; give a built-in stack (" + builtins + ") or the path of a stack file"
		return nil, at
	}
	if slices.Contains(stack.BuiltinNames(), s.Stack) {
		return stack.Builtin(s.Stack)
	}
	path := s.stackPath()
	if msg := s.stackOutside(); msg != "" {
		at.Msg = msg
		return nil, at
	}
	st, err := stack.Load(path)
	var errs *stack.Errors
	switch {
	case err == nil:
		return st, nil
	case errors.Is(err, fs.ErrNotExist):
		at.Msg = fmt.Sprintf("%q is not a built-in stack (%s) and there is no file %s", s.Stack, builtins, path)
		return nil, at
	case errors.As(err, &errs):
		at.Msg = fmt.Sprintf("the stack file %s is not valid (%d problem(s) below)", path, len(errs.List))
		return nil, fmt.Errorf("%w\n%w", at, err)
	default:
		at.Msg = fmt.Sprintf("cannot read %s: %v", path, errors.Unwrap(err))
		return nil, at
	}
}

// stackPath is where a stack that is not a built-in lives.
func (s *Scenario) stackPath() string {
	if filepath.IsAbs(s.Stack) {
		return s.Stack
	}
	return filepath.Join(filepath.Dir(s.File), s.Stack)
}

// stackOutside says why the scenario's stack path is refused, or "" when it
// stays inside the scenario's directory. A scenario is often a file someone
// else wrote; its stack: must not read files elsewhere on the host (../../
// or an absolute path, or a symbolic link leading out).
func (s *Scenario) stackOutside() string {
	dir := filepath.Dir(s.File)
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Sprintf("cannot place the scenario's directory %s: %v", dir, err)
	}
	path, err := filepath.Abs(s.stackPath())
	if err != nil {
		return fmt.Sprintf("cannot place %q: %v", s.Stack, err)
	}
	outside := func(dir, path string) bool {
		rel, err := filepath.Rel(dir, path)
		return err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel)
	}
	if outside(absDir, path) {
		return fmt.Sprintf("%q is outside the scenario's directory %s; give a built-in stack (%s) or a stack file in that directory or below it, by a path relative to the scenario",
			s.Stack, absDir, strings.Join(stack.BuiltinNames(), ", "))
	}
	realDir, derr := filepath.EvalSymlinks(absDir)
	realPath, perr := filepath.EvalSymlinks(path)
	if derr == nil && perr == nil && outside(realDir, realPath) {
		return fmt.Sprintf("%q leads outside the scenario's directory %s through a symbolic link; copy the stack file into that directory", s.Stack, absDir)
	}
	return ""
}
