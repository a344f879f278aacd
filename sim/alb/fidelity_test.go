package alb

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/sim/az"
)

// TestFidelity checks, one row per documented behaviour, that the lab's
// load balancer does what AWS documents, on a fake clock. Each row names the
// AWS page and the gist of the sentence it checks (pages under
// docs.aws.amazon.com/elasticloadbalancing/latest/application/ unless said).
func TestFidelity(t *testing.T) {
	rows := []struct {
		name string
		aws  string
		run  func(t *testing.T)
	}{
		{"dead target is unhealthy after interval x unhealthy threshold plus the timeout",
			"target-group-health-checks.html: a target is marked unhealthy after UnhealthyThresholdCount consecutive failed checks; a check fails when no response comes within HealthCheckTimeoutSeconds (defaults 30 s, 5 s, 2)",
			fidelityDeadTarget},
		{"an unhealthy target needs 5 consecutive passes to return",
			"target-group-health-checks.html: HealthyThresholdCount (default 5) consecutive successful checks before an unhealthy target is healthy again",
			fidelityFivePasses},
		{"a newly registered target needs one pass",
			"target-group-health-checks.html: a newly registered target must pass one health check to be healthy; until then initial (Elb.RegistrationInProgress, Elb.InitialHealthChecking)",
			fidelityOnePass},
		{"every node checks every target on its own",
			"target-group-health-checks.html / how-elastic-load-balancing-works.html: each load balancer node checks each registered target, on its own schedule",
			fidelityEveryNodeChecks},
		{"fail open when every target is unhealthy",
			"target-group-health.html: if a target group has only unhealthy targets, requests go to all of them (fail open); UnhealthyRoutingRequestCount counts them",
			fidelityFailOpen},
		{"503 when no target is registered",
			"load-balancer-troubleshooting.html (HTTP 503): the target groups for the load balancer have no registered targets",
			fidelityNoTargets503},
		{"503 when the only target is deregistering",
			"load-balancer-troubleshooting.html (HTTP 503) and edit-target-group-attributes.html: a deregistering target gets no new requests, leaving nothing to route to",
			fidelityOnlyDraining503},
		{"503 from a zone without targets when cross-zone is off",
			"disable-cross-zone.html / target-group-health.html: with cross-zone off each node routes only to its zone's targets; an empty zone answers 503",
			fidelityEmptyZone503},
		{"draining lasts the full deregistration delay and in-flight requests finish",
			"edit-target-group-attributes.html (deregistration delay): no new requests once deregistering; in-flight ones complete; the target shows draining until the delay (default 300 s) expires, then unused",
			fidelityDraining},
		{"no retry to another target",
			"load-balancer-access-logs.html: target:port_list and target_status_code_list hold one item, so each request goes to one target; a refused connection is a 502",
			fidelityNoRetry},
		{"no request metrics without traffic",
			"load-balancer-cloudwatch-metrics.html: metrics are reported only when requests flow; health checks are not requests",
			fidelityNoTrafficNoCounts},
		{"slow start raises a new target's share linearly",
			"edit-target-group-attributes.html (slow start): a target entering slow start gets a linearly increasing share of requests until the duration ends; the first targets of an empty group do not enter it",
			fidelitySlowStart},
		{"cross-zone split per node and zone, AWS's 2-and-8 example",
			"how-elastic-load-balancing-works.html (cross-zone): 2 targets in A, 8 in B, each node gets 50%; on: 10% per target; off: 25% per A target, 6.25% per B target",
			fidelityCrossZoneSplit},
		{"target group health thresholds, AWS's worked example",
			"target-group-health.html (example): 10 targets per zone, DNS and routing failover at 50%, 6 fail in zone B; cross-zone off: B leaves DNS and B's node routes to all 10 of its targets; on: 14/20 healthy, traffic to the 14 only",
			fidelityTargetGroupHealthExample},
		{"automatic target weights: detection always on, mitigation with weighted_random",
			"edit-target-group-attributes.html (weighted random, ATW) and the ATW blog: targets with disproportionate 5xx/connection errors are anomalous (health unchanged); with anomaly mitigation on, their traffic is cut and later restored",
			fidelityATW},
		{"a stopped node's frozen view does not feed the target's health (issue 14 item 6)",
			"target-group-health-checks.html: each load balancer node checks each target; a node that is down checks nothing, so only live nodes' views say what DescribeTargetHealth (and the Auto Scaling group's ELB health check, autoscaling/ec2/userguide/health-checks-overview.html) sees",
			fidelityStoppedNodeView},
		{"listener rules: first match by priority, then the default rule (issue 16)",
			"listener-rules.html: rules are evaluated in priority order, from the lowest value to the highest; the default rule is evaluated last; load-balancer-access-logs.html: matched_rule_priority (0 for the default rule) and actions_executed",
			fidelityRulePriority},
		{"fixed-response and redirect actions answer with their codes (issue 16)",
			"rule-action-types.html: fixed-response returns a 2XX, 4XX or 5XX code, content type and body; redirect answers HTTP_301 or HTTP_302 with a Location built from #{protocol}, #{host}, #{port}, #{path}, #{query}; load-balancer-cloudwatch-metrics.html: HTTP_Fixed_Response_Count, HTTP_Redirect_Count, and HTTPCode_ELB_3XX_Count, 'The number of HTTP 3XX redirection codes that originate from the load balancer' (with HTTPCode_ELB_4XX/5XX_Count for the load balancer's 4XX and 5XX)",
			fidelityFixedAndRedirect},
		{"duration-based stickiness lasts the duration, then the algorithm routes again (issue 16)",
			"sticky-sessions.html: the load balancer answers with AWSALB (and AWSALBCORS, SameSite=None; Secure) encoding the target, encrypted; requests with it go to that target; the load balancer resets the expiry of the cookies it generates after every request, so a user idle longer than the stickiness duration is routed anew; a cookie that cannot be decoded gets a new target",
			fidelityStickyExpiry},
		{"a sticky user moves when its target turns unhealthy or is deregistered (issue 16)",
			"sticky-sessions.html: if the cookie refers to a target that was deregistered or is unhealthy, the load balancer selects a new target and updates the cookie with information about the new target",
			fidelityStickyUnhealthy},
		{"application-based stickiness follows the application's cookie (issue 16)",
			"sticky-sessions.html: with application-based stickiness the load balancer sets AWSALBAPP when the target sets the application cookie, in subsequent responses the expiry of the AWSALBAPP cookie and the duration are reset; when the target fails the load balancer treats the session as now being 'stuck' to the new healthy target",
			fidelityAppCookie},
		{"a weighted forward honours its weights within a few percent over many requests (issue 16)",
			"rule-action-types.html (forward actions) and the AWS News Blog 'New – Application Load Balancer Simplifies Deployment with Weighted Target Groups': requests that match a forward with several target groups are distributed to them by their weights; APIReference/API_TargetGroupTuple.html: a weight is 0 to 999, so a group of weight 0 gets no new requests. Checked: 90/10, 0/100 and 50/50 within 3% over 2,000 requests",
			fidelityWeights},
		{"target group stickiness keeps a client on its target group for the duration (issue 16, AWSALBTG)",
			"APIReference/API_TargetGroupStickinessConfig.html: the time period, 1-604800 s, during which requests from a client should be routed to the same target group; AWS Prescriptive Guidance load-balancer-stickiness/target-group-stickiness.html: within the duration the client stays within its target group, after it the stickiness is released and the weights choose; the cookies are AWSALBTG and AWSALBTGCORS (sticky-sessions.html reserves AWSALBTG). The lab also keeps the client on a group whose weight became 0 until the duration ends (the AWS DevOps blog on blue/green with weighted target groups: sticky clients move only as their duration ends) [derived]",
			fidelityGroupStickiness},
	}
	for _, r := range rows {
		if !t.Run(r.name, r.run) {
			t.Errorf("%s: AWS: %s", r.name, r.aws)
		}
	}
}

// hangProber answers health checks like fakeProber, but a target marked
// dead gives no answer: the check times out after Timeout on the clock.
type hangProber struct {
	clock   *clock.Fake
	timeout time.Duration
	mu      sync.Mutex
	dead    map[netip.AddrPort]bool
	waiting atomic.Int64 // checks blocked on a dead target
}

func (p *hangProber) kill(a netip.AddrPort) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dead[a] = true
}

func (p *hangProber) Probe(ctx context.Context, a netip.AddrPort) Result {
	p.mu.Lock()
	dead := p.dead[a]
	p.mu.Unlock()
	if !dead {
		return pass
	}
	ch := p.clock.After(p.timeout)
	p.waiting.Add(1)
	select {
	case <-ch:
		return timeout
	case <-ctx.Done():
		return Result{}
	}
}

// failsOf is how many checks in a row node n has seen t fail.
func failsOf(n *Node, id string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.views[azID(id)].health.fails
}

func fidelityDeadTarget(t *testing.T) {
	var hp *hangProber
	h := newHarness(t, func(c *Config) {
		hp = &hangProber{clock: c.Clock.(*clock.Fake), timeout: 5 * time.Second, dead: map[netip.AddrPort]bool{}}
		c.Prober = hp
	})
	a := backend(t, "a", nil)
	h.register("i-a", "us-east-1a", a) // t=0: the first check passes
	h.waitState("i-a", StateHealthy)
	start := h.clock.Now()
	hp.kill(a) // dies right after the passing check at 0 s
	nodes := len(h.lb.Nodes())
	// 30 s: the first failing check starts and hangs; 35 s: it times out.
	h.clock.Advance(30 * time.Second)
	waitFor(t, "the checks at 30 s to hang", func() bool { return hp.waiting.Load() == int64(nodes) })
	h.clock.Advance(5 * time.Second)
	waitFor(t, "the first failure", func() bool { return failsOf(h.lb.Nodes()[0], "i-a") == 1 && failsOf(h.lb.Nodes()[1], "i-a") == 1 })
	h.waitState("i-a", StateHealthy) // one failure is not enough
	// 60 s: the second failing check; at 64 s it is still pending.
	h.clock.Advance(25 * time.Second)
	waitFor(t, "the checks at 60 s to hang", func() bool { return hp.waiting.Load() == int64(2*nodes) })
	h.clock.Advance(4 * time.Second)
	h.waitState("i-a", StateHealthy)
	h.clock.Advance(time.Second)
	h.waitState("i-a", StateUnhealthy)
	if got, want := h.clock.Now().Sub(start), 2*30*time.Second+5*time.Second; got != want {
		t.Fatalf("unhealthy %s after the last pass, want interval x threshold + timeout = %s", got, want)
	}
	if r := h.lb.Health("i-a")["us-east-1b"].Reason; r != ReasonTimeout {
		t.Fatalf("reason %s, want Target.Timeout", r)
	}
}

func fidelityFivePasses(t *testing.T) {
	h := newHarness(t, nil)
	a := backend(t, "a", nil)
	h.register("i-a", "us-east-1a", a)
	h.waitState("i-a", StateHealthy)
	h.prober.set(a, refused)
	h.check(1)
	h.check(1)
	h.waitState("i-a", StateUnhealthy)
	h.prober.set(a, pass)
	for i := 1; i <= 4; i++ {
		h.check(1)
		waitFor(t, fmt.Sprintf("pass %d seen", i), func() bool { return passesOf(h.lb.Nodes()[1], "i-a") == i })
		h.waitState("i-a", StateUnhealthy)
	}
	h.check(1)
	h.waitState("i-a", StateHealthy) // the fifth pass: 150 s of passing checks
}

func passesOf(n *Node, id string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.views[azID(id)].health.passes
}

func fidelityOnePass(t *testing.T) {
	h := newHarness(t, nil)
	if got := NewHealth(); got.State != StateInitial || got.Reason != ReasonRegistrationInProgress {
		t.Fatalf("a registered target starts %s", got)
	}
	if got := NewHealth().Checking(); got.State != StateInitial || got.Reason != ReasonInitialHealthChecking {
		t.Fatalf("checking: %s", got)
	}
	before := h.prober.count()
	h.register("i-a", "us-east-1a", backend(t, "a", nil))
	h.waitState("i-a", StateHealthy)
	if got := h.prober.count() - before; got != len(h.lb.Nodes()) {
		t.Fatalf("%d checks before healthy, want one per node", got)
	}
	if !h.clock.Now().Equal(time.Unix(0, 0)) {
		t.Fatal("the first check waited for an interval")
	}
}

func fidelityEveryNodeChecks(t *testing.T) {
	h := newHarness(t, nil)
	h.register("i-a", "us-east-1a", backend(t, "a", nil))
	h.register("i-b", "us-east-1b", backend(t, "b", nil))
	before := h.prober.count()
	h.check(2) // waits for 2 targets x 2 nodes checks
	if got := h.prober.count() - before; got != 4 {
		t.Fatalf("%d checks in one interval, want 4 (2 nodes x 2 targets)", got)
	}
}

func fidelityFailOpen(t *testing.T) {
	h := newHarness(t, nil)
	a, b := backend(t, "a", nil), backend(t, "b", nil)
	h.prober.set(a, mismatch)
	h.prober.set(b, mismatch)
	h.register("i-a", "us-east-1a", a)
	h.register("i-b", "us-east-1b", b)
	h.check(2)
	h.waitState("i-a", StateUnhealthy)
	h.waitState("i-b", StateUnhealthy)
	got := serve(t, h.lb.Nodes()[0], 10)
	if got["a"] != 5 || got["b"] != 5 {
		t.Fatalf("fail-open routed %v, want 5 each and no 503", got)
	}
	if m := h.lb.Nodes()[0].Metrics(); m.UnhealthyRoutingRequestCount != 10 || m.HTTPCode_ELB_503_Count != 0 {
		t.Fatalf("UnhealthyRoutingRequestCount %d, 503s %d", m.UnhealthyRoutingRequestCount, m.HTTPCode_ELB_503_Count)
	}
}

func codeOf(t *testing.T, n *Node, path string) int {
	t.Helper()
	w := httptest.NewRecorder()
	n.ServeHTTP(w, httptest.NewRequest("GET", "http://lb"+path, nil))
	return w.Code
}

func fidelityNoTargets503(t *testing.T) {
	h := newHarness(t, nil)
	for _, n := range h.lb.Nodes() {
		if c := codeOf(t, n, "/"); c != 503 {
			t.Fatalf("node %s answered %d", n.Zone(), c)
		}
		if m := n.Metrics(); m.RequestCount != 0 || m.HTTPCode_ELB_503_Count != 1 {
			t.Fatalf("RequestCount %d (a request with no target to choose is not counted), 503s %d", m.RequestCount, m.HTTPCode_ELB_503_Count)
		}
	}
}

func fidelityOnlyDraining503(t *testing.T) {
	h := newHarness(t, nil)
	h.register("i-a", "us-east-1a", backend(t, "a", nil))
	h.waitState("i-a", StateHealthy)
	if _, err := h.lb.Deregister("i-a"); err != nil {
		t.Fatal(err)
	}
	h.waitState("i-a", StateDraining)
	if c := codeOf(t, h.lb.Nodes()[0], "/"); c != 503 {
		t.Fatalf("got %d, want 503", c)
	}
}

func fidelityEmptyZone503(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.CrossZone = false })
	h.register("i-a", "us-east-1a", backend(t, "a", nil))
	h.waitState("i-a", StateHealthy)
	if got := serve(t, h.lb.Nodes()[0], 4); got["a"] != 4 {
		t.Fatalf("zone a's node routed %v", got)
	}
	if c := codeOf(t, h.lb.Nodes()[1], "/"); c != 503 {
		t.Fatalf("empty zone b answered %d, want 503", c)
	}
}

func fidelityDraining(t *testing.T) {
	h := newHarness(t, nil)
	started, release := make(chan struct{}), make(chan struct{})
	h.register("i-a", "us-east-1a", backend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(started)
			<-release
		}
	}))
	h.register("i-b", "us-east-1b", backend(t, "b", nil))
	h.waitState("i-a", StateHealthy)
	h.waitState("i-b", StateHealthy)
	n := h.lb.Nodes()[0]
	done := make(chan int, 1)
	go func() {
		for {
			w := httptest.NewRecorder()
			n.ServeHTTP(w, httptest.NewRequest("GET", "http://lb/slow", nil))
			if w.Header().Get("X-Served-By") == "a" {
				done <- w.Code
				return
			}
		}
	}()
	<-started
	drained, err := h.lb.Deregister("i-a")
	if err != nil {
		t.Fatal(err)
	}
	if got := serve(t, n, 6); got["b"] != 6 {
		t.Fatalf("new requests while draining went to %v, want only b", got)
	}
	h.clock.Advance(299 * time.Second)
	h.waitState("i-a", StateDraining)
	close(release)
	if c := <-done; c != 200 {
		t.Fatalf("the in-flight request got %d, want 200", c)
	}
	<-drained
	h.waitState("i-a", StateDraining) // nothing in flight, yet draining until the delay ends
	h.clock.Advance(time.Second)      // 300 s
	waitFor(t, "unused at 300 s", func() bool { _, ok := n.Health("i-a"); return !ok })
	if got, _ := n.Health("i-a"); got.State != StateUnused || got.Reason != ReasonNotRegistered {
		t.Fatalf("after the delay: %s", got)
	}
}

func fidelityNoRetry(t *testing.T) {
	h := newHarness(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := netip.MustParseAddrPort(ln.Addr().String())
	ln.Close()
	var hits atomic.Int64
	h.register("i-dead", "us-east-1a", dead) // passes the fake checks, refuses requests
	h.register("i-live", "us-east-1b", backend(t, "live", func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	h.waitState("i-dead", StateHealthy)
	h.waitState("i-live", StateHealthy)
	n := h.lb.Nodes()[0]
	codes := map[int]int{}
	for i := 0; i < 10; i++ {
		codes[codeOf(t, n, "/")]++
	}
	if codes[502] != 5 || codes[200] != 5 || hits.Load() != 5 {
		t.Fatalf("codes %v, live target hit %d times: want 5 x 502 and 5 x 200, nothing retried", codes, hits.Load())
	}
}

func fidelityNoTrafficNoCounts(t *testing.T) {
	h := newHarness(t, nil)
	h.register("i-a", "us-east-1a", backend(t, "a", nil))
	h.waitState("i-a", StateHealthy)
	for i := 0; i < 4; i++ {
		h.check(1)
	}
	for _, n := range h.lb.Nodes() {
		m := n.Metrics()
		if m.RequestCount != 0 || m.TargetResponses != 0 || m.HTTPCode_Target_2XX_Count != 0 || m.HTTPCode_ELB_5XX_Count != 0 {
			t.Fatalf("node %s counted traffic from health checks alone: %+v", n.Zone(), m)
		}
		if m.HealthyHostCount["us-east-1a"] != 1 {
			t.Fatalf("HealthyHostCount %v", m.HealthyHostCount)
		}
	}
}

func fidelitySlowStart(t *testing.T) {
	const d = 100 * time.Second
	// Linear: equal steps in time give equal steps in weight, up to 1 at the end.
	prev := slowStartWeight(0, d)
	step := slowStartWeight(d/10, d) - prev
	for i := 1; i <= 10; i++ {
		w := slowStartWeight(time.Duration(i)*d/10, d)
		if math.Abs(w-prev-step) > 1e-9 {
			t.Fatalf("weight at %d/10 is %v, after %v: not linear", i, w, prev)
		}
		prev = w
	}
	if prev != 1 || slowStartWeight(0, d) != slowStartFloor {
		t.Fatalf("ramp from %v to %v, want %v to 1", slowStartWeight(0, d), prev, slowStartFloor)
	}
	h := newHarness(t, func(c *Config) { c.SlowStart = d })
	h.register("i-a", "us-east-1a", backend(t, "a", nil))
	h.waitState("i-a", StateHealthy)
	h.register("i-b", "us-east-1b", backend(t, "b", nil))
	h.waitState("i-b", StateHealthy)
	n := h.lb.Nodes()[0]
	if !slowStartOf(n, "i-a").IsZero() || slowStartOf(n, "i-b").IsZero() {
		t.Fatal("want the first target out of slow start and the second in it")
	}
	if got := serve(t, n, 1000)["b"]; math.Abs(float64(got)/1000-0.1/1.1) > 0.03 {
		t.Fatalf("new target got %d of 1000 at the start, want about %.0f", got, 1000*0.1/1.1)
	}
	h.clock.Advance(d / 2)
	if got := serve(t, n, 1000)["b"]; math.Abs(float64(got)/1000-0.55/1.55) > 0.04 {
		t.Fatalf("new target got %d of 1000 half way, want about %.0f", got, 1000*0.55/1.55)
	}
	h.clock.Advance(d / 2)
	if got := serve(t, n, 1000)["b"]; got != 500 {
		t.Fatalf("after slow start the new target got %d of 1000, want 500", got)
	}
}

// registerMany registers count real backends named prefix0.. in zone.
func registerMany(t *testing.T, h *harness, prefix, zone string, count int) []netip.AddrPort {
	t.Helper()
	var addrs []netip.AddrPort
	for i := 0; i < count; i++ {
		id := fmt.Sprintf("%s%d", prefix, i)
		a := backend(t, id, nil)
		addrs = append(addrs, a)
		h.register(id, zone, a)
		h.waitState(id, StateHealthy)
	}
	return addrs
}

// spread sends perNode requests to every node, as DNS spreads clients over
// the nodes evenly, and counts who served them.
func spread(t *testing.T, h *harness, perNode int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for _, n := range h.lb.Nodes() {
		for k, v := range serve(t, n, perNode) {
			got[k] += v
		}
	}
	return got
}

func fidelityCrossZoneSplit(t *testing.T) {
	for _, cz := range []bool{true, false} {
		t.Run(fmt.Sprintf("cross-zone %v", cz), func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.CrossZone = cz })
			registerMany(t, h, "A", "us-east-1a", 2)
			registerMany(t, h, "B", "us-east-1b", 8)
			const perNode = 800
			got := spread(t, h, perNode)
			for k, v := range got {
				share := float64(v) / (2 * perNode)
				want := 0.10
				if !cz && k[0] == 'A' {
					want = 0.25
				} else if !cz {
					want = 0.0625
				}
				if math.Abs(share-want) > 1e-9 {
					t.Fatalf("target %s got %.4f of the requests, want %.4f: %v", k, share, want, got)
				}
			}
			if len(got) != 10 {
				t.Fatalf("served by %v", got)
			}
		})
	}
}

func fidelityTargetGroupHealthExample(t *testing.T) {
	fifty := &TargetGroupHealth{UnhealthyStateRouting: MinimumHealthy{Count: 1, Percentage: 50}, DNSFailover: MinimumHealthy{Count: 1, Percentage: 50}}
	for _, cz := range []bool{false, true} {
		t.Run(fmt.Sprintf("cross-zone %v", cz), func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.CrossZone, c.TargetGroupHealth = cz, fifty })
			registerMany(t, h, "A", "us-east-1a", 10)
			b := registerMany(t, h, "B", "us-east-1b", 10)
			for _, a := range b[:6] {
				h.prober.set(a, timeout)
			}
			h.check(20)
			h.check(20)
			for i := 0; i < 6; i++ {
				h.waitState(fmt.Sprintf("B%d", i), StateUnhealthy)
			}
			nodeB := h.lb.Nodes()[1]
			got := serve(t, nodeB, 400)
			if !cz {
				// 4/10 = 40% healthy in B: out of DNS, and B's node fails open
				// over its 10 targets.
				if h.lb.DNSHealthy("us-east-1b") || !h.lb.DNSHealthy("us-east-1a") {
					t.Fatal("want zone B out of DNS and zone A in")
				}
				for i := 0; i < 10; i++ {
					if got[fmt.Sprintf("B%d", i)] != 40 {
						t.Fatalf("B's node routed %v, want 40 to each of B's 10 targets", got)
					}
				}
				if len(got) != 10 {
					t.Fatalf("B's node routed outside its zone: %v", got)
				}
				return
			}
			// 14/20 = 70% healthy over all zones: both zones in DNS, traffic
			// only to the 14 healthy targets.
			if !h.lb.DNSHealthy("us-east-1a") || !h.lb.DNSHealthy("us-east-1b") {
				t.Fatal("want both zones in DNS")
			}
			if len(got) != 14 {
				t.Fatalf("routed to %d targets, want the 14 healthy: %v", len(got), got)
			}
			for i := 0; i < 6; i++ {
				if got[fmt.Sprintf("B%d", i)] != 0 {
					t.Fatalf("an unhealthy target got traffic: %v", got)
				}
			}
		})
	}
}

func fidelityATW(t *testing.T) {
	for _, mitigation := range []bool{false, true} {
		t.Run(fmt.Sprintf("mitigation %v", mitigation), func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.Algorithm, c.AnomalyMitigation, c.Seed = AlgorithmWeightedRandom, mitigation, 11 })
			h.register("i-a", "us-east-1a", backend(t, "a", nil))
			h.register("i-b", "us-east-1a", backend(t, "b", nil))
			h.register("i-c", "us-east-1b", backend(t, "c", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(502) }))
			for _, id := range []string{"i-a", "i-b", "i-c"} {
				h.waitState(id, StateHealthy)
			}
			n := h.lb.Nodes()[0]
			for i := 0; i < 6; i++ {
				serve(t, n, 150)
				h.lb.stepATW()
			}
			r := h.lb.AnomalyDetection(az.InstanceID("i-c"))["us-east-1a"]
			if r.Result != AnomalyAnomalous {
				t.Fatalf("c: %+v, want anomalous", r)
			}
			if hs := h.lb.Health("i-c")["us-east-1a"]; hs.State != StateHealthy {
				t.Fatalf("detection changed health: %s", hs)
			}
			share := float64(serve(t, n, 3000)["c"]) / 3000
			if !mitigation {
				if r.MitigationInEffect != MitigationNo || math.Abs(share-1.0/3) > 0.04 {
					t.Fatalf("detection only: %+v, share %.3f, want 1/3", r, share)
				}
				return
			}
			if r.MitigationInEffect != MitigationYes || share > 0.05 || share == 0 {
				t.Fatalf("mitigation: %+v, share %.3f, want a small share above 0", r, share)
			}
		})
	}
}

// fidelityStoppedNodeView stops node b while its view says i-b is healthy,
// then i-b dies: the live node marks it unhealthy and TargetHealth follows
// it, though the frozen view still says healthy. A target registered while b
// is down stays initial in b's frozen view; when the live node finds it
// unhealthy, so does TargetHealth. With every node down no view counts.
func fidelityStoppedNodeView(t *testing.T) {
	h := newHarness(t, nil)
	b := backend(t, "b", nil)
	h.register("i-b", "us-east-1b", b)
	h.waitState("i-b", StateHealthy)
	nodeA, nodeB := h.lb.Nodes()[0], h.lb.Nodes()[1]
	if err := h.lb.StopNode("us-east-1b"); err != nil {
		t.Fatal(err)
	}
	h.prober.set(b, timeout)
	for range 2 {
		want := h.prober.count() + 1 // node a's check of i-b; none from node b
		h.clock.Advance(30 * time.Second)
		waitFor(t, "node a's check", func() bool { return h.prober.count() >= want })
	}
	waitFor(t, "node a sees i-b unhealthy", func() bool { got, _ := nodeA.Health("i-b"); return got.State == StateUnhealthy })
	if got, _ := nodeB.Health("i-b"); got.State != StateHealthy {
		t.Fatalf("the stopped node's view moved to %s; the test needs it frozen at healthy", got)
	}
	if got := h.lb.TargetHealth("i-b"); got != StateUnhealthy {
		t.Fatalf("TargetHealth(i-b) = %s with the only live node saying unhealthy: the frozen healthy view still counts", got)
	}

	c := backend(t, "c", nil)
	h.prober.set(c, timeout) // a broken build: it never passes
	if err := h.lb.Register("i-c", "us-east-1a", c); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		want := h.prober.count() + 2 // node a's checks of i-b and i-c
		h.clock.Advance(30 * time.Second)
		waitFor(t, "node a's checks", func() bool { return h.prober.count() >= want })
	}
	waitFor(t, "node a sees i-c unhealthy", func() bool { got, _ := nodeA.Health("i-c"); return got.State == StateUnhealthy })
	if got, _ := nodeB.Health("i-c"); got.State != StateInitial {
		t.Fatalf("the stopped node's view of i-c is %s; the test needs it initial", got)
	}
	if got := h.lb.TargetHealth("i-c"); got != StateUnhealthy {
		t.Fatalf("TargetHealth(i-c) = %s: the frozen initial view still counts", got)
	}

	if err := h.lb.StopNode("us-east-1a"); err != nil {
		t.Fatal(err)
	}
	if got := h.lb.TargetHealth("i-b"); got != StateUnused {
		t.Fatalf("TargetHealth with every node down = %s, want unused (no live view)", got)
	}
}
