package tui

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/internal/compare"
	"github.com/simplydone/lab/internal/termtext"
	"github.com/simplydone/lab/lab"
	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/stack"
)

// historyLen is how many seconds of load the charts keep.
const historyLen = 600

// Aggregator gathers a run's events, its seconds of load and the running
// lab's observations (through the run's handle), and builds Snapshots. Its
// Event, Started, Second, Note and Finish methods are safe to call from any
// goroutine and only record; Snapshot does the work, on the aggregator's
// own goroutine (Run).
type Aggregator struct {
	sc    *scenarios.Scenario
	st    *stack.Stack
	speed float64

	mu        sync.Mutex
	run       liveRun // the running lab, once it is up
	wallStart time.Time
	awsStart  time.Time // the first event's AWS time
	pending   []Entry
	seconds   []lab.SecondRecord   // the last historyLen
	marks     []byte               // History.Marks of seconds
	mark      byte                 // the mark of the second under way
	lastRun   map[string]time.Time // when each policy last changed the desired capacity (AWS)
	live      liveSLO
	done      bool
	sum       *lab.Summary
	err       error

	hand handChaos // faults by hand (k, z)

	// the live socket, once the lab is up, if serving was asked for
	serve      bool
	srv        *Server
	servedDone bool // the last snapshot (Done) has gone out on it
}

// NewAggregator follows a run of sc on st at speed (0: the scenario's).
func NewAggregator(sc *scenarios.Scenario, st *stack.Stack, speed float64) *Aggregator {
	if speed == 0 {
		speed = sc.Speed
	}
	return &Aggregator{sc: sc, st: st, speed: speed, wallStart: time.Now(), live: newLiveSLO(sc.SLOs)}
}

// liveRun is the running lab as the view uses it: lab.Handle.
type liveRun interface {
	Observe() lab.Observation
	// Inject applies a fault through the run's one chaos runner and journal.
	Inject(ctx context.Context, a chaos.Action) error
	// Running counts the instances in a zone a fault there would act on.
	Running(zone string) int
	Now() time.Time // AWS time
	Dir() string
}

// Hook sets o's Subscribers, OnHandle and OnSecond (keeping any already
// set) and takes its Console away, so that the aggregator sees the whole
// run (the lab's notes are events on the bus) and nothing writes over the
// view.
func (a *Aggregator) Hook(o *lab.RunOptions) {
	a.hook(o)
	o.Console = nil
}

// hook sets o's Subscribers, OnHandle and OnSecond, keeping any already set.
func (a *Aggregator) hook(o *lab.RunOptions) {
	o.Subscribers = append(o.Subscribers, a.Event)
	prevHandle, prevSecond := o.OnHandle, o.OnSecond
	o.OnHandle = func(h *lab.Handle) {
		if prevHandle != nil {
			prevHandle(h)
		}
		a.Started(h)
	}
	o.OnSecond = func(r lab.SecondRecord) {
		if prevSecond != nil {
			prevSecond(r)
		}
		a.Second(r)
	}
}

// Event is a bus subscriber.
func (a *Aggregator) Event(e events.Envelope) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.awsStart.IsZero() {
		a.awsStart = e.Time
	}
	if ev, ok := lab.ScaleChangeOf(e.Event); ok {
		if ev.Policy != "" {
			a.live.scaled(ev.To > ev.From)
			if a.lastRun == nil {
				a.lastRun = map[string]time.Time{}
			}
			a.lastRun[ev.Policy] = e.Time
		}
		switch {
		case ev.To > ev.From:
			a.addMark(MarkScaleOut)
		case ev.To < ev.From:
			a.addMark(MarkScaleIn)
		}
	}
	if _, ok := e.Event.(chaos.FaultInjected); ok {
		a.addMark(MarkFault)
	}
	en := Entry{Seq: e.Seq, At: e.Time.Sub(a.awsStart), Class: classOf(e.Kind), Text: termtext.Line(e.Message()), Event: e.Event}
	if en.Class == ClassChaos && a.isManual(e.Event) {
		en.Manual = true
		en.Text += " [by hand]"
	}
	a.pending = append(a.pending, en)
}

// addMark marks the second under way; a fault outranks a scale-out, which
// outranks a scale-in. a.mu must be held.
func (a *Aggregator) addMark(m byte) {
	rank := func(b byte) int { return strings.IndexByte(" -+!", b) }
	if a.mark == 0 || rank(m) > rank(a.mark) {
		a.mark = m
	}
}

// Started is RunOptions.OnHandle.
func (a *Aggregator) Started(h *lab.Handle) { a.started(h) }

func (a *Aggregator) started(r liveRun) {
	a.mu.Lock()
	a.run = r
	serve := a.serve
	a.mu.Unlock()
	if !serve {
		return
	}
	srv, err := Listen(r.Dir())
	if err != nil {
		a.Note("lab watch cannot attach: " + err.Error())
		return
	}
	a.mu.Lock()
	a.srv = srv
	a.mu.Unlock()
}

// Second is RunOptions.OnSecond.
func (a *Aggregator) Second(r lab.SecondRecord) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seconds = append(a.seconds, r)
	if a.mark == 0 {
		a.mark = MarkNone
	}
	a.marks = append(a.marks, a.mark)
	a.mark = 0
	if len(a.seconds) > historyLen {
		a.seconds = append(a.seconds[:0], a.seconds[len(a.seconds)-historyLen:]...)
		a.marks = append(a.marks[:0], a.marks[len(a.marks)-historyLen:]...)
	}
	a.live.add(r)
}

// Note adds one of the view's own lines (not an event) to the log.
func (a *Aggregator) Note(line string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var at time.Duration
	if a.run != nil && !a.awsStart.IsZero() {
		at = a.run.Now().Sub(a.awsStart)
	}
	a.pending = append(a.pending, Entry{At: at, Class: ClassLoad, Text: line})
}

// Finish records the run's end: lab.Run's result.
func (a *Aggregator) Finish(sum *lab.Summary, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.done, a.sum, a.err = true, sum, err
}

// Run sends a Snapshot every interval until ctx ends, and one last one
// when the run has finished; then it returns.
func (a *Aggregator) Run(ctx context.Context, every time.Duration, send func(Snapshot)) {
	tk := time.NewTicker(every)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
		s := a.Snapshot()
		send(s)
		a.publish(s)
		if s.Done {
			return
		}
	}
}

// Snapshot builds the view's data now.
func (a *Aggregator) Snapshot() Snapshot {
	a.mu.Lock()
	run, done := a.run, a.done
	s := Snapshot{Scenario: a.sc.Name, Stack: a.st.Name, Speed: a.speed, Wall: time.Since(a.wallStart), Events: a.pending, Done: done}
	a.pending = nil
	if n := len(a.seconds); n > 0 {
		last := a.seconds[n-1]
		s.Phase, s.Offered, s.Achieved = last.Phase, last.Offered, float64(last.Sent)
		s.History = history(a.seconds, a.marks)
	}
	if done {
		if a.sum != nil {
			s.Verdict, s.Reason = a.sum.Verdict, a.sum.Reason
		} else if a.err != nil {
			s.Verdict, s.Reason = lab.Fail, a.err.Error()
		}
		s.Wall = time.Duration(0)
		if a.sum != nil {
			s.Wall = time.Duration(a.sum.WallSeconds * float64(time.Second))
			s.AWS = time.Duration(a.sum.AWSSeconds * float64(time.Second))
		}
	}
	awsStart := a.awsStart
	lastRun := make(map[string]time.Time, len(a.lastRun))
	for k, v := range a.lastRun {
		lastRun[k] = v
	}
	a.mu.Unlock()

	if run != nil {
		o := run.Observe()
		s.Up = true
		if !done {
			s.AWS = o.Time.Sub(awsStart)
		}
		fromObservation(&s, o, a.st, lastRun)
	}
	a.mu.Lock()
	total := s.Group.InService
	a.live.inService(total, len(a.seconds) > 0 && !done)
	s.SLOs = a.live.badges(done, a.sum)
	a.mu.Unlock()
	return s
}

func history(rs []lab.SecondRecord, marks []byte) History {
	n := len(rs)
	h := History{Offered: make([]float64, n), OK: make([]float64, n), Errors: make([]float64, n), P99: make([]float64, n),
		P50: make([]float64, n), InService: map[string][]float64{}, Marks: string(marks)}
	for i, r := range rs {
		bad := r.Err5xx + r.Transport
		h.Offered[i], h.OK[i], h.Errors[i], h.P99[i], h.P50[i] = r.Offered, float64(r.Sent-bad), float64(bad), r.P99, r.P50
		for z, c := range r.InService {
			if h.InService[z] == nil {
				h.InService[z] = make([]float64, n)
			}
			h.InService[z][i] = float64(c)
		}
	}
	return h
}

// alarmPolicies maps each alarm's name to the stack's policy it drives: a
// simple or step policy's alarm bears its name; target tracking builds
// TargetTracking-<group>-AlarmHigh-<policy> and -AlarmLow-.
//
// On a stack with services, each service's policies, its group named as
// the service.
func alarmPolicies(st *stack.Stack, now time.Time, lastRun map[string]time.Time) map[string]*AlarmPolicy {
	out := map[string]*AlarmPolicy{}
	for _, sv := range st.ServiceList() {
		servicePolicies(out, sv, now, lastRun)
	}
	return out
}

func servicePolicies(out map[string]*AlarmPolicy, sv stack.Service, now time.Time, lastRun map[string]time.Time) {
	for _, p := range sv.ScalingPolicies {
		ap := &AlarmPolicy{Name: p.Name, Type: p.PolicyType, AdjustmentType: p.AdjustmentType, Adjustment: p.ScalingAdjustment,
			MinAdjustment: p.MinAdjustmentMagnitude}
		if p.PolicyType == stack.TargetTrackingScaling {
			if p.TargetTracking == nil {
				continue
			}
			high, low := *ap, *ap
			high.High = true
			low.NoScaleIn = p.TargetTracking.DisableScaleIn
			out["TargetTracking-"+sv.Name+"-AlarmHigh-"+p.Name] = &high
			out["TargetTracking-"+sv.Name+"-AlarmLow-"+p.Name] = &low
			continue
		}
		if p.Alarm == nil {
			continue
		}
		ap.Threshold = p.Alarm.Threshold
		for _, s := range p.StepAdjustments {
			ap.Steps = append(ap.Steps, PolicyStep{Lower: s.LowerBound, Upper: s.UpperBound, Adjustment: s.ScalingAdjustment})
		}
		if t, ok := lastRun[p.Name]; ok && p.PolicyType == stack.SimpleScaling {
			cd := sv.AutoScalingGroup.DefaultCooldown
			if p.Cooldown != nil {
				cd = *p.Cooldown
			}
			ap.CooldownLeft = max(t.Add(cd).Sub(now), 0)
		}
		out[p.Name] = ap
	}
}

// fromObservation fills the view's group, zones, instances and alarms from
// an observation of the running lab.
func fromObservation(s *Snapshot, o lab.Observation, st *stack.Stack, lastRun map[string]time.Time) {
	now := o.Time
	s.Group = Group{Name: st.Name, Min: st.AutoScalingGroup.MinSize, Max: st.AutoScalingGroup.MaxSize, Desired: o.Group.Desired}
	if len(o.Services) > 0 { // several services: the groups summed, and each (lab/services.go)
		s.Group.Min, s.Group.Max, s.Group.Services = o.Group.Min, o.Group.Max, o.Services
	}
	s.Database = o.Database
	byZone := map[string]*Zone{}
	for _, z := range o.Zones {
		s.Zones = append(s.Zones, Zone{Name: z.Name})
	}
	for i := range s.Zones {
		byZone[s.Zones[i].Name] = &s.Zones[i]
	}
	up := map[string]bool{}
	for _, oz := range o.Zones {
		n := oz.Node
		if n == nil {
			continue
		}
		z := byZone[oz.Name]
		z.Node.Addr, z.Node.Healthy, z.Node.Unhealthy = n.Addr, n.Healthy, n.Unhealthy
		up[oz.Name] = n.Up
		z.Node.Down = !n.Up
		z.Node.FailOpen = n.FailOpen
		if o.DNS != nil { // the DNS entry and the nodes' cluster are up
			z.Node.DNS = DNSOut
			if n.InDNS {
				z.Node.DNS = DNSIn
			}
		}
	}
	differ := viewsDiffer(o.Disagreements)
	for _, in := range o.Instances {
		switch in.State {
		case lab.StateInService:
			s.Group.InService++
			if now.Before(in.WarmUntil) {
				s.Group.Warming++
			}
		case lab.StatePending:
			s.Group.Pending++
			s.Group.Warming++
		case lab.StateTerminating:
			s.Group.Off++
		}
		z := byZone[in.Zone]
		if z == nil {
			continue
		}
		iv := Instance{ID: in.ID, State: in.State, Views: differ[in.ID], CPU: in.CPU, HasCPU: in.HasCPU}
		for zone, h := range in.Health {
			if !up[zone] {
				continue // a stopped node's view is frozen
			}
			iv.Nodes++
			if h.State == "healthy" {
				iv.HealthyOn++
			}
		}
		if h, ok := ownView(in.Health, in.Zone, up, o.Zones); ok {
			iv.Health, iv.Reason, iv.Description = h.State, h.Reason, h.Description
		}
		z.Instances = append(z.Instances, iv)
	}
	for i := range s.Zones {
		z := &s.Zones[i]
		sort.Slice(z.Instances, func(a, b int) bool { return z.Instances[a].ID < z.Instances[b].ID })
	}
	policies := alarmPolicies(st, now, lastRun)
	for _, al := range o.Alarms {
		v := Alarm{Name: al.Name, State: al.State, Metric: al.Metric, Comparison: operatorSymbol(al.Comparison), Threshold: al.Threshold,
			Reason: al.Reason, Value: al.Value, HasValue: al.HasValue, Policy: policies[al.Name]}
		if v.Policy != nil && v.Policy.Type != stack.TargetTrackingScaling {
			v.Policy.Threshold = al.Threshold
		}
		if al.Namespace == rdsNamespace {
			v.Metric = "RDS " + v.Metric // a DB instance's metric, not the group's
		}
		s.Alarms = append(s.Alarms, v)
		if al.Metric == lab.MetricCPUUtilization && al.Namespace != rdsNamespace {
			s.CPUThresholds = append(s.CPUThresholds, al.Threshold)
		}
	}
}

// ownView is the target's health as its own zone's node sees it, or, while
// that node is down, as the first live node sees it.
func ownView(views map[string]lab.TargetHealth, zone string, up map[string]bool, zones []lab.ZoneState) (lab.TargetHealth, bool) {
	if h, ok := views[zone]; ok && up[zone] {
		return h, true
	}
	for _, z := range zones {
		if h, ok := views[z.Name]; ok && up[z.Name] {
			return h, true
		}
	}
	h, ok := views[zone]
	return h, ok
}

// viewsDiffer is, for each target the live nodes' gossiped views do not
// agree on, every live node's state of it ("" where a node has none).
func viewsDiffer(ds []lab.Disagreement) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, d := range ds {
		out[d.Target] = d.States
	}
	return out
}

// operatorSymbol is a CloudWatch ComparisonOperator as its symbol (">="),
// or the name itself if it is none.
func operatorSymbol(op string) string {
	if o, ok := compare.ParseName(op); ok {
		return o.Symbol()
	}
	return op
}

func classOf(kind string) int {
	switch kind {
	case "target-health", "lb":
		return ClassHealth
	case "scaling", "instance":
		return ClassScaling
	case "alarm":
		return ClassAlarms
	case "chaos", "database": // an RDS event: a failover, which a fault sets off
		return ClassChaos
	}
	return ClassLoad
}

// noteWriter is the run's Logger while the view is up: each line it
// writes becomes a note in the log.
type noteWriter struct {
	a   *Aggregator
	mu  sync.Mutex
	buf []byte
}

func (w *noteWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := strings.IndexByte(string(w.buf), '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(w.buf[:i])
		w.buf = w.buf[i+1:]
		if line != "" {
			w.a.Note(line)
		}
	}
}
