package alb

import (
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/sim/az"
)

func azID(id string) az.InstanceID { return az.InstanceID(id) }

type nopPublisher struct{}

func (nopPublisher) Publish(events.Event) {}

func newHarnessZones(t *testing.T) []az.Zone {
	t.Helper()
	zones, err := az.NewZones([]string{"us-east-1a", "us-east-1b"})
	if err != nil {
		t.Fatal(err)
	}
	return zones
}

// routesOf builds routes to targets with the given ids, each with its own
// in-flight counter and none in slow start.
func routesOf(ids ...string) []Route {
	rs := make([]Route, len(ids))
	for i, id := range ids {
		rs[i] = Route{Target: &Target{ID: azID(id)}, inflight: new(atomic.Int64)}
	}
	return rs
}

// seq is a Source that replays fixed values.
type seq struct {
	vals []uint64
	i    int
}

func (s *seq) Uint64() uint64 { v := s.vals[s.i%len(s.vals)]; s.i++; return v }

func TestLeastOutstandingPicks(t *testing.T) {
	tests := []struct {
		name     string
		inflight []int64
		want     string // ids of six picks in a row, counts unchanged
	}{
		{"the least busy wins", []int64{3, 1, 2}, "bbbbbb"},
		{"equal targets take turns", []int64{0, 0, 0}, "abcabc"},
		{"ties among the least busy rotate", []int64{2, 0, 0}, "bbcbbc"},
		{"a single target", []int64{7}, "aaaaaa"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids := []string{"a", "b", "c"}[:len(tt.inflight)]
			routes := routesOf(ids...)
			for i, c := range tt.inflight {
				routes[i].inflight.Store(c)
			}
			var l LeastOutstanding
			got := ""
			for i := 0; i < 6; i++ {
				got += string(routes[l.Pick(routes)].Target.ID)
			}
			if got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
	var l LeastOutstanding
	if l.Pick(nil) != -1 {
		t.Fatal("picked from an empty set")
	}
}

func TestLeastOutstandingFollowsTheCount(t *testing.T) {
	routes := routesOf("a", "b")
	var l LeastOutstanding
	first := l.Pick(routes)
	routes[first].inflight.Add(1) // the node starts the request
	for i := 0; i < 4; i++ {
		if got := l.Pick(routes); got == first {
			t.Fatalf("pick %d went to the busy target", i)
		}
	}
}

func TestWeightedRandomMapsTheSource(t *testing.T) {
	tests := []struct {
		name string
		n    int
		x    uint64
		want int
	}{
		{"zero is the first", 3, 0, 0},
		{"the top is the last", 3, math.MaxUint64, 2},
		{"half of two is the second", 2, 1 << 63, 1},
		{"just under half of two is the first", 2, 1<<63 - 1, 0},
		{"half of three is the middle", 3, 1 << 63, 1},
		{"a single target", 1, 12345, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewWeightedRandom(&seq{vals: []uint64{tt.x}})
			ids := []string{"a", "b", "c"}[:tt.n]
			if got := w.Pick(routesOf(ids...)); got != tt.want {
				t.Fatalf("got %d, want %d", got, tt.want)
			}
		})
	}
	if NewWeightedRandom(&seq{vals: []uint64{0}}).Pick(nil) != -1 {
		t.Fatal("picked from an empty set")
	}
}

func TestWeightedRandomIsEvenAndSeeded(t *testing.T) {
	routes := routesOf("a", "b", "c", "d")
	w := NewWeightedRandom(newSource(42, 0))
	const picks = 40000
	counts := make([]int, len(routes))
	for i := 0; i < picks; i++ {
		counts[w.Pick(routes)]++
	}
	for i, c := range counts {
		if share := float64(c) / picks; math.Abs(share-0.25) > 0.02 {
			t.Fatalf("target %d got %.3f of the picks, want 0.25: %v", i, share, counts)
		}
	}
	same, other, again := newSource(7, 1), newSource(7, 2), newSource(7, 1)
	diff := false
	for i := 0; i < 8; i++ {
		a, b, c := same.Uint64(), other.Uint64(), again.Uint64()
		if a != c {
			t.Fatal("the same seed and stream gave different numbers")
		}
		diff = diff || a != b
	}
	if !diff {
		t.Fatal("two nodes' streams are the same")
	}
}

func TestSlowStartWeight(t *testing.T) {
	const d = 100 * time.Second
	tests := []struct {
		name  string
		since time.Duration
		d     time.Duration
		want  float64
	}{
		{"off", 10 * time.Second, 0, 1},
		{"just healthy: the floor", 0, d, slowStartFloor},
		{"clock behind: the floor", -time.Second, d, slowStartFloor},
		{"a quarter in", 25 * time.Second, d, slowStartFloor + (1-slowStartFloor)/4},
		{"half way", 50 * time.Second, d, 0.55},
		{"at the end", d, d, 1},
		{"after the end", 3 * d, d, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := slowStartWeight(tt.since, tt.d); math.Abs(got-tt.want) > 1e-9 {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRoundRobinSlowStartShare(t *testing.T) {
	const d = 100 * time.Second
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name    string
		elapsed time.Duration
		want    float64 // share of the target in slow start: w/(w+1)
		tol     float64
	}{
		{"just healthy", 0, 0.1 / 1.1, 0.015},
		{"half way", d / 2, 0.55 / 1.55, 0.02},
		{"done", d, 0.5, 0},
		{"long done", 10 * d, 0.5, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clock.NewFake(t0.Add(tt.elapsed))
			rr := NewRoundRobin(d, c, newSource(1, 0))
			routes := routesOf("a", "new")
			routes[1].slowStart = t0
			const picks = 20000
			got := 0
			for i := 0; i < picks; i++ {
				if rr.Pick(routes) == 1 {
					got++
				}
			}
			if share := float64(got) / picks; math.Abs(share-tt.want) > tt.tol {
				t.Fatalf("new target got %.4f of the picks, want %.4f", share, tt.want)
			}
		})
	}
}

func TestNewRejectsBadRouting(t *testing.T) {
	base := func() Config {
		return Config{Zones: newHarnessZones(t), Clock: clock.NewFake(time.Unix(0, 0)), Events: nopPublisher{}}
	}
	tests := []struct {
		name string
		mut  func(*Config)
		err  string
	}{
		{"unknown algorithm", func(c *Config) { c.Algorithm = "fastest" }, "unknown routing algorithm"},
		{"slow start with least outstanding requests", func(c *Config) {
			c.Algorithm, c.SlowStart = AlgorithmLeastOutstanding, time.Minute
		}, "not available"},
		{"slow start with weighted random", func(c *Config) {
			c.Algorithm, c.SlowStart = AlgorithmWeightedRandom, time.Minute
		}, "not available"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base()
			tt.mut(&cfg)
			if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("err %v, want %q", err, tt.err)
			}
		})
	}
	cfg := base()
	cfg.SlowStart = time.Minute
	if _, err := New(cfg); err != nil {
		t.Fatalf("round robin with slow start: %v", err)
	}
}

// slowStartOf is when node n put target id in slow start (zero: it did not).
func slowStartOf(n *Node, id string) time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.views[azID(id)].slowStart
}

// share sends requests straight to node n and says what share target name served.
func share(t *testing.T, n *Node, requests int, name string) float64 {
	t.Helper()
	got := 0
	for i := 0; i < requests; i++ {
		w := httptest.NewRecorder()
		n.ServeHTTP(w, httptest.NewRequest("GET", "http://lb/", nil))
		if w.Code != http.StatusOK {
			t.Fatalf("request %d: status %d", i, w.Code)
		}
		if w.Header().Get("X-Served-By") == name {
			got++
		}
	}
	return float64(got) / float64(requests)
}

func TestSlowStartRampsANewTarget(t *testing.T) {
	const d = 60 * time.Second
	h := newHarness(t, func(c *Config) { c.SlowStart = d })
	a, b := backend(t, "a", nil), backend(t, "b", nil)
	h.register("i-a", "us-east-1a", a)
	h.waitState("i-a", StateHealthy)
	h.register("i-b", "us-east-1b", b)
	h.waitState("i-b", StateHealthy)
	n := h.lb.Nodes()[0]
	if !slowStartOf(n, "i-a").IsZero() {
		t.Fatal("the first target of an empty group entered slow start")
	}
	if slowStartOf(n, "i-b").IsZero() {
		t.Fatal("a target turning healthy beside a healthy one did not enter slow start")
	}
	if s := share(t, n, 400, "b"); s > 0.2 {
		t.Fatalf("new target got %.2f of the requests at first, want about 0.09", s)
	}
	h.check(2)
	h.check(2) // 60 s: slow start is over
	if s := share(t, n, 400, "b"); math.Abs(s-0.5) > 0.01 {
		t.Fatalf("after slow start the new target got %.2f, want 0.5", s)
	}
}

func TestSlowStartEndsWhenUnhealthyAndRestarts(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SlowStart = 600 * time.Second })
	a, b := backend(t, "a", nil), backend(t, "b", nil)
	h.register("i-a", "us-east-1a", a)
	h.waitState("i-a", StateHealthy)
	h.register("i-b", "us-east-1b", b)
	h.waitState("i-b", StateHealthy)
	n := h.lb.Nodes()[0]
	first := slowStartOf(n, "i-b")
	if first.IsZero() {
		t.Fatal("i-b did not enter slow start")
	}
	h.prober.set(b, timeout)
	h.check(2)
	h.check(2)
	h.waitState("i-b", StateUnhealthy)
	if !slowStartOf(n, "i-b").IsZero() {
		t.Fatal("slow start survived the target turning unhealthy")
	}
	h.prober.set(b, pass)
	for i := 0; i < 5; i++ {
		h.check(2)
	}
	h.waitState("i-b", StateHealthy)
	if again := slowStartOf(n, "i-b"); !again.After(first) {
		t.Fatalf("slow start did not restart on healthy: %v, first %v", again, first)
	}
	if _, err := h.lb.Deregister("i-b"); err != nil {
		t.Fatal(err)
	}
	h.waitState("i-b", StateDraining)
	if !slowStartOf(n, "i-b").IsZero() {
		t.Fatal("deregistering did not end slow start")
	}
}

func TestLeastOutstandingNodeAvoidsBusyTarget(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Algorithm = AlgorithmLeastOutstanding })
	started, release := make(chan string, 2), make(chan struct{})
	slow := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/slow" {
				started <- name
				<-release
			}
		}
	}
	h.register("i-a", "us-east-1a", backend(t, "a", slow("a")))
	h.register("i-b", "us-east-1b", backend(t, "b", slow("b")))
	h.waitState("i-a", StateHealthy)
	h.waitState("i-b", StateHealthy)
	n := h.lb.Nodes()[0]
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "http://lb/slow", nil))
	}()
	busy := <-started
	for i := 0; i < 4; i++ {
		w := httptest.NewRecorder()
		n.ServeHTTP(w, httptest.NewRequest("GET", "http://lb/", nil))
		if by := w.Header().Get("X-Served-By"); by == busy {
			t.Fatalf("request %d went to busy target %s", i, busy)
		}
	}
	close(release)
	<-done
}
