package agent

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/simplydone/lab/sim/az"
)

// fakeNode is a NodeHost that records what it was asked.
type fakeNode struct {
	mu      sync.Mutex
	spec    string
	targets []string
	calls   []string
	up      bool
	closed  bool
	drained chan struct{} // Deregister waits for it
}

func (f *fakeNode) add(c string) { f.mu.Lock(); f.calls = append(f.calls, c); f.mu.Unlock() }

func (f *fakeNode) Register(_ context.Context, t NodeTarget) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.targets = append(f.targets, t.ID)
	f.calls = append(f.calls, "register "+t.ID+" "+t.Addr+" "+t.Zone)
	return nil
}

func (f *fakeNode) Deregister(ctx context.Context, t NodeTarget) error {
	select {
	case <-f.drained:
	case <-ctx.Done():
		return ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.targets = slices.DeleteFunc(f.targets, func(id string) bool { return id == t.ID })
	f.calls = append(f.calls, "deregister "+t.ID)
	return nil
}

func (f *fakeNode) Health() (json.RawMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return json.Marshal(map[string]any{"targets": f.targets})
}

func (f *fakeNode) Metrics() (json.RawMessage, error) { return json.RawMessage(`{"requests":7}`), nil }

func (f *fakeNode) State() (json.RawMessage, error) { return json.RawMessage(`{"state":true}`), nil }

func (f *fakeNode) InjectFault(spec json.RawMessage) (func() int64, error) {
	f.add("fault " + string(spec))
	return func() int64 { f.add("unfault"); return 3 }, nil
}

func (f *fakeNode) SetWeights(spec json.RawMessage) error {
	f.add("weights " + string(spec))
	return nil
}

func (f *fakeNode) Join(spec json.RawMessage) error {
	f.add("join " + string(spec))
	return nil
}

func (f *fakeNode) SetUp(up bool) error {
	f.mu.Lock()
	f.up = up
	f.mu.Unlock()
	if up {
		f.add("start")
	} else {
		f.add("stop")
	}
	return nil
}

func (f *fakeNode) Close() error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	f.add("close")
	return nil
}

func (f *fakeNode) state() (up, closed bool, calls []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.up, f.closed, slices.Clone(f.calls)
}

// The node's endpoints reach the factory's node: open with the spec as
// sent, register, a deregistration that answers only once draining is
// done, the health and metric views, stop and start; the dead-man starts
// a stopped node; the run's end closes it.
func TestNodeEndpoints(t *testing.T) {
	node := &fakeNode{up: true, drained: make(chan struct{})}
	var gotSpec json.RawMessage
	l := newDeadmanLab(t, func(c *Config) {
		c.NewNode = func(_ context.Context, runID string, spec json.RawMessage, dir string, _ az.Runtime) (NodeHost, error) {
			gotSpec = spec
			return node, nil
		}
	})
	r, _ := l.open(t)
	ctx := context.Background()

	if err := r.RegisterTarget(ctx, NodeTarget{ID: "i-1"}); err == nil || !contains(err.Error(), "no load-balancer node is open") {
		t.Fatalf("register before the node is open: %v, want refused", err)
	}
	if err := r.OpenNode(ctx, json.RawMessage(`{"port":8080}`)); err != nil {
		t.Fatal(err)
	}
	if string(gotSpec) != `{"port":8080}` {
		t.Errorf("the factory got spec %s, want the one sent", gotSpec)
	}
	if err := r.OpenNode(ctx, json.RawMessage(`{}`)); err == nil || !contains(err.Error(), "already has its load-balancer node") {
		t.Errorf("a second open: %v, want refused", err)
	}
	if err := r.RegisterTarget(ctx, NodeTarget{ID: "i-1", Addr: "127.0.1.10:8080", Zone: "a"}); err != nil {
		t.Fatal(err)
	}
	var h struct{ Targets []string }
	if err := r.NodeView(ctx, "health", &h); err != nil || !slices.Equal(h.Targets, []string{"i-1"}) {
		t.Fatalf("health: %+v, %v; want i-1", h, err)
	}
	var m struct{ Requests int }
	if err := r.NodeView(ctx, "metrics", &m); err != nil || m.Requests != 7 {
		t.Fatalf("metrics: %+v, %v", m, err)
	}
	var st struct{ State bool }
	if err := r.NodeView(ctx, "state", &st); err != nil || !st.State {
		t.Fatalf("state: %+v, %v", st, err)
	}
	if err := r.NodeView(ctx, "nonsense", &m); err == nil || !contains(err.Error(), "allowed: health, metrics, state") {
		t.Errorf("an unknown view: %v", err)
	}
	if err := r.JoinNode(ctx, json.RawMessage(`{"peers":["a"]}`)); err != nil {
		t.Fatal(err)
	}
	if err := r.SetNodeWeights(ctx, json.RawMessage(`{"priority":2}`)); err != nil {
		t.Fatal(err)
	}
	// A fault removed by the controller reports its hits; removing it again
	// is harmless.
	remove, err := r.InjectNodeFault(ctx, json.RawMessage(`{"Status":503}`))
	if err != nil {
		t.Fatal(err)
	}
	if hits, err := remove(ctx); err != nil || hits != 3 {
		t.Fatalf("remove the fault: %d hits, %v; want 3", hits, err)
	}
	if hits, err := remove(ctx); err != nil || hits != 0 {
		t.Fatalf("remove the fault again: %d hits, %v; want 0, no error", hits, err)
	}
	// One left in place: the dead-man removes it below.
	if _, err := r.InjectNodeFault(ctx, json.RawMessage(`{"Status":504}`)); err != nil {
		t.Fatal(err)
	}

	dereg := make(chan error, 1)
	go func() { dereg <- r.DeregisterTarget(ctx, NodeTarget{ID: "i-1"}, 10*time.Second) }()
	select {
	case err := <-dereg:
		t.Fatalf("deregistration answered before draining was done: %v", err)
	case <-time.After(100 * time.Millisecond): // a negative check: it must not answer yet
	}
	close(node.drained)
	if err := <-dereg; err != nil {
		t.Fatal(err)
	}

	if err := r.SetNodeUp(ctx, false); err != nil {
		t.Fatal(err)
	}
	if up, _, _ := node.state(); up {
		t.Fatal("the node is up after stop")
	}
	r.stopRenewing() // the controller dies: a lease later the dead-man starts the node
	l.advance(l.lease)
	if up, _, calls := node.state(); !up {
		t.Fatalf("a lease without renewal: node still stopped; calls %v", calls)
	}
	var out leaseResponse
	if err := r.c.do(ctx, "POST", r.path("/lease"), nil, &out); err != nil || !slices.Contains(out.Reverted, "the load-balancer node's stop") ||
		!slices.Contains(out.Reverted, "request fault 2 on the load-balancer node") {
		t.Fatalf("the renewal after: %+v, %v; want the node's stop and its fault reverted", out, err)
	}

	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	_, closed, calls := node.state()
	want := []string{"register i-1 127.0.1.10:8080 a", `join {"peers":["a"]}`, `weights {"priority":2}`, `fault {"Status":503}`, "unfault", `fault {"Status":504}`,
		"deregister i-1", "stop", "unfault", "start", "close"}
	if !closed || !slices.Equal(calls, want) {
		t.Fatalf("calls %v (closed %v), want %v", calls, closed, want)
	}
}

// An agent without a node factory refuses a node, saying why.
func TestNodeRefusedWithoutFactory(t *testing.T) {
	l := newDeadmanLab(t)
	r, _ := l.open(t)
	err := r.OpenNode(context.Background(), json.RawMessage(`{}`))
	if err == nil || !contains(err.Error(), "without a node factory") {
		t.Fatalf("open: %v, want refused for want of a factory", err)
	}
}
