package agent

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplydone/lab/load"
)

// countingServer is a real HTTP server on loopback that answers every
// request 200 and counts them.
func countingServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Write([]byte("[]"))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// A share of the load runs on the agent (a real generator, over the
// agent's TLS API on loopback) while the controller runs its own share,
// both from one wall instant; the agent's raw results come back and merge
// with the local ones: the merged count is the sum and the server saw
// every one of them.
func TestLoadShareOnTheAgentMergesWithTheLocalShare(t *testing.T) {
	srv, served := countingServer(t)
	tok := token(t)
	_, addr := serve(t, Config{Token: tok, NewRuntime: processFactory, Logger: quiet})
	r, err := DialRun(context.Background(), addr, tok, newRunID(), "process")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })

	phases := []load.Phase{{Name: "steady", Duration: 2 * time.Second, From: 60, To: 60}}
	shares, err := load.Split(phases, []float64{1, 1})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(500 * time.Millisecond)
	ctx := context.Background()
	if err := r.StartLoad(ctx, LoadShare{Targets: []string{srv.URL}, Phases: shares[1], Seed: load.ShareSeed(3, 1), StartAt: at}); err != nil {
		t.Fatalf("StartLoad: %v", err)
	}
	if err := r.StartLoad(ctx, LoadShare{Targets: []string{srv.URL}, Phases: shares[1], StartAt: at}); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("a second share while one runs: %v, want refused", err)
	}
	_, local, err := load.RunRaw(ctx, load.Config{Targets: []string{srv.URL}, Phases: shares[0], Seed: 3, StartAt: at})
	if err != nil {
		t.Fatalf("the local share: %v", err)
	}
	remote, err := r.LoadResult(ctx)
	if err != nil {
		t.Fatalf("LoadResult: %v", err)
	}
	if !remote.Start.Equal(at) || !local.Start.Equal(at) {
		t.Errorf("starts: agent %s, local %s, want both %s", remote.Start, local.Start, at)
	}
	m, err := load.Merge(local, remote)
	if err != nil {
		t.Fatal(err)
	}
	res := m.Result()
	t.Logf("local %d + agent %d = %d requests, server saw %d; offered %.1f; p99 %s",
		local.Requests(), remote.Requests(), res.Requests, served.Load(), res.Offered, res.P99)
	if remote.Requests() < 55 || local.Requests() < 55 {
		t.Errorf("shares sent %d (agent) and %d (local), want about 60 each", remote.Requests(), local.Requests())
	}
	if res.Requests != local.Requests()+remote.Requests() || int64(res.Requests) != served.Load() {
		t.Errorf("merged %d requests, shares %d + %d, server saw %d", res.Requests, local.Requests(), remote.Requests(), served.Load())
	}
	if res.OK2xx != res.Requests {
		t.Errorf("%d of %d answered 2xx", res.OK2xx, res.Requests)
	}
	if res.Offered < 119 || res.Offered > 121 {
		t.Errorf("offered %.1f, want 120", res.Offered)
	}
}

// A share whose start has passed is refused by the agent's generator and
// says why; a run with no share says so.
func TestLoadShareStartPassed(t *testing.T) {
	srv, _ := countingServer(t)
	tok := token(t)
	_, addr := serve(t, Config{Token: tok, NewRuntime: processFactory, Logger: quiet})
	r, err := DialRun(context.Background(), addr, tok, newRunID(), "process")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	ctx := context.Background()
	if _, err := r.LoadResult(ctx); err == nil || !strings.Contains(err.Error(), "no load share") {
		t.Errorf("no share: %v", err)
	}
	phases := []load.Phase{{Duration: time.Second, From: 10, To: 10}}
	if err := r.StartLoad(ctx, LoadShare{Targets: []string{srv.URL}, Phases: phases, StartAt: time.Now().Add(-5 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.LoadResult(ctx); err == nil || !strings.Contains(err.Error(), load.ErrStartPassed.Error()) {
		t.Errorf("a start 5 s ago: %v, want %q", err, load.ErrStartPassed)
	}
}

// The controller falls silent: a lease later the agent's dead-man switch
// stops the share (a generator with no controller loads the stack for
// nobody) and keeps its partial results; the renewal after says so.
func TestDeadManStopsTheLoadShare(t *testing.T) {
	srv, served := countingServer(t)
	l := newDeadmanLab(t)
	r, _ := l.open(t)
	ctx := context.Background()
	phases := []load.Phase{{Duration: time.Minute, From: 20, To: 20}}
	if err := r.StartLoad(ctx, LoadShare{Targets: []string{srv.URL}, Phases: phases, StartAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the share sending", func() bool { return served.Load() > 5 })
	r.stopRenewing()
	l.advance(l.lease)
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	raw, err := r.LoadResult(wctx)
	if err == nil || raw == nil {
		t.Fatalf("after a silent lease: raw %v, err %v; want the partial results and the stop", raw != nil, err)
	}
	t.Logf("stopped: %v; %d requests kept", err, raw.Requests())
	if raw.Requests() == 0 || raw.Span >= time.Minute {
		t.Errorf("partial share: %d requests over %s", raw.Requests(), raw.Span)
	}
	before := served.Load()
	time.Sleep(200 * time.Millisecond) // a stopped share sends nothing more: look for a while
	if after := served.Load(); after != before {
		t.Errorf("the share sent %d more requests after it was stopped", after-before)
	}
	if !strings.Contains(l.log.String(), "the load share") {
		t.Errorf("the agent's log does not say it stopped the load share:\n%s", l.log.String())
	}
}
