package chaos

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
)

// The request faults act on the path from the load balancer to the
// targets, Toxiproxy-style, each on Percent of the requests (its toxicity).
// They are one fault at the load balancer with different settings: how
// each kind sets it, and what it says it does.
var requestFaults = map[string]struct {
	set    func(a Action, rf *RequestFault)
	detail func(rf RequestFault) string
}{
	HTTPError: { // answered with Status, as the target would (target 5xx, not ELB); with Count, only the first Count
		set: func(a Action, rf *RequestFault) { rf.Status, rf.Count = cmp.Or(a.Status, DefaultStatus), a.Count },
		detail: func(rf RequestFault) string {
			if rf.Count > 0 {
				return fmt.Sprintf("the first %d request(s) (%v%% of them) answered %d as the target", rf.Count, rf.Percent, rf.Status)
			}
			return fmt.Sprintf("%v%% of requests answered %d as the target", rf.Percent, rf.Status)
		},
	},
	Latency: { // Latency ± Jitter before forwarding
		set: func(a Action, rf *RequestFault) { rf.Latency, rf.Jitter = a.Latency, a.Jitter },
		detail: func(rf RequestFault) string {
			return fmt.Sprintf("%v%% of requests delayed %s ± %s", rf.Percent, rf.Latency, rf.Jitter)
		},
	},
	Bandwidth: { // response bodies at Rate bytes per second
		set: func(a Action, rf *RequestFault) { rf.Bandwidth = a.Rate },
		detail: func(rf RequestFault) string {
			return fmt.Sprintf("%v%% of responses limited to %d bytes/s", rf.Percent, rf.Bandwidth)
		},
	},
	ConnectionReset: { // the load balancer's own 502
		set: func(_ Action, rf *RequestFault) { rf.Reset = true },
		detail: func(rf RequestFault) string {
			return fmt.Sprintf("%v%% of connections reset (the load balancer answers 502)", rf.Percent)
		},
	},
	ConnectionTimeout: { // the load balancer's 504 after its idle timeout
		set: func(_ Action, rf *RequestFault) { rf.Hang = true },
		detail: func(rf RequestFault) string {
			return fmt.Sprintf("%v%% of connections never answered (the load balancer answers 504 after its idle timeout)", rf.Percent)
		},
	},
}

// requestFault is a request fault installed in the load balancer; it is
// reverted by removing it, which says how many requests it hit (none: it
// is reported not applied).
type requestFault struct {
	lb     LoadBalancer
	rf     RequestFault
	remove func() int64
	missed func(reason string)
}

// planRequest plans a request fault on Zone's targets (all zones' when it
// is empty), narrowed to the selector's instances when there is one.
func planRequest(h hooks, a Action, rng *rand.Rand) (plan, error) {
	if h.lb == nil {
		return plan{}, errors.New("this lab has no load balancer fault hook")
	}
	kind := requestFaults[a.Kind]
	rf := RequestFault{Zone: a.Zone, Percent: cmp.Or(a.Percent, 100)}
	kind.set(a, &rf)
	if h.lb.Targets(a.Zone) == 0 {
		return plan{}, fmt.Errorf("no target registered in %s to act on", where(a.Zone))
	}
	if !a.Select.empty() {
		vs, err := h.choose(a.Zone, a.Select, rng)
		if err != nil {
			return plan{}, err
		}
		for _, v := range vs {
			rf.Instances = append(rf.Instances, v.ID)
		}
	}
	rec := FaultInjected{By: a.By, Action: a.Kind, Zone: a.Zone, Duration: a.Duration.String(), Instances: rf.Instances, Detail: kind.detail(rf)}
	return one("", 0, rec, &requestFault{lb: h.lb, rf: rf}), nil
}

func (q *requestFault) apply(_ context.Context, s self) error {
	q.rf.Name, q.missed = s.name, s.missed
	remove, err := q.lb.InjectRequestFault(q.rf)
	if err != nil {
		return fmt.Errorf("the load balancer refused it: %w", err)
	}
	q.remove = remove
	return nil
}

func (*requestFault) verify(context.Context) (string, error) { return "", nil }

func (q *requestFault) revert(context.Context) (string, error) {
	hits := q.remove()
	if hits == 0 {
		q.missed("hit no request: the load balancer routed none into it")
	}
	return fmt.Sprintf("it hit %d request(s)", hits), nil
}
