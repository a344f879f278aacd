package load

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simplydone/lab/todo"
)

// simplyDone serves the real SimplyDone handler over one fresh store, on n
// loopback servers (the load balancer's nodes, as the generator sees them).
func simplyDone(t *testing.T, n int) []*httptest.Server {
	t.Helper()
	store, err := todo.OpenStore(context.Background(), t.TempDir())
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	srvs := make([]*httptest.Server, n)
	for i := range srvs {
		srvs[i] = httptest.NewServer(todo.NewHandler(store, todo.Config{InstanceID: "i-0load", Zone: "lab-1a"}))
		t.Cleanup(srvs[i].Close) // runs before the store closes
	}
	return srvs
}

// checkSeconds asserts that seconds were delivered once each, in order,
// covering at least want seconds, and that the Result holds the same ones.
func checkSeconds(t *testing.T, delivered []Second, res *Result, want int) {
	t.Helper()
	if len(delivered) < want {
		t.Fatalf("%d seconds delivered, want at least %d", len(delivered), want)
	}
	for i, s := range delivered {
		if s.Index != i {
			t.Fatalf("second %d delivered as index %d", i, s.Index)
		}
	}
	if len(res.Seconds) != len(delivered) {
		t.Fatalf("result holds %d seconds, %d delivered", len(res.Seconds), len(delivered))
	}
}

func TestRunAgainstSimplyDone(t *testing.T) {
	nodes := simplyDone(t, 2)
	var delivered []Second
	cfg := Config{
		Targets: []string{nodes[0].URL, nodes[1].URL},
		Phases: []Phase{
			{Name: "warm", Duration: time.Second, From: 200, To: 200},
			{Name: "ramp", Duration: time.Second, From: 200, To: 400},
		},
		Seed:     1,
		OnSecond: func(s Second) { delivered = append(delivered, s) },
	}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	ratio := res.AchievedRate / res.OfferedRate
	t.Logf("offered %.1f (%.1f rps), sent %d (%.1f rps), ratio %.4f; 2xx %d, 4xx %d, 5xx %d, transport %d",
		res.Offered, res.OfferedRate, res.Requests, res.AchievedRate, ratio, res.OK2xx, res.Err4xx, res.Err5xx, res.Transport)
	t.Logf("latency p50 %s p95 %s p99 %s max %s; lag p99 %s max %s; created %d",
		res.P50, res.P95, res.P99, res.Max, res.LagP99, res.MaxLag, len(res.Created))

	if ratio < 0.95 {
		t.Errorf("achieved/offered = %.3f, want at least 0.95", ratio)
	}
	if res.Offered < 499 || res.Offered > 501 {
		t.Errorf("offered %.1f hits, want 500", res.Offered)
	}
	if res.Invalid {
		t.Errorf("run invalid: %s", res.InvalidReason)
	}
	if res.OK2xx != res.Requests {
		t.Errorf("%d of %d requests failed", res.Requests-res.OK2xx, res.Requests)
	}
	checkSeconds(t, delivered, res, 2)
	if d := delivered[0]; d.Offered != 200 || d.Sent < 190 {
		t.Errorf("second 0 offered %.1f sent %d, want 200 and about 200", d.Offered, d.Sent)
	}
	sent := 0
	for _, s := range delivered {
		sent += s.Sent
	}
	if sent != res.Requests {
		t.Errorf("seconds hold %d requests, the run %d", sent, res.Requests)
	}

	// About 20% of the mix creates; every acknowledged one must be readable.
	if len(res.Created) < res.Requests/10 {
		t.Fatalf("%d creates recorded out of %d requests", len(res.Created), res.Requests)
	}
	lost, err := VerifyWrites(context.Background(), nodes[1].URL, res.Created)
	if err != nil || lost != 0 {
		t.Fatalf("VerifyWrites = %d lost, %v", lost, err)
	}
}

func TestSlowServiceIsNotAnInvalidRun(t *testing.T) {
	const delay = 300 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay) // the service under test is slow; the generator must not be
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)

	res, err := Run(context.Background(), Config{
		Targets: []string{srv.URL},
		Phases:  []Phase{{Name: "hold", Duration: time.Second, From: 100, To: 100}},
		Seed:    2,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Logf("p50 %s max %s; lag p99 %s max %s; sent %d", res.P50, res.Max, res.LagP99, res.MaxLag, res.Requests)
	if res.P50 < delay {
		t.Errorf("p50 %s, want at least the server's %s", res.P50, delay)
	}
	if res.Invalid || res.LagP99 > DefaultMaxLag {
		t.Errorf("a slow service made the run invalid: lag p99 %s: %s", res.LagP99, res.InvalidReason)
	}
	if res.Requests < 95 {
		t.Errorf("sent %d requests, want about 100: workers must grow, not cap the rate", res.Requests)
	}
}

func TestRunStopsWhenContextEnds(t *testing.T) {
	srv := simplyDone(t, 1)[0]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu        sync.Mutex
		delivered []Second
	)
	res, err := Run(ctx, Config{
		Targets: []string{srv.URL},
		Phases:  []Phase{{Name: "long", Duration: 30 * time.Second, From: 50, To: 50}},
		OnSecond: func(s Second) {
			mu.Lock()
			delivered = append(delivered, s)
			mu.Unlock()
			cancel() // stop after the first second
		},
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if res == nil {
		t.Fatal("no partial result")
	}
	if len(res.Seconds) < 1 || len(res.Seconds) > 3 {
		t.Errorf("%d seconds after stopping in the second one", len(res.Seconds))
	}
	if res.Offered < 50 || res.Offered > 150 || res.Requests > 160 {
		t.Errorf("offered %.1f, sent %d: want about one or two seconds' worth", res.Offered, res.Requests)
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	good := Phase{Duration: time.Second, From: 1, To: 1}
	tests := []struct {
		name    string
		cfg     Config
		wantErr []string
	}{
		{"nothing", Config{}, []string{"no targets", "no phases"}},
		{"not loopback", Config{Targets: []string{"http://192.0.2.1:80"}, Phases: []Phase{good}}, []string{"only loopback"}},
		{"not a base URL", Config{Targets: []string{"127.0.0.1:80", "http://127.0.0.1/x"}, Phases: []Phase{good}}, []string{`"127.0.0.1:80"`, `"http://127.0.0.1/x"`}},
		{"bad phases", Config{Targets: []string{"http://127.0.0.1:1"}, Phases: []Phase{{Name: "a", From: 1, To: 1}, {Name: "b", Duration: time.Second, From: -1}}},
			[]string{`phase 1 ("a"): duration`, `phase 2 ("b"): rates`}},
		{"bad mix", Config{Targets: []string{"http://127.0.0.1:1"}, Phases: []Phase{good}, Mix: Mix{Get: -1}}, []string{"negative"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Run(context.Background(), tc.cfg)
			if err == nil || res != nil {
				t.Fatalf("Run = %v, %v; want an error", res, err)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// The client bounds each request, its body included, by the timeout, and
// a body read in time is read whole after the round trip has returned.
func TestClientTimeoutCoversHeadersAndBody(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/silent": // no headers until released
			<-release
		case "/stalls": // headers and part of the body, then silence
			w.Header().Set("Content-Length", "10")
			w.Write([]byte("hello"))
			w.(http.Flusher).Flush()
			<-release
		default:
			w.Write([]byte("whole body"))
		}
	}))
	defer srv.Close()
	defer close(release) // before srv.Close: the handlers return
	transport, _, client := newClient(200*time.Millisecond, nil)
	defer transport.CloseIdleConnections()

	start := time.Now()
	if _, err := client.Get(srv.URL + "/silent"); err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a target silent past the timeout: error %v, want a deadline exceeded", err)
	}
	resp, err := client.Get(srv.URL + "/stalls")
	if err != nil {
		t.Fatalf("headers came in time, yet: %v", err)
	}
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Errorf("a body stalled past the timeout was read without an error")
	}
	resp.Body.Close()
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("two timeouts of 200 ms took %s", el)
	}

	resp, err = client.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // the round trip has returned: its deadline must still hold, not be cancelled
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(b) != "whole body" {
		t.Errorf("body %q, error %v; want the whole body", b, err)
	}
}
