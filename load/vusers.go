package load

import (
	"context"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// The closed model: concurrent virtual users, as k6's ramping-vus executor
// runs them. In a users phase (Phase.Users) From and To count users, not
// requests: the number of live users ramps linearly as a rate does, and
// each live user sends one request, waits for its answer, thinks, and sends
// the next. A slow tier therefore gets fewer requests, as real visitors
// send fewer when pages load slowly; the rate the run reports is what the
// users sent, not a schedule.
//
// Each user is one goroutine while it lives (users.go's cookie jar is its
// session; its think times come from its own seeded source). A thinking
// user is parked on one timer: it costs its goroutine's stack and its jar,
// and no wake-ups until its timer fires (BenchmarkClosedUserMemory).
//
// User i (0-based) is live while the ramp's count is above i, so users
// start in order as the count rises and the highest ones leave first as it
// falls. A user leaving finishes its request in flight first (k6's
// graceful ramp-down); it checks at each send whether it is still wanted,
// and if not it sleeps until the ramp wants it again, or ends.
//
// Send lag has this meaning in the closed model: a send is due when the
// user's think time after its last answer ends (or, for its first send,
// when the ramp brings it in); lag is how much later the load generator
// actually sent it. A slow answer moves the due time and is not lag; only
// the generator's own lateness (its timers, its goroutines, the host's CPU)
// is. The run is invalid when that lag's p99 exceeds Config.MaxLag, as in
// the open model.

// thinkSpread is how far a think time strays from its mean, as a share of
// it: a user's pauses are uniform in [mean*(1-thinkSpread),
// mean*(1+thinkSpread)], so users started together drift apart instead of
// sending in lock step.
const thinkSpread = 0.5

// spawnLead is how early the controller starts a user's goroutine before
// its first send is due: the goroutine then waits on its own timer, so
// users keep the ramp's exact start times however the controller is
// scheduled.
const spawnLead = 50 * time.Millisecond

// MaxUsers bounds a users phase: each user holds a goroutine and a cookie
// jar for as long as it lives.
const MaxUsers = 100000

// closedModel reports whether the phases count users.
func closedModel(ps []Phase) bool { return len(ps) > 0 && ps[0].Users }

// liveAt is the number of users the ramp wants at elapsed: the whole part
// of the ramped count (plus a hair for rounding, so a steady 3 is 3).
func liveAt(r RampPacer, elapsed time.Duration) int {
	return int(math.Floor(r.Rate(elapsed) + 1e-9))
}

// peakUsers is the most users the profile has live at once.
func peakUsers(ps []Phase) int {
	peak := 0.0
	for _, p := range ps {
		peak = max(peak, p.From, p.To)
	}
	return int(math.Floor(peak + 1e-9))
}

// wantedFrom returns the first instant at or after t at which user i is
// wanted (the ramp's count is above i), or false if the profile ends first.
func wantedFrom(r RampPacer, i int, t time.Duration) (time.Duration, bool) {
	need, tol := float64(i+1), 1e-9 // tol: a steady 3 is 3
	var start time.Duration
	for _, ph := range r.Phases {
		end := start + ph.Duration
		if end <= t {
			start = end
			continue
		}
		lo := max(t, start) // the part of the phase at or after t
		switch {
		case ph.From >= need-tol && ph.To >= need-tol:
			return lo, true
		case ph.To > ph.From && ph.To >= need-tol: // rising through need
			at := start + time.Duration(math.Ceil((need-ph.From)/(ph.To-ph.From)*float64(ph.Duration)-1e-3))
			if at < end {
				return max(at, lo), true
			}
		case ph.From > ph.To && ph.From >= need-tol: // falling through need
			last := start + time.Duration(math.Floor((ph.From-need)/(ph.From-ph.To)*float64(ph.Duration)+1e-3))
			if lo <= last {
				return lo, true
			}
		}
		start = end
	}
	return 0, false
}

// thinkTime draws one pause around mean from rng.
func thinkTime(mean time.Duration, rng *rand.Rand) time.Duration {
	if mean <= 0 {
		return 0
	}
	f := 1 - thinkSpread + 2*thinkSpread*rng.Float64()
	return time.Duration(float64(mean) * f)
}

// thinkAt is the mean think time of the phase running at elapsed (the last
// phase's after the end).
func thinkAt(ps []Phase, elapsed time.Duration) time.Duration {
	for _, p := range ps {
		if elapsed < p.Duration {
			return p.ThinkTime
		}
		elapsed -= p.Duration
	}
	if len(ps) == 0 {
		return 0
	}
	return ps[len(ps)-1].ThinkTime
}

// nextSend is a user's scheduling step: given when its last answer came
// (or its start), it returns when its next send is due, or false when the
// user is done. think is the pause already drawn.
func nextSend(r RampPacer, i int, answered, think time.Duration) (time.Duration, bool) {
	due := answered + think
	if due >= r.Duration() {
		return 0, false
	}
	return wantedFrom(r, i, due)
}

// waiter is the closed model's clock: the time since the run began, and a
// wait until a time since then (false if ctx ended first).
type waiter interface {
	since() time.Duration
	waitUntil(ctx context.Context, at time.Duration) bool
}

// wallWaiter is the real clock, from a start instant.
type wallWaiter struct{ start time.Time }

func (w wallWaiter) since() time.Duration { return time.Since(w.start) }

func (w wallWaiter) waitUntil(ctx context.Context, at time.Duration) bool {
	d := at - time.Since(w.start)
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// sender sends one request for user i whose send was due at due (time
// since the run began) and returns the time since the run began at which
// the answer (or the error) came.
type sender interface {
	send(ctx context.Context, user int, due time.Duration) time.Duration
}

// users runs the closed model's users over the profile: the controller
// starts each user's goroutine as the ramp first wants it, and each user
// then schedules itself (userLoop). It returns once every user has ended.
func runUsers(ctx context.Context, r RampPacer, seed uint64, clk waiter, s sender) {
	var wg sync.WaitGroup
	defer wg.Wait()
	peak := peakUsers(r.Phases)
	for i := 0; i < peak; i++ {
		first, ok := wantedFrom(r, i, 0)
		if !ok {
			break // users are wanted in order: none after i is either
		}
		if !clk.waitUntil(ctx, first-spawnLead) {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			userLoop(ctx, r, i, first, seed, clk, s)
		}()
	}
}

// userLoop is one virtual user's life: send when due, wait for the answer,
// think, repeat while the ramp wants it.
func userLoop(ctx context.Context, r RampPacer, i int, due time.Duration, seed uint64, clk waiter, s sender) {
	rng := rand.New(rand.NewPCG(seed, uint64(i)^0x5851f42d4c957f2d))
	for {
		if !clk.waitUntil(ctx, due) {
			return
		}
		answered := s.send(ctx, i, due)
		next, ok := nextSend(r, i, answered, thinkTime(thinkAt(r.Phases, answered), rng))
		if !ok || ctx.Err() != nil {
			return
		}
		due = next
	}
}

// httpSender sends the closed model's requests with the open model's
// client and transport (the same dialer, cookie jars and headers) and hands
// each result, numbered in send order, to results.
type httpSender struct {
	client   *http.Client
	targeter *Targeter
	start    time.Time
	results  chan<- sentResult

	mu  sync.Mutex
	seq uint64
}

// sentResult is a closed-model result with its send's lag.
type sentResult struct {
	res *vegeta.Result
	lag time.Duration
}

func (h *httpSender) send(ctx context.Context, user int, due time.Duration) time.Duration {
	var tgt vegeta.Target
	h.targeter.NextFor(&tgt, user)

	res := &vegeta.Result{Attack: "lab", Method: tgt.Method, URL: tgt.URL}
	h.mu.Lock() // Seq and Timestamp together, as vegeta orders them
	res.Timestamp = h.start.Add(time.Since(h.start))
	res.Seq = h.seq
	h.seq++
	h.mu.Unlock()
	lag := max(res.Timestamp.Sub(h.start)-due, 0)

	err := h.do(ctx, &tgt, res)
	res.Latency = time.Since(res.Timestamp)
	if err != nil {
		res.Error = err.Error()
	}
	answered := res.Timestamp.Sub(h.start) + res.Latency
	h.results <- sentResult{res, lag}
	return answered
}

// do sends tgt and fills res as vegeta's attacker does.
func (h *httpSender) do(ctx context.Context, tgt *vegeta.Target, res *vegeta.Result) error {
	req, err := tgt.Request()
	if err != nil {
		return err
	}
	req = req.WithContext(context.WithoutCancel(ctx)) // in flight when the run ends: finish, within the client's timeout
	req.Header.Set("X-Vegeta-Attack", res.Attack)
	req.Header.Set("X-Vegeta-Seq", strconv.FormatUint(res.Seq, 10))
	r, err := h.client.Do(req)
	if err != nil {
		return err
	}
	defer r.Body.Close()
	if res.Body, err = io.ReadAll(io.LimitReader(r.Body, maxBody)); err != nil {
		return err
	}
	if _, err = io.Copy(io.Discard, r.Body); err != nil {
		return err
	}
	res.BytesIn = uint64(len(res.Body))
	if req.ContentLength != -1 {
		res.BytesOut = uint64(req.ContentLength)
	}
	if res.Code = uint16(r.StatusCode); res.Code < 200 || res.Code >= 400 {
		res.Error = r.Status
	}
	res.Headers = r.Header
	return nil
}
