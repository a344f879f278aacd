package cloudwatch

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/events"
)

// Publisher takes the events the service emits; *events.Bus is one.
type Publisher interface{ Publish(events.Event) }

// tick is how often the loop wakes, in AWS time: the shortest cadence.
const tick = 10 * time.Second

// AlarmStateChanged is published on every alarm state change.
type AlarmStateChanged struct {
	Alarm      string    `json:"alarm"`
	From       State     `json:"from"`
	To         State     `json:"to"`
	Reason     Reason    `json:"reason"`
	Time       time.Time `json:"time"` // AWS time of the evaluation
	Namespace  string    `json:"namespace"`
	MetricName string    `json:"metricName"`
	Statistic  string    `json:"statistic"`
}

func (AlarmStateChanged) Kind() string { return "alarm" }

// Message: Alarm "AlarmHigh" changed from OK to ALARM: Threshold Crossed: ...
func (e AlarmStateChanged) Message() string {
	return fmt.Sprintf("Alarm %q changed from %s to %s: %s", e.Alarm, e.From, e.To, e.Reason.Text)
}

// Evaluation is what one evaluation of an alarm saw and decided.
type Evaluation struct {
	Alarm    string
	Time     time.Time // AWS time of the evaluation
	Previous State
	State    State
	Changed  bool
	Reason   Reason
	Points   []Point // the evaluation range, oldest first
	// Act says whether the alarm's action runs at this evaluation. While
	// the alarm stays in ALARM, at most once a minute, as CloudWatch re-runs
	// an Auto Scaling action (high-resolution alarms are evaluated every
	// 10 s but do not act every 10 s); on a change into ALARM, and in any
	// other state, always (the group then drops what the alarm asked for).
	Act bool
}

// actionEvery is how often CloudWatch re-runs an alarm's Auto Scaling
// action while the alarm stays in ALARM.
const actionEvery = time.Minute

// Alarm is a metric alarm owned by a Service.
type Alarm struct {
	cfg AlarmConfig

	mu      sync.Mutex
	state   State
	reason  Reason
	updated time.Time
	last    time.Time // the cadence slot last evaluated
	acted   time.Time // when the actions last ran in ALARM
	subs    []func(State, Evaluation)
}

// Config is the alarm's configuration.
func (a *Alarm) Config() AlarmConfig { return a.cfg }

// Name is the alarm's name.
func (a *Alarm) Name() string { return a.cfg.Name }

// State is the alarm's current state.
func (a *Alarm) State() State {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.state
}

// StateReason is the reason of the last state change and when it happened.
func (a *Alarm) StateReason() (Reason, time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.reason, a.updated
}

// OnEvaluate calls f after every evaluation, changed or not, on the
// service's goroutine: AWS re-invokes Auto Scaling actions for every
// period an alarm stays in ALARM. f must not block.
func (a *Alarm) OnEvaluate(f func(State, Evaluation)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.subs = append(a.subs, f)
}

// cadence is how often AWS evaluates the alarm: every minute, or every
// period for 10 s and 30 s high-resolution alarms.
func (a *Alarm) cadence() time.Duration { return min(a.cfg.Period, time.Minute) }

// Service evaluates alarms against a Store on the lab's clock.
type Service struct {
	store *Store
	clock clock.Clock
	pub   Publisher

	mu     sync.Mutex
	alarms []*Alarm

	startOnce sync.Once
	closeOnce sync.Once
	cancel    context.CancelFunc
	done      chan struct{}
}

// NewService returns a service reading store, timed by c, publishing to pub
// (nil publishes nothing).
func NewService(store *Store, c clock.Clock, pub Publisher) *Service {
	return &Service{store: store, clock: c, pub: pub, done: make(chan struct{})}
}

// AddAlarm validates cfg and adds the alarm in INSUFFICIENT_DATA.
func (s *Service) AddAlarm(cfg AlarmConfig) (*Alarm, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if span := time.Duration(cfg.EvaluationRange()) * cfg.Period; span > s.store.Retention() {
		return nil, fmt.Errorf("alarm %q: EvaluationPeriods × Period needs %v of data; the metric store keeps %v", cfg.Name, span, s.store.Retention())
	}
	cfg.Dimensions = Dims(flatten(cfg.Dimensions)...)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.alarms {
		if a.cfg.Name == cfg.Name {
			return nil, fmt.Errorf("alarm %q: AlarmName is already used by another alarm", cfg.Name)
		}
	}
	now := s.clock.Now()
	a := &Alarm{cfg: cfg, state: StateInsufficientData, updated: now}
	a.last = AlignPeriod(now, a.cadence()) // first due at the next slot
	s.alarms = append(s.alarms, a)
	return a, nil
}

func flatten(d Dimensions) []string {
	out := make([]string, 0, 2*len(d))
	for _, x := range d {
		out = append(out, x.Name, x.Value)
	}
	return out
}

// Alarms lists the alarms in the order they were added.
func (s *Service) Alarms() []*Alarm {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Alarm(nil), s.alarms...)
}

// EvaluateAll evaluates every alarm once at now: the step the loop runs.
func (s *Service) EvaluateAll(now time.Time) { s.evaluate(now, false) }

func (s *Service) evaluate(now time.Time, onlyDue bool) {
	for _, a := range s.Alarms() {
		slot := AlignPeriod(now, a.cadence())
		a.mu.Lock()
		due := slot.After(a.last)
		if due {
			a.last = slot
		}
		a.mu.Unlock()
		if due || !onlyDue {
			s.evaluateAlarm(a, now)
		}
	}
}

// evaluateAlarm runs Evaluate over the alarm's evaluation range: the last
// complete periods before now (the period in progress is not evaluated).
func (s *Service) evaluateAlarm(a *Alarm, now time.Time) {
	cfg := a.cfg
	points := s.rangePoints(a, now)

	a.mu.Lock()
	prev := a.state
	next, reason := Evaluate(cfg, prev, points)
	changed := next != prev
	if changed {
		a.state, a.reason, a.updated = next, reason, now
	}
	act := changed || next != StateAlarm || now.Sub(a.acted) >= actionEvery
	if act && next == StateAlarm {
		a.acted = now
	}
	subs := append([]func(State, Evaluation){}, a.subs...)
	a.mu.Unlock()

	if changed && s.pub != nil {
		s.pub.Publish(AlarmStateChanged{
			Alarm: cfg.Name, From: prev, To: next, Reason: reason, Time: now,
			Namespace: cfg.Namespace, MetricName: cfg.MetricName, Statistic: cfg.Statistic,
		})
	}
	ev := Evaluation{Alarm: cfg.Name, Time: now, Previous: prev, State: next, Changed: changed, Reason: reason, Points: points, Act: act}
	for _, f := range subs {
		f(next, ev)
	}
}

// rangePoints fetches the evaluation range (widened by the metric's
// publication lag: Publication.Lag), oldest first, with missing
// periods marked: the complete periods before now, ending at the alarm's
// cadence slot, so that an alarm with a period over a minute is evaluated
// every minute over a window that slides by one minute. Only datapoints
// already published at now are seen (Store.Window): a breach reaches the
// alarm a publication delay after its period ends.
func (s *Service) rangePoints(a *Alarm, now time.Time) []Point {
	cfg := a.cfg
	n := cfg.EvaluationRange() + s.store.PublicationOf(cfg.Namespace).Lag(cfg.Period)
	return s.store.Window(cfg.Query(), AlignPeriod(now, a.cadence()), n, now)
}

// Run evaluates alarms on their cadence until ctx ends. It wakes on every
// 10 s boundary of AWS time.
func (s *Service) Run(ctx context.Context) {
	for {
		now := s.clock.Now()
		wait := AlignPeriod(now, tick).Add(tick).Sub(now)
		select {
		case <-ctx.Done():
			return
		case at := <-s.clock.After(wait):
			s.evaluate(at, true)
		}
	}
}

// Start runs the loop on a goroutine the service owns until Close or ctx
// ends. Calling it again does nothing.
func (s *Service) Start(ctx context.Context) {
	s.startOnce.Do(func() {
		ctx, cancel := context.WithCancel(ctx)
		s.mu.Lock()
		s.cancel = cancel
		s.mu.Unlock()
		go func() {
			defer close(s.done)
			s.Run(ctx)
		}()
	})
}

// Close stops the loop and waits for it. Safe to call twice, and without Start.
func (s *Service) Close() {
	s.closeOnce.Do(func() {
		started := true
		s.startOnce.Do(func() { started = false })
		if !started {
			return
		}
		s.mu.Lock()
		cancel := s.cancel
		s.mu.Unlock()
		cancel()
		<-s.done
	})
}
