package agent

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/simplydone/lab/load"
)

// Load from this host: the controller hands the agent a share of the
// run's load (load.Split) and a wall instant to start it at; the agent
// runs a load generator (package load) against the load balancer's
// nodes, keeping its raw results (load.Raw), which the controller fetches
// when the share is done and merges with the other generators'. The
// generator is a fault-like thing the run owns: the dead-man switch stops
// it when the controller falls silent for a lease (a generator with no
// controller would load the stack for nobody), and so does the run's end.
//
//	POST /v1/runs/{run}/load                  start a share (LoadShare); one at a time per run
//	GET  /v1/runs/{run}/load?wait=SECONDS     its state (LoadState), waiting up to SECONDS (at most 30) for it to end
//	DELETE /v1/runs/{run}/load                stop it early (the run interrupted); its partial results stay

// LoadDialer makes the dial function of a share whose targets name the
// load balancer (name) rather than an address: it resolves name through
// the controller's DNS server at dns (ip:port), with the client model
// client (sim/entry's Dialer; cmd/lab supplies it, as this package does
// not import sim/entry).
type LoadDialer func(dns, name, client string) func(ctx context.Context, network, addr string) (net.Conn, error)

// LoadShare is one generator's share of a run's load, as it crosses the
// wire.
type LoadShare struct {
	// Targets are the base URLs (load.Config.Targets).
	Targets []string `json:"targets"`
	// DNS and Name: resolve Name through the DNS server at DNS (ip:port)
	// with client model Client. Empty DNS: the targets are loopback
	// addresses, dialled directly.
	DNS    string `json:"dns,omitempty"`
	Name   string `json:"name,omitempty"`
	Client string `json:"client,omitempty"`
	// Phases is this share's profile (load.Split's), wall time.
	Phases []load.Phase `json:"phases"`
	Mix    load.Mix     `json:"mix"`
	Seed   uint64       `json:"seed"`
	Users  int          `json:"users,omitempty"`
	// StartAt is the wall instant every share starts at (the hosts' clocks
	// are assumed synchronised). Already past by more than MaxLag, the
	// share is refused (load.ErrStartPassed).
	StartAt time.Time     `json:"start_at"`
	Timeout time.Duration `json:"timeout,omitempty"`
	MaxLag  time.Duration `json:"max_lag,omitempty"`
}

// LoadState is a share's state: running, or done with its raw results
// (Raw: nil if it failed before its start) and its error, if any (a
// share stopped early has both).
type LoadState struct {
	Done  bool      `json:"done"`
	Raw   *load.Raw `json:"raw,omitempty"`
	Error string    `json:"error,omitempty"`
}

// maxLoadWait bounds one long poll of a share's state.
const maxLoadWait = 30 * time.Second

// maxLoadAnswer bounds a share's raw results on the wire: about 21 bytes
// a request in the default mix (its latency, 10; the acknowledged writes,
// a fifth of the requests at 53 each), measured on a run of 674, so some
// 12 million requests a share.
const maxLoadAnswer = 256 << 20

// loadGen is a running (or finished) share; its goroutine is the run's,
// ended by stopLoad.
type loadGen struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when the generator has returned
	raw    *load.Raw     // set before done closes
	err    error
}

// startLoad starts a share on this host; one at a time per run.
func (r *run) startLoad(sh LoadShare) error {
	cfg := load.Config{Targets: sh.Targets, Phases: sh.Phases, Mix: sh.Mix, Seed: sh.Seed, Users: sh.Users,
		StartAt: sh.StartAt, Timeout: sh.Timeout, MaxLag: sh.MaxLag}
	if sh.StartAt.IsZero() {
		return fmt.Errorf("load share: no start_at: every generator of a run starts at one wall instant: %w", errRefused)
	}
	if sh.DNS != "" {
		if r.s.cfg.LoadDial == nil {
			return fmt.Errorf("load share: this agent cannot resolve the load balancer's name (it runs without a load dialer): %w", errRefused)
		}
		cfg.DialContext = r.s.cfg.LoadDial(sh.DNS, sh.Name, sh.Client)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gen != nil {
		select {
		case <-r.gen.done:
		default:
			return fmt.Errorf("load share: a share of run %s is already running here: %w", r.id, errRefused)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	g := &loadGen{cancel: cancel, done: make(chan struct{})}
	r.gen = g
	r.log.Info("agent: load share starting", "at", sh.StartAt.UTC().Format(time.RFC3339Nano), "targets", sh.Targets, "phases", len(sh.Phases), "seed", sh.Seed)
	go func() {
		defer close(g.done)
		res, raw, err := load.RunRaw(ctx, cfg)
		g.raw, g.err = raw, err
		if res != nil {
			r.log.Info("agent: load share done", "requests", res.Requests, "p99", res.P99, "err", err)
		} else {
			r.log.Warn("agent: load share failed", "err", err)
		}
	}()
	return nil
}

// loadState waits up to wait for the run's share to end and says where it
// is.
func (r *run) loadState(ctx context.Context, wait time.Duration) (LoadState, error) {
	r.mu.Lock()
	g := r.gen
	r.mu.Unlock()
	if g == nil {
		return LoadState{}, fmt.Errorf("run %s has no load share on this agent: %w", r.id, errRefused)
	}
	t := time.NewTimer(min(max(wait, 0), maxLoadWait))
	defer t.Stop()
	select {
	case <-g.done:
		st := LoadState{Done: true, Raw: g.raw}
		if g.err != nil {
			st.Error = g.err.Error()
		}
		return st, nil
	case <-t.C:
	case <-ctx.Done():
	}
	return LoadState{}, nil
}

// stopLoad stops a running share and waits for it (at most its request
// timeout, for the requests in flight); its partial results are kept for
// the controller. It says what it stopped, or "" if nothing ran.
func (r *run) stopLoad() string {
	r.mu.Lock()
	g := r.gen
	r.mu.Unlock()
	if g == nil {
		return ""
	}
	select {
	case <-g.done:
		return ""
	default:
	}
	g.cancel()
	<-g.done
	return "the load share"
}

func (s *Server) loadRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/runs/{run}/load", s.withRun(func(w http.ResponseWriter, req *http.Request, r *run) {
		var in LoadShare
		if !decode(w, req, &in) {
			return
		}
		if err := r.startLoad(in); err != nil {
			failErr(w, err)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	mux.HandleFunc("DELETE /v1/runs/{run}/load", s.withRun(func(w http.ResponseWriter, _ *http.Request, r *run) {
		if stopped := r.stopLoad(); stopped != "" {
			r.log.Info("agent: load share stopped by the controller")
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.HandleFunc("GET /v1/runs/{run}/load", s.withRun(func(w http.ResponseWriter, req *http.Request, r *run) {
		var wait time.Duration
		if v := req.URL.Query().Get("wait"); v != "" {
			secs, err := strconv.ParseFloat(v, 64)
			if err != nil || secs < 0 {
				failErr(w, fmt.Errorf("wait=%q: allowed: seconds, zero or more: %w", v, errRefused))
				return
			}
			wait = time.Duration(secs * float64(time.Second))
		}
		st, err := r.loadState(req.Context(), wait)
		if err != nil {
			failErr(w, err)
			return
		}
		reply(w, http.StatusOK, st)
	}))
}

// StartLoad starts a share of the run's load on the agent: it waits for
// sh.StartAt there and sends its share.
func (r *Remote) StartLoad(ctx context.Context, sh LoadShare) error {
	return r.call(ctx, slowCall, http.MethodPost, r.path("/load"), sh, nil)
}

// StopLoad stops the share early (the run was interrupted); LoadResult
// then gives its partial results.
func (r *Remote) StopLoad(ctx context.Context) error {
	return r.call(ctx, fastCall+maxLoadWait, http.MethodDelete, r.path("/load"), nil, nil)
}

// LoadResult waits for the share to end and returns its raw results
// (with the share's own error, if it was stopped early or failed). It
// polls the agent, each poll waiting there up to 30 s, until ctx ends.
func (r *Remote) LoadResult(ctx context.Context) (*load.Raw, error) {
	for {
		var st LoadState
		if err := r.callLoad(ctx, &st); err != nil {
			return nil, fmt.Errorf("the load share on agent %s: %w", r.c.addr, err)
		}
		if !st.Done {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			continue
		}
		var err error
		if st.Error != "" {
			err = fmt.Errorf("the load share on agent %s: %s", r.c.addr, st.Error)
			if st.Raw == nil {
				return nil, err
			}
		}
		if st.Raw == nil {
			return nil, fmt.Errorf("the load share on agent %s: %w: done without results", r.c.addr, errBadAnswer)
		}
		return st.Raw, err
	}
}

// callLoad is one long poll of the share's state, its answer up to
// maxLoadAnswer.
func (r *Remote) callLoad(ctx context.Context, st *LoadState) error {
	path := r.path("/load?wait=") + strconv.Itoa(int(maxLoadWait/time.Second))
	return r.callSized(ctx, maxLoadWait+slowCall, http.MethodGet, path, nil, st, maxLoadAnswer)
}
