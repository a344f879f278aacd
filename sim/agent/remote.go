package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/simplydone/lab/sim/az"
)

// Remote is a zone's runtime as the controller sees it: one run on one
// agent. It implements az.Runtime, az.Hogger and az.CPUAccounter over the
// wire, and Cut (the host's network). It owns two goroutines, both ended
// by Close: the lease renewal (the agent's dead-man switch trips when it
// stops) and the long poll that feeds Exited.
type Remote struct {
	c      *Client
	run    string
	subnet netip.Prefix
	lease  time.Duration
	dir    string
	own    bool // Close closes c too (DialRun)
	log    *slog.Logger

	exited    chan az.InstanceID
	ctx       context.Context // canceled by Close: ends the goroutines' requests
	cancel    context.CancelFunc
	halt      chan struct{} // closed: renewals stop (Close; tests: a controller that dies)
	haltOnce  sync.Once
	renewWG   sync.WaitGroup // the renewal
	wg        sync.WaitGroup // the exited poll
	closeOnce sync.Once
	closeErr  error

	mu     sync.Mutex
	closed bool
}

var (
	_ az.Runtime      = (*Remote)(nil)
	_ az.Hogger       = (*Remote)(nil)
	_ az.CPUAccounter = (*Remote)(nil)
)

// OpenOptions are what Open sends.
type OpenOptions struct {
	Run    string
	Driver string       // "process" or "docker"
	Join   *JoinSpec    // nil: the agent joins no cluster
	Logger *slog.Logger // the Remote's own lines (renewals failing, faults the agent reverted); default slog.Default()
}

// Open opens run runID on the agent with the driver ("process" or
// "docker"); one run at a time per agent. A dead run's leftovers there are
// reaped first. The Remote renews the run's lease until Close.
func (c *Client) Open(ctx context.Context, runID, driver string) (*Remote, error) {
	return c.OpenWith(ctx, OpenOptions{Run: runID, Driver: driver})
}

// OpenWith is Open with the agents' cluster to join.
func (c *Client) OpenWith(ctx context.Context, o OpenOptions) (*Remote, error) {
	runID := o.Run
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, slowCall)
		defer cancel()
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.Default()
	}
	var out openResponse
	if err := c.do(ctx, http.MethodPost, "/v1/runs", openRequest{Run: o.Run, Driver: o.Driver, Join: o.Join}, &out); err != nil {
		return nil, fmt.Errorf("open run %s on agent %s: %w", runID, c.addr, err)
	}
	if out.LeaseMS <= 0 || !out.Subnet.IsValid() {
		return nil, fmt.Errorf("open run %s on agent %s: %w: %+v", runID, c.addr, errBadAnswer, out)
	}
	rctx, cancel := context.WithCancel(context.Background())
	r := &Remote{c: c, run: out.Run, subnet: out.Subnet, lease: time.Duration(out.LeaseMS) * time.Millisecond, dir: out.Dir,
		log: logger.With("agent", c.addr, "run", out.Run), exited: make(chan az.InstanceID, 64),
		ctx: rctx, cancel: cancel, halt: make(chan struct{})}
	r.renewWG.Add(1)
	go r.renew()
	r.wg.Add(1)
	go r.pollExited()
	return r, nil
}

// DialRun dials the agent and opens the run; the Remote owns the client
// and closes it with itself.
func DialRun(ctx context.Context, addr string, token []byte, runID, driver string) (*Remote, error) {
	return DialOpen(ctx, addr, token, OpenOptions{Run: runID, Driver: driver})
}

// DialOpen is DialRun with OpenOptions.
func DialOpen(ctx context.Context, addr string, token []byte, o OpenOptions) (*Remote, error) {
	c, err := Dial(ctx, addr, token)
	if err != nil {
		return nil, err
	}
	r, err := c.OpenWith(ctx, o)
	if err != nil {
		c.Close()
		return nil, err
	}
	r.own = true
	return r, nil
}

// RunID is the run's id; Subnet the agent's subnet (the zone's there);
// Lease the agent's lease; Dir the run's directory on the agent's host;
// Agent the agent's address.
func (r *Remote) RunID() string                { return r.run }
func (r *Remote) Subnet() netip.Prefix         { return r.subnet }
func (r *Remote) Lease() time.Duration         { return r.lease }
func (r *Remote) Dir() string                  { return r.dir }
func (r *Remote) Agent() string                { return r.c.addr }
func (r *Remote) Client() *Client              { return r.c }
func (r *Remote) Exited() <-chan az.InstanceID { return r.exited }

// renew renews the lease every third of a lease. A failed renewal is
// logged once per streak; a renewal that finds faults reverted by the
// agent's dead-man switch says which.
func (r *Remote) renew() {
	defer r.renewWG.Done()
	t := time.NewTicker(max(r.lease/3, time.Millisecond))
	defer t.Stop()
	failing := false
	for {
		select {
		case <-r.halt:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(r.ctx, max(r.lease/3, time.Second))
		var out leaseResponse
		err := r.c.do(ctx, http.MethodPost, r.path("/lease"), nil, &out)
		cancel()
		switch {
		case err != nil && r.ctx.Err() != nil:
			return
		case err != nil && !failing:
			failing = true
			r.log.Warn("agent: lease renewal failed; the agent reverts this run's faults after its lease", "lease", r.lease, "err", err)
		case err == nil && failing:
			failing = false
			r.log.Info("agent: lease renewed again")
		}
		if len(out.Reverted) > 0 {
			r.log.Warn("agent: the agent's dead-man switch reverted faults while it heard nothing from this controller", "reverted", out.Reverted)
		}
	}
}

// stopRenewing stops the renewals without ending the run, as a controller
// that dies would, and returns once the last one is done.
func (r *Remote) stopRenewing() {
	r.haltOnce.Do(func() { close(r.halt) })
	r.renewWG.Wait()
}

// pollExited long-polls the agent's deaths into Exited. Like a local
// runtime's, Exited drops what a reader that falls behind does not take.
func (r *Remote) pollExited() {
	defer r.wg.Done()
	var after int64
	for r.ctx.Err() == nil {
		var out exitedResponse
		err := r.c.do(r.ctx, http.MethodGet, r.path("/exited?after="+strconv.FormatInt(after, 10)), nil, &out)
		if err != nil {
			if r.ctx.Err() != nil {
				return
			}
			select { // the agent is unreachable or the run ended: ask again later
			case <-r.ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		for _, id := range out.IDs {
			select {
			case r.exited <- id:
			default:
				r.log.Debug("exit not reported: nobody reads Exited", "instance", id)
			}
		}
		after = out.Next
	}
}

func (r *Remote) path(p string) string { return "/v1/runs/" + url.PathEscape(r.run) + p }

func (r *Remote) instPath(id az.InstanceID, p string) string {
	return r.path("/instances/" + url.PathEscape(string(id)) + p)
}

// Default limits of a request whose context has none: a cut or dead
// host drops packets, and TCP alone would wait minutes.
const (
	slowCall = 2 * time.Minute  // launch, start, stop, terminate (an image may be built)
	fastCall = 20 * time.Second // the rest
)

// call is one request of the run, limited to limit unless ctx has a
// deadline; after Close, ErrClosed.
func (r *Remote) call(ctx context.Context, limit time.Duration, method, path string, in, out any) error {
	return r.callSized(ctx, limit, method, path, in, out, maxAnswer)
}

// callSized is call with an answer of up to maxSize bytes.
func (r *Remote) callSized(ctx context.Context, limit time.Duration, method, path string, in, out any, maxSize int64) error {
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return fmt.Errorf("run %s on agent %s: %w", r.run, r.c.addr, ErrClosed)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
	}
	return r.c.doLimit(ctx, method, path, in, out, maxSize)
}

func (r *Remote) Launch(ctx context.Context, s az.Spec) (az.Instance, error) {
	var in az.Instance
	err := r.call(ctx, slowCall, http.MethodPost, r.path("/instances"), s, &in)
	return in, err
}

func (r *Remote) op(ctx context.Context, limit time.Duration, id az.InstanceID, op string) error {
	return r.call(ctx, limit, http.MethodPost, r.instPath(id, "/"+op), nil, nil)
}

func (r *Remote) Terminate(ctx context.Context, id az.InstanceID) error {
	return r.op(ctx, slowCall, id, "terminate")
}
func (r *Remote) Stop(ctx context.Context, id az.InstanceID) error {
	return r.op(ctx, slowCall, id, "stop")
}
func (r *Remote) Start(ctx context.Context, id az.InstanceID) error {
	return r.op(ctx, slowCall, id, "start")
}
func (r *Remote) Kill(ctx context.Context, id az.InstanceID) error {
	return r.op(ctx, fastCall, id, "kill")
}
func (r *Remote) Pause(ctx context.Context, id az.InstanceID) error {
	return r.op(ctx, fastCall, id, "pause")
}
func (r *Remote) Resume(ctx context.Context, id az.InstanceID) error {
	return r.op(ctx, fastCall, id, "resume")
}

func (r *Remote) Stats(ctx context.Context, id az.InstanceID) (az.Stats, error) {
	var st az.Stats
	err := r.call(ctx, fastCall, http.MethodGet, r.instPath(id, "/stats"), nil, &st)
	return st, err
}

func (r *Remote) CPUAccount(ctx context.Context, id az.InstanceID) (az.CPUAccount, error) {
	var a az.CPUAccount
	err := r.call(ctx, fastCall, http.MethodGet, r.instPath(id, "/cpu"), nil, &a)
	return a, err
}

// Output is the end of the instance's output on the agent's host (its log
// file there, or its container's output): what the controller quotes when
// an instance's program exits on its own.
func (r *Remote) Output(ctx context.Context, id az.InstanceID, lines int) (string, error) {
	var out outputResponse
	err := r.call(ctx, fastCall, http.MethodGet, r.instPath(id, "/output?lines="+strconv.Itoa(lines)), nil, &out)
	return out.Output, err
}

func (r *Remote) List(ctx context.Context) ([]az.Instance, error) {
	var list []az.Instance
	err := r.call(ctx, fastCall, http.MethodGet, r.path("/instances"), nil, &list)
	return list, err
}

// Hog starts a CPU hog in the instance on the agent; stop ends it (safe
// twice; a hog the agent's dead-man switch already stopped is no error).
func (r *Remote) Hog(ctx context.Context, id az.InstanceID) (func() error, error) {
	var out hogResponse
	if err := r.call(ctx, fastCall, http.MethodPost, r.instPath(id, "/hog"), nil, &out); err != nil {
		return nil, err
	}
	var once sync.Once
	var err error
	return func() error {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err = r.c.do(ctx, http.MethodPost, r.instPath(id, "/unhog"), unhogRequest{Hog: out.Hog}, nil)
			if errors.Is(err, ErrRunNotOpen) {
				err = nil // the run ended: the agent stopped the hog
			}
		})
		return err
	}, nil
}

// Cut cuts the agent's host off the network between hosts for d at most:
// the agent reverts it at d by its own timer (the controller cannot reach
// it meanwhile). restore reverts it early when the agent can be reached,
// and otherwise waits (a little past d) for the agent to answer again.
func (r *Remote) Cut(ctx context.Context, d time.Duration) (func() error, error) {
	end := time.Now().Add(d)
	if err := r.call(ctx, fastCall, http.MethodPost, r.path("/cut"), cutRequest{Seconds: d.Seconds()}, nil); err != nil {
		return nil, fmt.Errorf("cut agent %s's network: %w", r.c.addr, err)
	}
	var once sync.Once
	var err error
	return func() error {
		once.Do(func() { err = r.uncut(end) })
		return err
	}, nil
}

// uncut asks the agent to restore its network until it answers, or until
// well after the cut's own end.
func (r *Remote) uncut(end time.Time) error {
	give := end.Add(10 * time.Second)
	if soon := time.Now().Add(5 * time.Second); give.Before(soon) {
		give = soon
	}
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := r.c.do(ctx, http.MethodDelete, r.path("/cut"), nil, nil)
		cancel()
		if err == nil || errors.Is(err, ErrRunNotOpen) {
			return nil
		}
		if time.Now().After(give) {
			return fmt.Errorf("restore agent %s's network: unreachable (it restores the link itself at %s): %w", r.c.addr, end.Format(time.TimeOnly), err)
		}
		time.Sleep(250 * time.Millisecond) // a retry's pace, not a wait for luck
	}
}

// Close ends the run on the agent (its faults reverted, its instances
// terminated) and stops the Remote's goroutines, waiting for the agent up
// to slowCall (terminating many containers takes a while). Safe to call
// twice.
func (r *Remote) Close() error { return r.CloseWithin(slowCall) }

// CloseWithin is Close waiting at most d for the agent to end the run: for
// an agent whose host is known gone (its zone lost), whose packets are
// dropped rather than refused, so that closing the run does not wait
// slowCall on it. An agent that does not answer in d ends the run's
// leftovers itself once the run's lease lapses (10 x its lease).
func (r *Remote) CloseWithin(d time.Duration) error {
	r.closeOnce.Do(func() {
		r.mu.Lock()
		r.closed = true
		r.mu.Unlock()
		r.haltOnce.Do(func() { close(r.halt) })
		r.cancel()
		r.renewWG.Wait()
		r.wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		err := r.c.do(ctx, http.MethodDelete, r.path(""), nil, nil)
		if errors.Is(err, ErrRunNotOpen) {
			err = nil
		}
		if err != nil {
			err = fmt.Errorf("end run %s on agent %s: %w", r.run, r.c.addr, err)
		}
		if r.own {
			r.c.Close()
		}
		r.closeErr = err
	})
	return r.closeErr
}
