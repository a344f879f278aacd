package chaos

import (
	"testing"
	"time"
)

func TestRequestFault(t *testing.T) {
	latency := RequestFault{Zone: "a", Percent: 100, Latency: time.Second}
	checkFaults(t, []faultCase{
		{name: "installed under its name, removed, says what it hit",
			make: func() (fault, *fakeFleet) { f := newFleet(); return &requestFault{lb: newFakeLB(f), rf: latency}, f },
			note: "it hit 7 request(s)",
			log:  []string{"lb inject chaos #1 zone=a percent=100 status=0 latency=1s jitter=0s", "lb remove chaos #1"}},
		{name: "it hit nothing: said so",
			make: func() (fault, *fakeFleet) {
				f := newFleet()
				lb := newFakeLB(f)
				lb.hits = 0
				return &requestFault{lb: lb, rf: latency}, f
			},
			note: "it hit 0 request(s)",
			log: []string{"lb inject chaos #1 zone=a percent=100 status=0 latency=1s jitter=0s", "lb remove chaos #1",
				"missed: hit no request: the load balancer routed none into it"}},
		{name: "the load balancer refuses",
			make: func() (fault, *fakeFleet) {
				f := newFleet()
				return &requestFault{lb: refusingLB{newFakeLB(f)}, rf: latency}, f
			},
			apply: "the load balancer refused it: refused"},
	})
}

// TestRequestKindsSetTheLoadBalancersFault: what each request kind asks of
// the load balancer, and says it does.
func TestRequestKindsSetTheLoadBalancersFault(t *testing.T) {
	for _, tc := range []struct {
		a      Action
		want   RequestFault
		detail string
	}{
		{Action{Kind: HTTPError, Zone: "b", Percent: 20}, RequestFault{Zone: "b", Percent: 20, Status: 503},
			"20% of requests answered 503 as the target"},
		{Action{Kind: HTTPError, Status: 500, Count: 2}, RequestFault{Percent: 100, Status: 500, Count: 2},
			"the first 2 request(s) (100% of them) answered 500 as the target"},
		{Action{Kind: Latency, Latency: time.Second, Jitter: time.Millisecond}, RequestFault{Percent: 100, Latency: time.Second, Jitter: time.Millisecond},
			"100% of requests delayed 1s ± 1ms"},
		{Action{Kind: Bandwidth, Rate: 20, Percent: 50}, RequestFault{Percent: 50, Bandwidth: 20},
			"50% of responses limited to 20 bytes/s"},
		{Action{Kind: ConnectionReset}, RequestFault{Percent: 100, Reset: true},
			"100% of connections reset (the load balancer answers 502)"},
		{Action{Kind: ConnectionTimeout, Select: Selector{IDs: []string{"i-c1"}}}, RequestFault{Percent: 100, Hang: true, Instances: []string{"i-c1"}},
			"100% of connections never answered (the load balancer answers 504 after its idle timeout)"},
	} {
		t.Run(tc.a.Kind, func(t *testing.T) {
			f := newFleet()
			p, err := planRequest(hooks{target: f, lb: newFakeLB(f)}, tc.a, nil)
			if err != nil {
				t.Fatal(err)
			}
			q := p.faults[0].fault.(*requestFault)
			if q.rf.Name != "" || q.rf.Zone != tc.want.Zone || q.rf.Percent != tc.want.Percent || q.rf.Status != tc.want.Status ||
				q.rf.Count != tc.want.Count || q.rf.Latency != tc.want.Latency || q.rf.Jitter != tc.want.Jitter ||
				q.rf.Bandwidth != tc.want.Bandwidth || q.rf.Reset != tc.want.Reset || q.rf.Hang != tc.want.Hang ||
				q.rf.Blackhole || len(q.rf.Instances) != len(tc.want.Instances) {
				t.Fatalf("asks %+v, want %+v", q.rf, tc.want)
			}
			if got := p.faults[0].rec.Detail; got != tc.detail {
				t.Fatalf("detail %q, want %q", got, tc.detail)
			}
		})
	}
}
