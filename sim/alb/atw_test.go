package alb

import (
	"math"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
)

// window is a sample of n requests with e errors from a healthy peer.
func window(n, e int64) atwSample { return atwSample{healthy: true, requests: n, errors: e} }

func parity(n int) []atwState {
	s := make([]atwState, n)
	for i := range s {
		s[i].weight = 1
	}
	return s
}

func anomalousOf(st []atwState) string {
	b := make([]byte, len(st))
	for i, s := range st {
		b[i] = '.'
		if s.anomalous {
			b[i] = 'A'
		}
	}
	return string(b)
}

func TestJudgeDetects(t *testing.T) {
	tests := []struct {
		name    string
		samples []atwSample
		prev    string // previous results, A = anomalous
		want    string
	}{
		{"one target failing half its requests among clean peers", []atwSample{window(20, 10), window(20, 0), window(20, 0)}, "...", "A.."},
		{"fewer than 3 healthy targets: detection does not run", []atwSample{window(20, 20), window(20, 0)}, "..", ".."},
		{"an unhealthy target is no peer", []atwSample{window(20, 20), window(20, 0), {requests: 20}}, "...", "..."},
		{"all equally bad: nobody is worse than its peers", []atwSample{window(20, 10), window(20, 10), window(20, 10)}, "...", "..."},
		{"10 points above the peers but not twice their rate", []atwSample{window(100, 30), window(100, 20), window(100, 20)}, "...", "..."},
		{"twice the peers but less than 10 points above", []atwSample{window(100, 8), window(100, 3), window(100, 3)}, "...", "..."},
		{"too few requests to call anomalous", []atwSample{window(9, 9), window(20, 0), window(20, 0)}, "...", "..."},
		{"too few requests to clear: the result stands", []atwSample{window(2, 0), window(20, 0), window(20, 0)}, "A..", "A.."},
		{"three clean requests clear a result", []atwSample{window(3, 0), window(20, 0), window(20, 0)}, "A..", "..."},
		{"connection errors and 5xx alike: 100% errors", []atwSample{window(12, 12), window(30, 1), window(30, 1), window(30, 1)}, "....", "A..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prev := parity(len(tt.samples))
			for i, c := range tt.prev {
				prev[i].anomalous = c == 'A'
			}
			if got := anomalousOf(judge(tt.samples, prev, false)); got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestJudgeMitigationRampsDownAndBackUp(t *testing.T) {
	bad := []atwSample{window(20, 20), window(20, 0), window(20, 0)}
	good := []atwSample{window(20, 0), window(20, 0), window(20, 0)}
	st := parity(3)
	var down []float64
	for i := 0; i < 6; i++ {
		st = judge(bad, st, true)
		down = append(down, st[0].weight)
		if !st[0].anomalous || !st[0].mitigated || st[1].mitigated || st[1].weight != 1 {
			t.Fatalf("step %d: %+v", i, st)
		}
	}
	wantDown := []float64{0.5, 0.25, 0.125, 0.0625, atwFloor, atwFloor}
	for i := range wantDown {
		if math.Abs(down[i]-wantDown[i]) > 1e-9 {
			t.Fatalf("weights going down %v, want %v", down, wantDown)
		}
	}
	steps := 0
	for st[0].weight < 1 {
		st = judge(good, st, true)
		steps++
		if st[0].anomalous {
			t.Fatal("a clean target stayed anomalous")
		}
		if st[0].weight < 1 && !st[0].mitigated {
			t.Fatal("MitigationInEffect ended before the weight was back at parity")
		}
	}
	if steps != 10 || st[0].mitigated {
		t.Fatalf("back to parity after %d steps (mitigated %v), want 10 steps of +0.1 from the floor", steps, st[0].mitigated)
	}
}

func TestJudgeWithoutMitigationOnlyDetects(t *testing.T) {
	st := judge([]atwSample{window(20, 20), window(20, 0), window(20, 0)}, parity(3), false)
	if !st[0].anomalous || st[0].mitigated || st[0].weight != 1 {
		t.Fatalf("detection only: %+v", st[0])
	}
}

func TestJudgeNeverMitigatesMoreThanHalf(t *testing.T) {
	// 4 of 7 anomalous (few requests, nearly all failing, beside busy clean
	// peers): the 3 worst are mitigated, never all of them.
	samples := []atwSample{window(10, 9), window(10, 10), window(10, 8), window(10, 10), window(1000, 0), window(1000, 0), window(1000, 0)}
	st := judge(samples, parity(7), true)
	if got := anomalousOf(st); got != "AAAA..." {
		t.Fatalf("anomalous %s", got)
	}
	mitigated := ""
	for _, s := range st {
		if s.mitigated {
			mitigated += "M"
		} else {
			mitigated += "."
		}
	}
	if mitigated != "MM.M..." {
		t.Fatalf("mitigated %s, want the three worst (MM.M...)", mitigated)
	}
}

func TestPickWeighted(t *testing.T) {
	routes := routesOf("a", "b", "c")
	w := map[*Target]float64{routes[0].Target: 0.5}
	tests := []struct {
		u    float64
		want int
	}{{0, 0}, {0.19, 0}, {0.21, 1}, {0.59, 1}, {0.61, 2}, {0.999, 2}}
	for _, tt := range tests {
		if got := pickWeighted(routes, w, tt.u); got != tt.want {
			t.Errorf("u=%v: got %d, want %d (weights 0.5, 1, 1)", tt.u, got, tt.want)
		}
	}
}

func TestAnomalyMitigationOnANode(t *testing.T) {
	// ATW blog and edit-target-group-attributes: a target returning 5xx
	// while passing health checks is anomalous; with weighted_random and
	// anomaly mitigation on, its traffic is cut, and restored gradually once
	// it recovers. Its health state does not change.
	h := newHarness(t, func(c *Config) { c.Algorithm, c.AnomalyMitigation, c.Seed = AlgorithmWeightedRandom, true, 3 })
	changes := record[TargetAnomalyChanged](h)
	failing := registerTrio(t, h)
	n := h.lb.Nodes()[0]
	first := serve(t, n, 300)
	if first["c"] < 80 {
		t.Fatalf("before mitigation c got %d of 300", first["c"])
	}
	h.lb.stepATW()
	got := h.lb.AnomalyDetection("i-c")["us-east-1a"]
	if got.Result != AnomalyAnomalous || got.MitigationInEffect != MitigationYes || got.Weight != 0.5 {
		t.Fatalf("after one step: %+v", got)
	}
	if r := h.lb.AnomalyDetection("i-a")["us-east-1a"]; r.Result != AnomalyNormal || r.MitigationInEffect != MitigationNo {
		t.Fatalf("a clean peer: %+v", r)
	}
	if a, m := h.lb.AnomalyCounts("us-east-1a"); a != 1 || m != 1 {
		t.Fatalf("AnomalousHostCount %d MitigatedHostCount %d, want 1 and 1", a, m)
	}
	changes.wait(t, "the anomalous event", func(e TargetAnomalyChanged) bool {
		return e.Target == "i-c" && e.To == AnomalyAnomalous && strings.Contains(e.Message(), "anomaly detection result normal -> anomalous, MitigationInEffect yes")
	})
	for i := 0; i < 5; i++ {
		serve(t, n, 100)
		h.lb.stepATW()
	}
	if w := h.lb.AnomalyDetection("i-c")["us-east-1a"].Weight; w != atwFloor {
		t.Fatalf("weight %v after six steps, want the floor %v", w, atwFloor)
	}
	low := serve(t, n, 2000)
	if share := float64(low["c"]) / 2000; share > 0.05 || low["c"] == 0 {
		t.Fatalf("mitigated target got %.3f of the requests, want a small share above 0 (about %.3f)", share, atwFloor/(2+atwFloor))
	}
	if hs := h.lb.Health("i-c")["us-east-1a"]; hs.State != StateHealthy {
		t.Fatalf("anomaly changed the health state: %s", hs)
	}
	// Node B judges on its own: it saw no traffic, so c is normal there.
	if r := h.lb.AnomalyDetection("i-c")["us-east-1b"]; r.Result != AnomalyNormal {
		t.Fatalf("node B, which saw nothing: %+v", r)
	}

	failing.Store(false)
	for i := 0; i < 40 && h.lb.AnomalyDetection("i-c")["us-east-1a"].Weight < 1; i++ {
		serve(t, n, 200)
		h.lb.stepATW()
	}
	back := h.lb.AnomalyDetection("i-c")["us-east-1a"]
	if back.Result != AnomalyNormal || back.MitigationInEffect != MitigationNo || back.Weight != 1 {
		t.Fatalf("after recovery: %+v", back)
	}
	changes.wait(t, "the normal event", func(e TargetAnomalyChanged) bool {
		return e.Target == "i-c" && e.From == AnomalyAnomalous && e.To == AnomalyNormal
	})
	changes.wait(t, "the end of mitigation", func(e TargetAnomalyChanged) bool {
		return e.Target == "i-c" && e.From == AnomalyNormal && e.To == AnomalyNormal && e.MitigationInEffect == MitigationNo &&
			strings.Contains(e.Message(), "anomaly detection result normal, MitigationInEffect no")
	})
	if share := float64(serve(t, n, 3000)["c"]) / 3000; math.Abs(share-1.0/3) > 0.04 {
		t.Fatalf("after recovery c got %.3f, want about 1/3", share)
	}
}

// registerTrio registers i-a and i-b (us-east-1a) and i-c (us-east-1b),
// waits until all three are healthy, and returns the switch that makes
// i-c answer 500 to traffic (on at first) while its health checks pass.
func registerTrio(t *testing.T, h *harness) *atomic.Bool {
	t.Helper()
	failing := new(atomic.Bool)
	failing.Store(true)
	h.register("i-a", "us-east-1a", backend(t, "a", nil))
	h.register("i-b", "us-east-1a", backend(t, "b", nil))
	h.register("i-c", "us-east-1b", backend(t, "c", func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	for _, id := range []string{"i-a", "i-b", "i-c"} {
		h.waitState(id, StateHealthy)
	}
	return failing
}

func TestAnomalyDetectionIsAlwaysOn(t *testing.T) {
	// Detection runs whatever the algorithm and without mitigation; the ATW
	// loop runs on the clock, every 5 seconds.
	h := newHarness(t, nil) // round robin
	h.register("i-a", "us-east-1a", backend(t, "a", nil))
	h.register("i-b", "us-east-1a", backend(t, "b", nil))
	h.register("i-c", "us-east-1b", backend(t, "c", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	for _, id := range []string{"i-a", "i-b", "i-c"} {
		h.waitState(id, StateHealthy)
	}
	n := h.lb.Nodes()[0]
	if got := serve(t, n, 60); got["c"] != 20 {
		t.Fatalf("round robin before: %v", got)
	}
	h.clock.Advance(atwInterval)
	waitFor(t, "c anomalous", func() bool { return h.lb.AnomalyDetection("i-c")["us-east-1a"].Result == AnomalyAnomalous })
	if r := h.lb.AnomalyDetection("i-c")["us-east-1a"]; r.MitigationInEffect != MitigationNo || r.Weight != 1 {
		t.Fatalf("detection only: %+v", r)
	}
	if got := serve(t, n, 60); got["c"] != 20 {
		t.Fatalf("without mitigation traffic moved: %v", got)
	}
}

func TestNewRejectsMitigationWithoutWeightedRandom(t *testing.T) {
	cfg := Config{Zones: newHarnessZones(t), Clock: newFakeClock(), Events: nopPublisher{}, AnomalyMitigation: true}
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "anomaly mitigation is not available with round_robin") {
		t.Fatalf("err %v", err)
	}
	cfg.Algorithm = AlgorithmWeightedRandom
	if _, err := New(cfg); err != nil {
		t.Fatal(err)
	}
}

func newFakeClock() *clock.Fake { return clock.NewFake(time.Unix(0, 0)) }
