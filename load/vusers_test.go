package load

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const s = time.Second

func TestWantedFrom(t *testing.T) {
	ramp := RampPacer{Phases: []Phase{
		{Duration: 4 * s, From: 0, To: 4, Users: true}, // user i wanted from (i+1) s
		{Duration: 4 * s, From: 4, To: 4, Users: true},
		{Duration: 4 * s, From: 2, To: 2, Users: true}, // users 2 and 3 leave
		{Duration: 4 * s, From: 4, To: 0, Users: true}, // falling: user i wanted until 12s + (3-i) s
	}}
	cases := []struct {
		user int
		at   time.Duration
		want time.Duration
		ok   bool
	}{
		{0, 0, 1 * s, true},
		{3, 0, 4 * s, true},
		{3, 5 * s, 5 * s, true},
		{3, 8 * s, 12 * s, true},                   // gone for the steady 2, back at the fall's start
		{3, 12*s + 500*time.Millisecond, 0, false}, // the fall has passed 4 already
		{0, 15 * s, 15 * s, true},
		{0, 15*s + 1, 0, false},
		{4, 0, 0, false}, // never more than 4
		{0, 16 * s, 0, false},
	}
	for _, c := range cases {
		got, ok := wantedFrom(ramp, c.user, c.at)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("wantedFrom(user %d, %s) = %s, %v; want %s, %v", c.user, c.at, got, ok, c.want, c.ok)
		}
	}
	if n := liveAt(ramp, 9*s); n != 2 {
		t.Errorf("liveAt(9s) = %d, want 2", n)
	}
	if n := peakUsers(ramp.Phases); n != 4 {
		t.Errorf("peakUsers = %d, want 4", n)
	}
}

func TestNextSend(t *testing.T) {
	ramp := RampPacer{Phases: []Phase{
		{Duration: 10 * s, From: 2, To: 2, Users: true},
		{Duration: 10 * s, From: 1, To: 1, Users: true},
		{Duration: 10 * s, From: 2, To: 2, Users: true},
	}}
	// A slow answer moves the next send: due is answer + think.
	if due, ok := nextSend(ramp, 1, 3*s, 2*s); !ok || due != 5*s {
		t.Errorf("user 1 answered at 3s, think 2s: %s %v, want 5s", due, ok)
	}
	// User 1 is not wanted in the second phase: it waits for the third.
	if due, ok := nextSend(ramp, 1, 9*s, 2*s); !ok || due != 20*s {
		t.Errorf("user 1 due at 11s: %s %v, want 20s", due, ok)
	}
	if due, ok := nextSend(ramp, 0, 9*s, 2*s); !ok || due != 11*s {
		t.Errorf("user 0 due at 11s: %s %v, want 11s", due, ok)
	}
	if _, ok := nextSend(ramp, 0, 29*s, 2*s); ok {
		t.Error("a send due after the end must not happen")
	}
}

func TestThinkTimeSpread(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var sum time.Duration
	const n = 10000
	for range n {
		d := thinkTime(2*s, rng)
		if d < s || d > 3*s {
			t.Fatalf("think %s outside 1s..3s", d)
		}
		sum += d
	}
	if mean := sum / n; mean < 1900*time.Millisecond || mean > 2100*time.Millisecond {
		t.Errorf("mean think %s, want about 2s", mean)
	}
	if thinkTime(0, rng) != 0 {
		t.Error("no think time must give 0")
	}
}

// instantWaiter never blocks: every wait returns at once, so each user
// plays its whole life at once on the times the scheduler computes.
type instantWaiter struct{}

func (instantWaiter) since() time.Duration                                { return 0 }
func (instantWaiter) waitUntil(ctx context.Context, _ time.Duration) bool { return ctx.Err() == nil }

// recordingSender answers every request latency after it was due and
// records each (user, due).
type recordingSender struct {
	latency time.Duration
	mu      sync.Mutex
	sends   map[int][]time.Duration
}

func (r *recordingSender) send(_ context.Context, user int, due time.Duration) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sends[user] = append(r.sends[user], due)
	return due + r.latency
}

// TestUsersScheduleWithInjectedClock plays a ramp of users on a clock that
// never blocks: users start in order at the ramp's times, each sends one
// request at a time, paced by answer + think, the user the ramp drops
// sends nothing while it is not wanted, and a slower tier gets fewer
// requests from the same users.
func TestUsersScheduleWithInjectedClock(t *testing.T) {
	ramp := RampPacer{Phases: []Phase{
		{Duration: 3 * s, From: 0, To: 3, Users: true, ThinkTime: s},
		{Duration: 20 * s, From: 3, To: 3, Users: true, ThinkTime: s},
		{Duration: 20 * s, From: 2, To: 2, Users: true, ThinkTime: s},
	}}
	run := func(latency time.Duration) map[int][]time.Duration {
		rs := &recordingSender{latency: latency, sends: map[int][]time.Duration{}}
		runUsers(context.Background(), ramp, 7, instantWaiter{}, rs)
		return rs.sends
	}
	fast := run(10 * time.Millisecond)
	if len(fast) != 3 {
		t.Fatalf("%d users sent, want 3", len(fast))
	}
	for i := range 3 {
		ds := fast[i]
		if ds[0] != time.Duration(i+1)*s {
			t.Errorf("user %d first sent at %s, want %s", i, ds[0], time.Duration(i+1)*s)
		}
		for j := 1; j < len(ds); j++ {
			gap := ds[j] - ds[j-1]
			if gap < 510*time.Millisecond || gap > 1510*time.Millisecond {
				t.Errorf("user %d: gap %s between sends, want answer (10ms) + think (0.5s to 1.5s)", i, gap)
			}
		}
		if last := ds[len(ds)-1]; last >= ramp.Duration() {
			t.Errorf("user %d sent at %s, after the end", i, last)
		}
	}
	if last := fast[2][len(fast[2])-1]; last >= 23*s+1500*time.Millisecond {
		t.Errorf("user 2 sent at %s, long after the ramp dropped it at 23s", last)
	}
	if n0, n2 := len(fast[0]), len(fast[2]); n2 >= n0*2/3 {
		t.Errorf("user 2 (live about 20s) sent %d, user 0 (42s) %d", n2, n0)
	}
	slow := run(time.Second)
	total := func(m map[int][]time.Duration) (n int) {
		for _, ds := range m {
			n += len(ds)
		}
		return n
	}
	if f, sl := total(fast), total(slow); float64(sl) > 0.6*float64(f) {
		t.Errorf("a tier answering in 1s got %d requests, one answering in 10ms %d: users waiting must send less", sl, f)
	}
	again := run(10 * time.Millisecond)
	for i := range 3 {
		if !slices.Equal(fast[i], again[i]) {
			t.Fatalf("user %d's sends differ between runs with one seed", i)
		}
	}
}

// visitorServer gives each cookie-less request a new visitor cookie,
// answering after delay.
type visitorServer struct {
	delay  time.Duration
	mu     sync.Mutex
	issued int
	leaked bool
}

func (v *visitorServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	time.Sleep(v.delay) // the tier's latency, the thing under test
	v.mu.Lock()
	if r.Header.Get(userHeader) != "" {
		v.leaked = true
	}
	if _, err := r.Cookie("visitor"); err != nil {
		v.issued++
		http.SetCookie(w, &http.Cookie{Name: "visitor", Value: strconv.Itoa(v.issued), Path: "/"})
	}
	v.mu.Unlock()
	w.Write([]byte("[]"))
}

// TestClosedModelAgainstAServer runs 10 users for real: each keeps its own
// cookie (exactly 10 visitors, since a user waits for its answer), the run
// reports 10 users, and a tier answering 100 ms slower gets fewer
// requests from the same users, reported as a lower offered rate.
func TestClosedModelAgainstAServer(t *testing.T) {
	run := func(delay time.Duration) (*Result, *visitorServer) {
		v := &visitorServer{delay: delay}
		srv := httptest.NewServer(v)
		defer srv.Close()
		res, err := Run(context.Background(), Config{
			Targets: []string{srv.URL}, Seed: 5, Mix: Mix{List: 1},
			Phases: []Phase{{Name: "users", Duration: 2 * s, From: 10, To: 10, Users: true, ThinkTime: 50 * time.Millisecond}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return res, v
	}
	fast, fv := run(0)
	if fv.issued != 10 || fv.leaked {
		t.Errorf("%d visitor ids issued (want 10, one per user); user header leaked: %v", fv.issued, fv.leaked)
	}
	if fast.Users != 10 || fast.Offered != float64(fast.Requests) || fast.Seconds[0].Users != 10 {
		t.Errorf("users %d, offered %g for %d requests, second 0 users %d", fast.Users, fast.Offered, fast.Requests, fast.Seconds[0].Users)
	}
	// 10 users at 50 ms think: about 200/s, 400 in 2 s.
	if fast.Requests < 200 || fast.Requests > 600 {
		t.Errorf("%d requests from 10 users thinking 50ms over 2s, want about 400", fast.Requests)
	}
	slow, _ := run(100 * time.Millisecond)
	if float64(slow.Requests) > 0.6*float64(fast.Requests) || slow.OfferedRate >= fast.OfferedRate {
		t.Errorf("slow tier: %d requests (%.0f/s offered), fast: %d (%.0f/s)", slow.Requests, slow.OfferedRate, fast.Requests, fast.OfferedRate)
	}
	if slow.LagP99 > fast.LagP99+100*time.Millisecond {
		t.Errorf("a slow tier raised the send lag p99 from %s to %s: waiting on answers is not lag", fast.LagP99, slow.LagP99)
	}
}

func TestClosedModelConfigErrors(t *testing.T) {
	_, err := Run(context.Background(), Config{
		Targets: []string{"http://127.0.0.1:1"},
		Phases: []Phase{
			{Name: "a", Duration: s, From: 1.5, To: 2, Users: true},
			{Name: "b", Duration: s, From: 1, To: 1},
			{Name: "c", Duration: s, From: 1, To: 1, ThinkTime: s},
		},
	})
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{`phase 1 ("a"): users must be whole numbers`, `phase 2 ("b"): phases must all count users`, `phase 3 ("c"): think time is for users phases`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// BenchmarkClosedUserMemory measures what an idle virtual user costs: b.N
// users each send one request to a loopback server and then think for an
// hour; the figure is the growth of heap and goroutine stacks per user
// once all of them are parked. Run with -benchtime=10000x for 10,000 users.
func BenchmarkClosedUserMemory(b *testing.B) {
	srv := httptest.NewServer(&visitorServer{})
	defer srv.Close()
	n := b.N
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ctx, cancel := context.WithCancel(context.Background())
	var sent sync.WaitGroup
	sent.Add(n)
	once := make([]sync.Once, n)
	transport, bounded, client := newClient(DefaultTimeout, nil)
	client.Transport = newUserJars(bounded, n)
	defer transport.CloseIdleConnections()
	rng := rand.New(rand.NewPCG(1, 1))
	targeter, _ := NewTargeter([]string{srv.URL}, Mix{List: 1}, rng, "bench-")
	results := make(chan sentResult, 1024)
	go func() {
		for r := range results {
			_ = r
		}
	}()
	hs := &httpSender{client: client, targeter: targeter, start: time.Now(), results: results}
	// Users come in at 2,000 a second, so few requests are in flight at once
	// (and few server connections count in the figure).
	rampUp := time.Duration(float64(n) / 2000 * float64(time.Second))
	ramp := RampPacer{Phases: []Phase{
		{Duration: rampUp + time.Millisecond, From: 0, To: float64(n), Users: true, ThinkTime: time.Hour},
		{Duration: 2 * time.Hour, From: float64(n), To: float64(n), Users: true, ThinkTime: time.Hour},
	}}
	done := make(chan struct{})
	b.ResetTimer()
	go func() {
		defer close(done)
		runUsers(ctx, ramp, 1, wallWaiter{time.Now()}, senderFunc(func(ctx context.Context, user int, due time.Duration) time.Duration {
			at := hs.send(ctx, user, due)
			once[user].Do(sent.Done)
			return at
		}))
	}()
	sent.Wait()
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := float64(after.HeapInuse+after.StackInuse) - float64(before.HeapInuse+before.StackInuse)
	b.ReportMetric(grew/float64(n), "bytes/user")
	b.ReportMetric((float64(after.StackInuse)-float64(before.StackInuse))/float64(n), "stack-bytes/user")
	b.ReportMetric(float64(runtime.NumGoroutine()), "goroutines")
	cancel()
	<-done
	close(results)
}

type senderFunc func(ctx context.Context, user int, due time.Duration) time.Duration

func (f senderFunc) send(ctx context.Context, user int, due time.Duration) time.Duration {
	return f(ctx, user, due)
}

// BenchmarkClosedRequestCPU measures the process's CPU time per request
// (the closed-model driver and the loopback httptest server together) with
// 50 users sending back to back for one second per iteration; compare
// BenchmarkOpenRequestCPU, the same server under vegeta's open model.
func BenchmarkClosedRequestCPU(b *testing.B) {
	benchCPU(b, Phase{Name: "users", Duration: s, From: 50, To: 50, Users: true})
}

// BenchmarkOpenRequestCPU is BenchmarkClosedRequestCPU under the open
// model at 2,000 requests per second.
func BenchmarkOpenRequestCPU(b *testing.B) {
	benchCPU(b, Phase{Name: "rate", Duration: s, From: 2000, To: 2000})
}

func benchCPU(b *testing.B, ph Phase) {
	srv := httptest.NewServer(&visitorServer{})
	defer srv.Close()
	var reqs int
	cpu0 := cpuTime()
	for range b.N {
		res, err := Run(context.Background(), Config{Targets: []string{srv.URL}, Phases: []Phase{ph}, Mix: Mix{List: 1}})
		if err != nil {
			b.Fatal(err)
		}
		reqs += res.Requests
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Microsecond)/float64(reqs), "cpu-us/req")
	b.ReportMetric(float64(reqs)/float64(b.N), "req/run")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestClosedModelStopsWhenContextEnds: 1,000 users thinking a minute stop
// at once when ctx ends, and the partial result covers the run so far.
func TestClosedModelStopsWhenContextEnds(t *testing.T) {
	srv := httptest.NewServer(&visitorServer{})
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	began := time.Now()
	stop := time.AfterFunc(1500*time.Millisecond, cancel) // every user is thinking by then
	defer stop.Stop()
	res, err := Run(ctx, Config{
		Targets: []string{srv.URL}, Mix: Mix{List: 1},
		Phases: []Phase{{Name: "long", Duration: time.Minute, From: 1000, To: 1000, Users: true, ThinkTime: time.Minute}},
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("took %s to stop", took)
	}
	if res == nil || res.Requests != 1000 || res.Users != 1000 {
		t.Fatalf("partial result %+v: want each of the 1,000 users' first request", res)
	}
}
