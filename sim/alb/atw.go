package alb

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simplydone/lab/internal/figures"
	"github.com/simplydone/lab/sim/az"
)

// Automatic Target Weights (ATW), as AWS documents it:
//
//   - anomaly detection is always on, on every node, once the node has at
//     least 3 healthy targets; it looks at 5xx responses from targets and
//     connection errors to them, and calls a target "anomalous" when its
//     error rate is disproportionate to its peers'; the result does not
//     change the target's health state;
//   - anomaly mitigation, with weighted_random and
//     load_balancing.algorithm.anomaly_mitigation on, re-weights every 5
//     seconds: an anomalous target's traffic is cut step by step to a small
//     share that keeps testing it, and ramped back up gradually to parity once
//     it is normal again.
//
// AWS does not document the thresholds or the weight curve. The lab's
// choices, all [choice, not documented]:
//
//   - a target's error rate is over the last atwWindow intervals (30 s);
//   - it is anomalous when it had at least atwMinRequests requests in the
//     window and its rate is at least atwMinExcess (10 points) above its
//     peers' pooled rate and at least atwRatio (2x) their rate; it is normal
//     again when the rule no longer holds over at least atwMinClear requests
//     (fewer requests: the last result stands);
//   - mitigation halves an anomalous target's weight every interval down to
//     atwFloor (5% of a normal target's), and adds atwUp (0.1) every interval
//     once it is normal; at most half of the node's targets are mitigated at
//     once (the worst first), so traffic is never moved away from every
//     target.
const (
	atwInterval    = 5 * time.Second
	atwWindow      = 6
	atwMinTargets  = 3
	atwMinRequests = 10
	atwMinClear    = 3
	atwMinExcess   = 0.10
	atwRatio       = 2.0
	atwFloor       = 0.05
	atwDown        = 0.5
	atwUp          = 0.1
)

// Anomaly detection results and mitigation states, in AWS's words
// (DescribeTargetHealth's AnomalyDetection).
const (
	AnomalyNormal    = "normal"
	AnomalyAnomalous = "anomalous"
	MitigationYes    = "yes"
	MitigationNo     = "no"
)

// AnomalyDetection is one node's anomaly result for one target.
type AnomalyDetection struct {
	Result             string  // normal or anomalous
	MitigationInEffect string  // yes or no
	Weight             float64 // the target's routing weight on this node; 1 is parity
}

// atwSample is what a node saw of one target over the window.
type atwSample struct {
	healthy          bool // healthy and routable on this node: a peer for detection
	requests, errors int64
}

// atwState is a target's detection result and weight.
type atwState struct {
	anomalous bool
	mitigated bool
	weight    float64
}

// judge is one ATW step, pure: from each target's window and its previous
// state, the new results and weights. mitigation says whether weights move.
func judge(samples []atwSample, prev []atwState, mitigation bool) []atwState {
	next := make([]atwState, len(samples))
	var peers int
	var totalReq, totalErr int64
	for _, s := range samples {
		if s.healthy {
			peers++
			totalReq += s.requests
			totalErr += s.errors
		}
	}
	type cand struct {
		i    int
		rate float64
	}
	var anomalous []cand
	for i, s := range samples {
		next[i] = atwState{weight: prev[i].weight}
		if !s.healthy || peers < atwMinTargets {
			continue // not judged: normal
		}
		rate := ratio(s.errors, s.requests)
		peerRate := ratio(totalErr-s.errors, totalReq-s.requests)
		bad := rate-peerRate >= atwMinExcess && rate >= atwRatio*peerRate
		switch {
		case s.requests >= atwMinRequests:
			next[i].anomalous = bad
		case s.requests >= atwMinClear && !bad:
			next[i].anomalous = false
		default:
			next[i].anomalous = prev[i].anomalous // too few requests to tell
		}
		if next[i].anomalous {
			anomalous = append(anomalous, cand{i, rate})
		}
	}
	if mitigation {
		slices.SortStableFunc(anomalous, func(a, b cand) int {
			switch {
			case a.rate > b.rate:
				return -1
			case a.rate < b.rate:
				return 1
			}
			return 0
		})
		for k, c := range anomalous {
			next[c.i].mitigated = k < peers/2
		}
	}
	for i := range next {
		w := next[i].weight
		switch {
		case !mitigation:
			w = 1
		case next[i].mitigated:
			w = max(atwFloor, w*atwDown)
		default:
			w = min(1, w+atwUp)
		}
		next[i].weight = w
		if mitigation && w < 1 {
			next[i].mitigated = true // still ramping back up: mitigation in effect
		}
	}
	return next
}

func ratio(a, b int64) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// outcomes counts a node's requests to one target in the current interval:
// two atomics on the hot path.
type outcomes struct{ requests, errors atomic.Int64 }

// atwTarget is a node's detection record of one target.
type atwTarget struct {
	t      *Target
	cur    outcomes
	ring   [atwWindow][2]int64 // requests, errors per past interval
	pos    int
	state  atwState
	result AnomalyDetection
}

// detector is one node's ATW: it owns the node's records and, with
// mitigation on, the weights of the node's weighted random picker.
type detector struct {
	n          *Node
	mitigation bool
	wr         *WeightedRandom // where weights go; nil without mitigation

	mu      sync.Mutex
	targets map[*Target]*atwTarget
}

func newDetector(n *Node, mitigation bool) *detector {
	d := &detector{n: n, targets: map[*Target]*atwTarget{}}
	if wr, ok := n.picker.(*WeightedRandom); ok && mitigation {
		d.mitigation, d.wr = true, wr
	}
	return d
}

// add starts recording t; the returned counters are the hot path's.
func (d *detector) add(t *Target) *outcomes {
	d.mu.Lock()
	defer d.mu.Unlock()
	a := &atwTarget{t: t, state: atwState{weight: 1}, result: AnomalyDetection{Result: AnomalyNormal, MitigationInEffect: MitigationNo, Weight: 1}}
	d.targets[t] = a
	return &a.cur
}

func (d *detector) remove(t *Target) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.targets, t)
	d.publishWeights()
}

// step closes the current interval and judges every target; it returns the
// changes to publish.
func (d *detector) step() []TargetAnomalyChanged {
	d.mu.Lock()
	defer d.mu.Unlock()
	list := d.sortedLocked()
	samples := make([]atwSample, len(list))
	prev := make([]atwState, len(list))
	d.n.mu.Lock()
	for i, a := range list {
		a.pos = (a.pos + 1) % atwWindow
		a.ring[a.pos] = [2]int64{a.cur.requests.Swap(0), a.cur.errors.Swap(0)}
		for _, b := range a.ring {
			samples[i].requests += b[0]
			samples[i].errors += b[1]
		}
		v, ok := d.n.views[a.t.ID]
		samples[i].healthy = ok && v.t == a.t && v.health.State == StateHealthy && d.n.routable(v)
		prev[i] = a.state
	}
	d.n.mu.Unlock()
	next := judge(samples, prev, d.mitigation)
	var changes []TargetAnomalyChanged
	for i, a := range list {
		a.state = next[i]
		r := AnomalyDetection{Result: AnomalyNormal, MitigationInEffect: MitigationNo, Weight: next[i].weight}
		if next[i].anomalous {
			r.Result = AnomalyAnomalous
		}
		if next[i].mitigated {
			r.MitigationInEffect = MitigationYes
		}
		if c, ok := d.changeOf(a, r, samples[i].requests, samples[i].errors); ok {
			changes = append(changes, c)
		}
		a.result = r
	}
	d.publishWeights()
	return changes
}

// sortedLocked is every recorded target, by address (the order steps
// judge and publish in). d.mu must be held.
func (d *detector) sortedLocked() []*atwTarget {
	list := make([]*atwTarget, 0, len(d.targets))
	for _, a := range d.targets {
		list = append(list, a)
	}
	slices.SortFunc(list, func(a, b *atwTarget) int { return a.t.Addr.Compare(b.t.Addr) })
	return list
}

// changeOf is the event for a's result becoming next, with the window's
// counts; false when neither the result nor the mitigation changes.
func (d *detector) changeOf(a *atwTarget, next AnomalyDetection, requests, errors int64) (TargetAnomalyChanged, bool) {
	if next.Result == a.result.Result && next.MitigationInEffect == a.result.MitigationInEffect {
		return TargetAnomalyChanged{}, false
	}
	return TargetAnomalyChanged{Node: d.n.zone.Name, Target: string(a.t.ID), Zone: a.t.Zone,
		From: a.result.Result, To: next.Result, MitigationInEffect: next.MitigationInEffect,
		Requests: requests, Errors: errors}, true
}

// publishWeights hands the weights to the picker: nil (every target weighs
// the same) when none is below parity. d.mu must be held.
func (d *detector) publishWeights() {
	if d.wr == nil {
		return
	}
	var w map[*Target]float64
	for t, a := range d.targets {
		if a.state.weight < 1 {
			if w == nil {
				w = map[*Target]float64{}
			}
			w[t] = a.state.weight
		}
	}
	d.wr.setWeights(w)
}

// view is every recorded target's result, with its window's counts,
// sorted by target (for a mirror of this node on another host: adopt).
func (d *detector) view() []TargetAnomaly {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]TargetAnomaly, 0, len(d.targets))
	for t, a := range d.targets {
		v := TargetAnomaly{ID: t.ID, Result: a.result.Result, MitigationInEffect: a.result.MitigationInEffect, Weight: a.result.Weight}
		for _, b := range a.ring {
			v.Requests += b[0]
			v.Errors += b[1]
		}
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b TargetAnomaly) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// adopt takes a remote node's results (its view) into this detector, a
// mirror's, and returns the changes, as step does for a local node. A
// target the remote node has not judged yet keeps its result here.
func (d *detector) adopt(remote []TargetAnomaly) []TargetAnomalyChanged {
	if len(remote) == 0 {
		return nil
	}
	by := make(map[az.InstanceID]TargetAnomaly, len(remote))
	for _, r := range remote {
		by[r.ID] = r
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	list := d.sortedLocked()
	var changes []TargetAnomalyChanged
	for _, a := range list {
		r, ok := by[a.t.ID]
		if !ok {
			continue
		}
		next := AnomalyDetection{Result: r.Result, MitigationInEffect: r.MitigationInEffect, Weight: r.Weight}
		if c, ok := d.changeOf(a, next, r.Requests, r.Errors); ok {
			changes = append(changes, c)
		}
		a.result = next
		a.state = atwState{anomalous: next.Result == AnomalyAnomalous, mitigated: next.MitigationInEffect == MitigationYes, weight: next.Weight}
	}
	return changes
}

func (d *detector) get(id az.InstanceID) (AnomalyDetection, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for t, a := range d.targets {
		if t.ID == id {
			return a.result, true
		}
	}
	return AnomalyDetection{}, false
}

// AnomalyDetection is every node's anomaly result for a target, by node
// zone (AWS shows one per target; each lab node judges on its own).
func (lb *LoadBalancer) AnomalyDetection(id az.InstanceID) map[string]AnomalyDetection {
	out := map[string]AnomalyDetection{}
	for i, n := range lb.nodes {
		if r, ok := lb.atw[i].get(id); ok {
			out[n.zone.Name] = r
		}
	}
	return out
}

// AnomalyCounts is what a node's ATW shows now, as CloudWatch's
// AnomalousHostCount and MitigatedHostCount for the node's zone.
func (lb *LoadBalancer) AnomalyCounts(zone string) (anomalous, mitigated int) {
	for i, n := range lb.nodes {
		if n.zone.Name != zone {
			continue
		}
		d := lb.atw[i]
		d.mu.Lock()
		for _, a := range d.targets {
			if a.result.Result == AnomalyAnomalous {
				anomalous++
			}
			if a.result.MitigationInEffect == MitigationYes {
				mitigated++
			}
		}
		d.mu.Unlock()
	}
	return anomalous, mitigated
}

// runATW is the load balancer's ATW loop: every interval each node's
// detector takes a step.
func (lb *LoadBalancer) runATW(ctx context.Context) {
	tk := lb.cfg.Clock.NewTicker(atwInterval)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C():
		}
		lb.stepATW()
	}
}

// stepATW runs one ATW step on every node and publishes what changed. A
// remote node's mirror is not stepped: it proxies nothing, and takes the
// remote node's own results from its state (adopt).
func (lb *LoadBalancer) stepATW() {
	for _, d := range lb.atw {
		if d.n.mirror != nil {
			continue
		}
		for _, e := range d.step() {
			lb.cfg.Events.Publish(e)
		}
	}
}

// outcomeTransport records each exchange with a target for anomaly
// detection: a 5xx from the target, or a failed exchange (refused, reset,
// timed out), is an error; a client that went away is nobody's error.
type outcomeTransport struct {
	next http.RoundTripper
	o    *outcomes
}

func (t outcomeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	switch {
	case err != nil:
		if r.Context().Err() == nil {
			t.o.requests.Add(1)
			t.o.errors.Add(1)
		}
	case resp.StatusCode >= 500:
		t.o.requests.Add(1)
		t.o.errors.Add(1)
	default:
		t.o.requests.Add(1)
	}
	return resp, err
}

// TargetAnomalyChanged is published when a node's anomaly detection result
// for a target, or whether mitigation is in effect, changes.
type TargetAnomalyChanged struct {
	Node               string `json:"node"`
	Target             string `json:"target"`
	Zone               string `json:"zone"`
	From               string `json:"from"`
	To                 string `json:"to"`
	MitigationInEffect string `json:"mitigation_in_effect"`
	Requests           int64  `json:"requests"` // in the detection window
	Errors             int64  `json:"errors"`
}

func (TargetAnomalyChanged) Kind() string { return "lb" }

func (e TargetAnomalyChanged) Message() string {
	result := e.From + " -> " + e.To
	if e.From == e.To {
		result = e.To // only MitigationInEffect changed
	}
	return fmt.Sprintf("node %s: target %s (%s) anomaly detection result %s, MitigationInEffect %s (%d errors in %d requests)",
		e.Node, e.Target, e.Zone, result, e.MitigationInEffect, e.Errors, e.Requests)
}

// ATWFigures are the anomaly detection and mitigation thresholds the lab
// chose: AWS documents Automatic Target Weights but not its numbers
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html#automatic-target-weights).
func ATWFigures() []figures.Figure {
	src := "AWS does not document it; the lab's choice"
	return []figures.Figure{
		{Name: "Anomaly detection window", Value: (atwInterval * atwWindow).String(), Kind: figures.Assumed, Source: src},
		{Name: "Anomalous target", Value: fmt.Sprintf("at least %d requests in the window, error rate %.0f points above its peers' and %gx their rate", atwMinRequests, atwMinExcess*100, atwRatio), Kind: figures.Assumed, Source: src},
		{Name: "Anomaly mitigation weights", Value: fmt.Sprintf("halved every %v down to %.0f%% of a normal target's, then +%g every %v; at most half the targets mitigated", atwInterval, atwFloor*100, atwUp, atwInterval), Kind: figures.Assumed, Source: src},
	}
}
