package load

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/simplydone/lab/internal/fdlimit"
)

// Defaults for Config.
const (
	DefaultTimeout = 10 * time.Second
	DefaultMaxLag  = 250 * time.Millisecond
)

// maxBody is how much of each response body vegeta keeps (the rest is read
// and discarded): enough for a create's JSON, small at thousands of rps.
const maxBody = 4 << 10

// Config describes one load run.
type Config struct {
	// Targets are the base URLs of the load balancer's nodes, such as
	// http://127.0.1.1:8080; each request picks one. Loopback only.
	Targets []string
	Phases  []Phase
	Mix     Mix // zero means DefaultMix
	Seed    uint64
	// Timeout bounds each request, body included; zero means DefaultTimeout.
	Timeout time.Duration
	// MaxLag is how late, at the 99th percentile, sends may fall behind
	// their schedule before the run is invalid; zero means DefaultMaxLag.
	MaxLag time.Duration
	// OnSecond, if set, receives each Second in order as it closes, on the
	// goroutine that reads results: it must return quickly.
	OnSecond func(Second)
	// DialContext, if set, makes every connection: the lab's entry
	// resolves the load balancer's DNS name through its DNS server, as a
	// client on AWS does. Targets may then name hosts under .localhost
	// (http://simplydone-1234567890.us-east-1.elb.localhost:8080). Unset,
	// connections are dialled directly and Targets must be loopback.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// Users is how many virtual users send the requests, each with its own
	// cookie jar (users.go); zero: no cookies are kept, every request is a
	// new visitor.
	Users int
	// StartAt, if set, is the wall instant the schedule starts: one of
	// several generators sharing a run (split.go) waits for it, so that
	// their seconds line up. A start already past by more than MaxLag is
	// refused (ErrStartPassed); one past by less starts at once, and its
	// lateness is counted as send lag, as any late send is.
	StartAt time.Time
}

// ErrStartPassed: the wall instant a share of a run was to start had
// passed by more than the lag allowed when the generator got it.
var ErrStartPassed = errors.New("the load's start had already passed")

// Result summarises a run. Latencies are measured from the moment each
// request was sent; quantiles over the run come from an HDR-style histogram
// (within 0.8%), not from averaging the per-second ones.
type Result struct {
	Seconds []Second
	// Requests counts results; the others split them as in Second.
	Requests, OK2xx, Err4xx, Err5xx, Transport int
	Offered                                    float64 // hits the pacer scheduled
	P50, P95, P99, Max                         time.Duration
	// MaxLag and LagP99 say how late sends fell behind their schedule.
	MaxLag, LagP99 time.Duration
	// Invalid means the load generator could not hold its schedule, so the
	// run does not show how the service behaves at the offered rate.
	Invalid       bool
	InvalidReason string
	// Created holds every acknowledged create (a 201 whose body gives the
	// todo's id and title), in the order the acknowledgements arrived.
	Created []Write
	// Unreadable counts creates answered 201 whose body did not give an id
	// and a title: they were acknowledged, but cannot be looked up, so the
	// run cannot say whether they were kept.
	Unreadable int
	// Misacknowledged counts creates answered 201 with an id and a title
	// where the title is not the one the lab sent, or where the same id and
	// title were acknowledged before: the service said it kept something
	// other than this write, so the write counts as lost. They are not in
	// Created.
	Misacknowledged int
	// AchievedRate is requests sent per second and OfferedRate scheduled
	// hits per second, both over the run's span.
	AchievedRate, OfferedRate float64
	// Users is the most virtual users live at once when the phases count
	// users (the closed model); then the offered rate is what they sent,
	// less when the tier answers slowly. Zero in the open model, whose
	// rate is a schedule.
	Users int
	// Sessions is the check of the users' session state (their carts):
	// how many cart reads found an item their user's add had been
	// acknowledged before the read was sent, and how many did not.
	Sessions SessionCheck
	// Reads is the check of reads after writes: gets of acknowledged
	// todos that did not show them (stale.go).
	Reads ReadCheck
}

// collector takes each result, in completion order, with its send's lag.
type collector struct {
	agg                  *aggregator
	targeter             *Targeter
	sessions             sessions
	reads                staleReads
	created              []Write
	unreadable, misacked int
	seen                 map[Write]bool
}

func (c *collector) take(r *vegeta.Result, lag time.Duration) {
	c.agg.addLag(r, lag)
	c.sessions.take(r)
	c.reads.take(r)
	switch w, ok := acknowledged(r, c.targeter.title); {
	case ok && !c.seen[w]:
		c.seen[w] = true
		c.created = append(c.created, w)
		c.reads.written(w, r)
		c.targeter.AddID(w.ID)
	case ok || w.ID == misacknowledgedID:
		c.misacked++ // the same id and title again, or another title
	case w != (Write{}):
		c.unreadable++
	}
}

// runClosed runs the users of a closed-model profile, handing every result
// to take on this goroutine, and returns when all users have ended and
// every answer is in. Its stop function is context.AfterFunc's: false once
// ctx has ended (stopped was then called).
func runClosed(ctx context.Context, seed uint64, pacer RampPacer, client *http.Client, targeter *Targeter,
	start time.Time, stopped func(), take func(*vegeta.Result, time.Duration)) (stop func() bool) {
	// The users stop when ctx ends, but only through the AfterFunc, once
	// stopped has recorded when: Run reads it after the users are gone.
	userCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop = context.AfterFunc(ctx, func() {
		stopped()
		cancel()
	})
	results := make(chan sentResult, 1024)
	s := &httpSender{client: client, targeter: targeter, start: start, results: results}
	go func() {
		defer close(results)
		runUsers(userCtx, pacer, seed, wallWaiter{start}, s)
	}()
	for r := range results {
		take(r.res, r.lag)
	}
	return stop
}

func (c Config) withDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxLag == 0 {
		c.MaxLag = DefaultMaxLag
	}
	c.Mix = c.Mix.orDefault()
	return c
}

// validate reports every problem with c at once.
func (c Config) validate() error {
	var errs []error
	if len(c.Targets) == 0 {
		errs = append(errs, errors.New("no targets: give the base URL of at least one load balancer node"))
	}
	for _, t := range c.Targets {
		if err := checkTarget(t, c.DialContext != nil); err != nil {
			errs = append(errs, err)
		}
	}
	if len(c.Phases) == 0 {
		errs = append(errs, errors.New("no phases: the load profile needs at least one"))
	}
	closed := closedModel(c.Phases)
	for i, p := range c.Phases {
		if p.Users != closed {
			errs = append(errs, fmt.Errorf("phase %d (%q): phases must all count users or all give rates", i+1, p.Name))
		}
		if p.Users && (p.From != math.Trunc(p.From) || p.To != math.Trunc(p.To) || p.From > MaxUsers || p.To > MaxUsers) {
			errs = append(errs, fmt.Errorf("phase %d (%q): users must be whole numbers up to %d, got %g to %g", i+1, p.Name, MaxUsers, p.From, p.To))
		}
		if p.ThinkTime < 0 || (!p.Users && p.ThinkTime != 0) {
			errs = append(errs, fmt.Errorf("phase %d (%q): think time is for users phases and must not be negative, got %s", i+1, p.Name, p.ThinkTime))
		}
		if p.Duration <= 0 {
			errs = append(errs, fmt.Errorf("phase %d (%q): duration must be positive, got %s", i+1, p.Name, p.Duration))
		}
		if !validRate(p.From) || !validRate(p.To) {
			errs = append(errs, fmt.Errorf("phase %d (%q): rates must be zero or more, got %g to %g", i+1, p.Name, p.From, p.To))
		}
	}
	if err := c.Mix.validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Users < 0 {
		errs = append(errs, fmt.Errorf("users must not be negative, got %d", c.Users))
	}
	if c.Mix.Cart+c.Mix.AddToCart > 0 && !closed {
		errs = append(errs, errors.New("the mix's cart requests need users phases: a cart belongs to a user, and an open-model user's requests overlap, so two first requests can each get a session of their own"))
	}
	if c.Timeout < 0 || c.MaxLag < 0 {
		errs = append(errs, errors.New("timeout and max lag must not be negative"))
	}
	return errors.Join(errs...)
}

func validRate(r float64) bool { return r >= 0 && !math.IsInf(r, 1) }

// checkTarget accepts http URLs on loopback (127.0.0.0/8, ::1, localhost)
// with no path: the lab sends no traffic anywhere else. With a custom
// dialer, names under .localhost (RFC 6761: loopback only) are accepted
// too; the dialer resolves them.
func checkTarget(s string, customDial bool) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("target %q: %w", s, err)
	}
	if u.Scheme != "http" || u.Host == "" || strings.TrimSuffix(u.Path, "/") != "" {
		return fmt.Errorf("target %q: want a base URL like http://127.0.1.1:8080", s)
	}
	host := u.Hostname()
	if customDial && strings.HasSuffix(strings.ToLower(strings.TrimSuffix(host, ".")), ".localhost") {
		return nil
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("target %q: only loopback addresses are allowed", s)
	}
	return nil
}

// Run sends the whole load profile as one vegeta attack, or, when its
// phases count users, through virtual users (vusers.go), and returns what
// happened. Workers are not capped, so a slow service gets more concurrent
// requests rather than fewer sends (no coordinated omission); a request
// that takes longer than Timeout counts as a transport error.
//
// If ctx ends early, Run stops sending, waits for requests in flight (at
// most Timeout) and returns the partial Result with ctx's error.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	res, _, err := run(ctx, cfg, false)
	return res, err
}

// RunRaw runs as Run and also returns the raw results (raw.go), to be
// merged with other generators' shares of the same run. On an error
// before the start both are nil.
func RunRaw(ctx context.Context, cfg Config) (*Result, *Raw, error) {
	return run(ctx, cfg, true)
}

func run(ctx context.Context, cfg Config, keep bool) (*Result, *Raw, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, nil, fmt.Errorf("load config: %w", err)
	}
	bases := make([]string, len(cfg.Targets))
	for i, t := range cfg.Targets {
		bases[i] = strings.TrimSuffix(t, "/")
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	targeter, err := NewTargeter(bases, cfg.Mix, rng, fmt.Sprintf("lab load %d-", cfg.Seed))
	if err != nil {
		return nil, nil, fmt.Errorf("load config: %w", err)
	}
	pacer := RampPacer{Phases: cfg.Phases}
	closed := closedModel(cfg.Phases)

	transport, bounded, client := newClient(cfg.Timeout, cfg.DialContext)
	// Users' cookie jars sit under sentTitle, which must stay outermost: it
	// carries a create's title number from the request to its result.
	switch {
	case closed: // every virtual user keeps its own cookies, as k6's do
		client.Transport = sentTitle{newUserJars(bounded, peakUsers(cfg.Phases))}
	case cfg.Users > 0:
		targeter.users = cfg.Users
		client.Transport = sentTitle{newUserJars(bounded, cfg.Users)}
	}
	defer transport.CloseIdleConnections()

	var stoppedAt atomic.Int64 // elapsed when ctx ended, if it did
	start, err := waitStart(ctx, cfg.StartAt, cfg.MaxLag)
	if err != nil {
		return nil, nil, err
	}
	agg := newAggregator(start, pacer, cfg.OnSecond)
	agg.closed, agg.keep = closed, keep
	col := collector{agg: agg, targeter: targeter, seen: map[Write]bool{}}
	stopped := func() { stoppedAt.Store(int64(time.Since(start))) }
	var stop func() bool
	if closed {
		stop = runClosed(ctx, cfg.Seed, pacer, client, targeter, start, stopped, col.take)
	} else {
		atk := vegeta.NewAttacker(
			vegeta.Workers(initialWorkers(pacer)),
			vegeta.MaxBody(maxBody),
			vegeta.Client(client), // last: it replaces the whole client
		)
		results := atk.Attack(vegeta.Targeter(targeter.Next), pacer, 0, "lab")
		stop = context.AfterFunc(ctx, func() {
			stopped()
			atk.Stop()
		})
		for r := range results {
			col.take(r, agg.lagOf(r))
		}
	}
	defer stop()
	created, unreadable, misacked := col.created, col.unreadable, col.misacked

	span, early := pacer.Duration(), false
	if !stop() {
		// ctx ended; stoppedAt is still zero if that happened after the
		// attack had finished on its own.
		if at := time.Duration(stoppedAt.Load()); at > 0 && at < span {
			span, early = at, true
		}
	}
	res := agg.finish(int((span + time.Second - 1) / time.Second))
	res.Created, res.Unreadable, res.Misacknowledged = created, unreadable, misacked
	res.Sessions = col.sessions.check
	res.Reads = col.reads.check
	res.Offered = pacer.Hits(span)
	if closed { // users are not scheduled: what they sent is what they offered
		res.Offered, res.Users = float64(res.Requests), peakUsers(cfg.Phases)
	}
	if s := span.Seconds(); s > 0 {
		res.OfferedRate = res.Offered / s
		res.AchievedRate = float64(res.Requests) / s
	}
	judge(&res, cfg.MaxLag)
	var raw *Raw
	if keep {
		raw = &Raw{
			Start: start, Span: span, Offered: res.Offered, Users: res.Users, Closed: closed,
			MaxLag: cfg.MaxLag, Seconds: agg.raw, Latency: agg.latency, Lag: agg.lag,
			Created: created, Unreadable: unreadable, Misacknowledged: misacked,
			Sessions: res.Sessions, Reads: res.Reads,
		}
	}
	if early {
		return &res, raw, fmt.Errorf("load run stopped after %s: %w", span.Round(time.Millisecond), ctx.Err())
	}
	return &res, raw, nil
}

// waitStart waits for the wall instant at (now if zero) and returns it as
// the run's start. At already past by more than maxLag is refused; past by
// less, the run starts at once from at, its lateness counted as lag.
func waitStart(ctx context.Context, at time.Time, maxLag time.Duration) (time.Time, error) {
	now := time.Now()
	if at.IsZero() {
		return now, nil
	}
	if late := now.Sub(at); late > maxLag {
		return time.Time{}, fmt.Errorf("%w: it was %s, %s ago, more than the %s of lag allowed (are the hosts' clocks synchronised?)",
			ErrStartPassed, at.UTC().Format(time.RFC3339Nano), late.Round(time.Millisecond), maxLag)
	}
	t := time.NewTimer(time.Until(at))
	defer t.Stop()
	select {
	case <-t.C:
		return at, nil
	case <-ctx.Done():
		return time.Time{}, fmt.Errorf("load run: waiting for its start at %s: %w", at.UTC().Format(time.RFC3339Nano), ctx.Err())
	}
}

// judge marks a run invalid when the load generator fell behind its
// schedule: its latencies then describe a lighter load than the one offered.
func judge(r *Result, maxLag time.Duration) {
	if r.LagP99 <= maxLag {
		return
	}
	r.Invalid = true
	r.InvalidReason = fmt.Sprintf(
		"the load generator could not keep to its schedule: 1%% of requests were sent %s or more late (worst %s), over the %s allowed, so these numbers do not show how the service copes with the offered load",
		r.LagP99.Round(time.Millisecond), r.MaxLag.Round(time.Millisecond), maxLag)
}

// Write is one acknowledged create: the todo's id and its title, which is
// unique within a run ("lab load SEED-N"). Both are looked up at the end: an
// id alone does not tell one database's todo 1 from another's.
type Write struct {
	ID    int64
	Title string
}

// misacknowledgedID marks a Write acknowledged with a title other than the
// one sent.
const misacknowledgedID = -2

// acknowledged returns the todo a result acknowledges creating: the id the
// service gave and the title the lab sent (title maps the number the
// targeter put in sentTitleHeader to the title). ok is false when the
// result is not a 201 to a create (a zero Write), when its body gives no id
// or no title (a Write with ID -1), or when the title it gives is not the
// one sent (a Write with ID misacknowledgedID).
func acknowledged(r *vegeta.Result, title func(n string) string) (w Write, ok bool) {
	if r.Code != http.StatusCreated || r.Method != http.MethodPost || !strings.HasSuffix(r.URL, createPath) {
		return Write{}, false
	}
	var body struct {
		ID    int64  `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil || body.ID <= 0 || body.Title == "" {
		return Write{ID: -1}, false
	}
	n := r.Headers.Get(sentTitleHeader)
	if sent := title(n); n == "" || body.Title != sent {
		return Write{ID: misacknowledgedID}, false
	}
	return Write{ID: body.ID, Title: body.Title}, true
}

// sentTitleHeader carries a create's title number from the targeter to its
// result. It never reaches the wire: sentTitle takes it off the request and
// puts it on the response the result is made from.
const sentTitleHeader = "X-Lab-Sent-Title"

// sentTitle is the attack client's transport: it moves the carried
// headers (sentTitleHeader, sentCartHeader) from each request to its
// response, so the result of a create says which title was sent and the
// result of a cart request whose user and item it was (vegeta's results
// hold the response's headers, not the request).
type sentTitle struct{ next http.RoundTripper }

// carried are the headers sentTitle moves from a request to its response.
var carried = [...]string{sentTitleHeader, sentCartHeader}

func (s sentTitle) RoundTrip(req *http.Request) (*http.Response, error) {
	var vals [len(carried)]string
	any := false
	for i, h := range carried {
		vals[i] = req.Header.Get(h)
		any = any || vals[i] != ""
	}
	if !any {
		return s.next.RoundTrip(req)
	}
	req = req.Clone(req.Context())
	for _, h := range carried {
		req.Header.Del(h)
	}
	resp, err := s.next.RoundTrip(req)
	if resp != nil {
		if resp.Header == nil {
			resp.Header = http.Header{}
		}
		for i, h := range carried {
			if vals[i] != "" {
				resp.Header.Set(h, vals[i])
			}
		}
	}
	return resp, err
}

// initialWorkers starts enough workers for the peak rate at about 100 ms of
// latency; vegeta adds more whenever all of them are busy.
func initialWorkers(p RampPacer) uint64 {
	peak := 0.0
	for _, ph := range p.Phases {
		peak = max(peak, ph.From, ph.To)
	}
	return uint64(min(max(peak/10, 16), 512))
}

// newClient is the attack's HTTP client: keep-alive, many idle connections
// per host (so connections are reused, not churned), no proxy, HTTP/1.1, no
// redirects followed, each request bounded by timeout (deadlined). It
// returns the transport, so that its idle connections can be closed after
// the run, and the round tripper that bounds each request, for wrappers
// (cookie jars) to go around. dial, if set, replaces the direct dialer.
func newClient(timeout time.Duration, dial func(ctx context.Context, network, addr string) (net.Conn, error)) (*http.Transport, http.RoundTripper, *http.Client) {
	if dial == nil {
		dial = (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err != nil {
				return nil, fdlimit.Note(err) // the lab's own process out of descriptors is counted
			}
			return c, nil
		},
		MaxIdleConnsPerHost: vegeta.DefaultConnections,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	bounded := deadlined{next: tr, d: timeout}
	return tr, bounded, &http.Client{
		Transport: sentTitle{bounded},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// deadlined bounds each round trip, the reading of the response's body
// included, by d: a deadline on the request's context, which the transport
// watches, and which ends when the body is closed. It does what
// http.Client.Timeout does without the goroutine the client starts for each
// request to enforce that timeout, a measurable share of the load
// generator's CPU at thousands of requests per second (bench/cmd/loadcost).
type deadlined struct {
	next http.RoundTripper
	d    time.Duration
}

func (t deadlined) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), t.d)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{resp.Body, cancel}
	return resp, nil
}

// cancelOnClose ends a request's deadline once its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
