package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/simplydone/lab/sim/az"
)

// run is the one run open on the agent: its runtime, the faults applied
// to it (deadman.go), the deaths its runtime reported, and the two
// goroutines it owns (the drain of Exited and the dead-man watch), both
// ended by end.
type run struct {
	s      *Server
	id     string
	driver string
	dir    string
	rt     az.Runtime
	leave  func() error // leaves the controller's cluster; nil: not joined
	node   nodeState    // the zone's load-balancer node (node.go)
	log    *slog.Logger

	done    chan struct{} // closed by end
	wake    chan struct{} // a cut was applied: the watch arms its timer
	drainWG sync.WaitGroup
	watchWG sync.WaitGroup
	endOnce sync.Once
	endErr  error

	mu        sync.Mutex
	renewed   time.Time              // the last lease renewal (or the end of the last cut)
	paused    map[az.InstanceID]bool // paused by the controller: the dead-man resumes them
	hogs      map[int64]hogFault     // running hogs: the dead-man stops them
	nextHog   int64
	cut       *cutFault       // the host's link is cut (or being cut)
	checkedAt time.Time       // when the watch last looked at the lease
	reverted  []string        // what the dead-man reverted since the last renewal
	exited    []az.InstanceID // deaths, the oldest first; exited[0] is number exitedBase
	base      int64
	exitSig   chan struct{} // closed (and replaced) when a death is added
	gen       *loadGen      // the run's load share (load.go); nil: none
}

// maxExited is how many deaths a run keeps for pollers that fall behind.
const maxExited = 1024

var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// open opens a run: the same id again is the controller reconnecting; a
// live other run is refused; a dead one (its controller silent for a
// lease) is ended first.
func (s *Server) open(ctx context.Context, req openRequest) (*run, error) {
	if !runIDPattern.MatchString(req.Run) {
		return nil, fmt.Errorf("run id %q: allowed: letters, digits, '.', '_' and '-', at most 64: %w", req.Run, errRefused)
	}
	if !slices.Contains(s.cfg.Drivers, req.Driver) {
		return nil, fmt.Errorf("driver %q: this agent runs %v: %w", req.Driver, s.cfg.Drivers, errRefused)
	}
	s.opening.Lock()
	defer s.opening.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, fmt.Errorf("the agent is shutting down: %w", errRefused)
	}
	cur := s.run
	if cur != nil && cur.id == req.Run {
		s.mu.Unlock()
		cur.renew()
		return cur, nil
	}
	if cur != nil {
		if idle, dead := cur.idle(); !dead {
			s.mu.Unlock()
			return nil, fmt.Errorf("run %s is open here (its controller renewed its lease %s ago): %w", cur.id, idle.Round(time.Millisecond), ErrBusy)
		}
		s.run = nil
	}
	s.mu.Unlock()
	if cur != nil {
		if err := cur.end(fmt.Sprintf("run %s opens and this run's controller is gone", req.Run), false); err != nil {
			s.log.Warn("agent: reaping a dead run", "run", cur.id, "err", err)
		}
	}

	dir := filepath.Join(s.cfg.Dir, req.Run)
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		return nil, fmt.Errorf("run %s: %w", req.Run, err)
	}
	if req.Join != nil && s.cfg.Join == nil {
		return nil, fmt.Errorf("run %s: this agent cannot join the controller's cluster (it runs without a joiner): %w", req.Run, errRefused)
	}
	rt, err := s.cfg.NewRuntime(ctx, req.Run, req.Driver, dir)
	if err != nil {
		return nil, fmt.Errorf("run %s: %s runtime: %w", req.Run, req.Driver, err)
	}
	var leave func() error
	if req.Join != nil {
		if leave, err = s.cfg.Join(ctx, *req.Join); err != nil {
			rt.Close()
			return nil, fmt.Errorf("run %s: join the controller's cluster at %s as %s: %w", req.Run, req.Join.Controller, req.Join.Name, err)
		}
	}
	r := &run{s: s, id: req.Run, driver: req.Driver, dir: dir, rt: rt, leave: leave, log: s.log.With("run", req.Run),
		done: make(chan struct{}), wake: make(chan struct{}, 1), renewed: s.clk.Now(),
		paused: map[az.InstanceID]bool{}, hogs: map[int64]hogFault{}, exitSig: make(chan struct{})}
	s.ending.Add(1) // done when end completes
	r.drainWG.Add(1)
	go r.drain()
	r.watchWG.Add(1)
	go r.watch()

	s.mu.Lock()
	closed := s.closed
	if !closed {
		s.run = r
	}
	s.mu.Unlock()
	if closed {
		r.end("the agent is shutting down", false)
		return nil, fmt.Errorf("the agent is shutting down: %w", errRefused)
	}
	r.log.Info("agent: run opened", "driver", req.Driver, "dir", dir)
	return r, nil
}

// current is the open run named id.
func (s *Server) current(id string) (*run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.run == nil || s.run.id != id {
		open := "none"
		if s.run != nil {
			open = s.run.id
		}
		return nil, fmt.Errorf("run %s is not open on this agent (open: %s): %w", id, open, ErrRunNotOpen)
	}
	return s.run, nil
}

// detach makes r no longer the open run (if it still is).
func (s *Server) detach(r *run) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.run != r {
		return false
	}
	s.run = nil
	return true
}

// end ends the run: its goroutines stopped, its faults reverted, its
// instances terminated (the runtime closed). fromWatch: called by the
// watch itself, which does not wait for itself. Safe to call twice.
func (r *run) end(why string, fromWatch bool) error {
	r.endOnce.Do(func() {
		defer r.s.ending.Done()
		close(r.done)
		r.drainWG.Wait()
		if !fromWatch {
			r.watchWG.Wait()
		}
		reverted, err := r.revertAll(true)
		if len(reverted) > 0 {
			r.log.Info("agent: faults reverted as the run ends", "faults", reverted)
		}
		if e := r.node.close(); e != nil {
			err = errors.Join(err, fmt.Errorf("close the load-balancer node: %w", e))
		}
		if e := r.rt.Close(); e != nil {
			err = errors.Join(err, fmt.Errorf("terminate the run's instances: %w", e))
		}
		if r.leave != nil {
			if e := r.leave(); e != nil {
				err = errors.Join(err, fmt.Errorf("leave the controller's cluster: %w", e))
			}
		}
		r.endErr = err
		r.log.Info("agent: run ended; its instances are terminated", "why", why)
	})
	return r.endErr
}

// drain records the runtime's reports of deaths for the exited long poll.
func (r *run) drain() {
	defer r.drainWG.Done()
	for {
		select {
		case <-r.done:
			return
		case id, ok := <-r.rt.Exited():
			if !ok {
				return
			}
			r.mu.Lock()
			r.exited = append(r.exited, id)
			if len(r.exited) > maxExited {
				drop := len(r.exited) - maxExited
				r.exited = slices.Delete(r.exited, 0, drop)
				r.base += int64(drop)
			}
			close(r.exitSig)
			r.exitSig = make(chan struct{})
			r.mu.Unlock()
		}
	}
}

// exitedAfter is the deaths numbered after and up, or a channel closed
// when the next comes.
func (r *run) exitedAfter(after int64) ([]az.InstanceID, int64, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	next := r.base + int64(len(r.exited))
	if after < r.base {
		after = r.base // fell behind: what was dropped is missed, as a full Exited buffer misses it
	}
	if after < next {
		return slices.Clone(r.exited[after-r.base:]), next, nil
	}
	return nil, next, r.exitSig
}

func (s *Server) runRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/runs", func(w http.ResponseWriter, req *http.Request) {
		var in openRequest
		if !decode(w, req, &in) {
			return
		}
		r, err := s.open(req.Context(), in)
		if err != nil {
			failErr(w, err)
			return
		}
		reply(w, http.StatusOK, openResponse{Run: r.id, Subnet: s.cfg.Subnet, LeaseMS: s.cfg.Lease.Milliseconds(), Dir: r.dir})
	})
	mux.HandleFunc("DELETE /v1/runs/{run}", s.withRun(func(w http.ResponseWriter, _ *http.Request, r *run) {
		if !s.detach(r) {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if err := r.end("its controller closed it", false); err != nil {
			failErr(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.HandleFunc("POST /v1/runs/{run}/lease", s.withRun(func(w http.ResponseWriter, _ *http.Request, r *run) {
		reply(w, http.StatusOK, leaseResponse{Reverted: r.renew()})
	}))
	mux.HandleFunc("POST /v1/runs/{run}/instances", s.withRun(func(w http.ResponseWriter, req *http.Request, r *run) {
		var spec az.Spec
		if !decode(w, req, &spec) {
			return
		}
		in, err := r.launch(req.Context(), spec)
		if err != nil {
			failErr(w, err)
			return
		}
		reply(w, http.StatusOK, in)
	}))
	mux.HandleFunc("GET /v1/runs/{run}/instances", s.withRun(func(w http.ResponseWriter, req *http.Request, r *run) {
		list, err := r.rt.List(req.Context())
		if err != nil {
			failErr(w, err)
			return
		}
		reply(w, http.StatusOK, list)
	}))
	mux.HandleFunc("POST /v1/runs/{run}/instances/{iid}/{op}", s.withRun(s.instanceOp))
	mux.HandleFunc("GET /v1/runs/{run}/instances/{iid}/stats", s.withRun(func(w http.ResponseWriter, req *http.Request, r *run) {
		st, err := r.rt.Stats(req.Context(), az.InstanceID(req.PathValue("iid")))
		if err != nil {
			failErr(w, err)
			return
		}
		reply(w, http.StatusOK, st)
	}))
	mux.HandleFunc("GET /v1/runs/{run}/instances/{iid}/output", s.withRun(func(w http.ResponseWriter, req *http.Request, r *run) {
		lines, err := strconv.Atoi(req.URL.Query().Get("lines"))
		if err != nil || lines < 1 || lines > 100 {
			failErr(w, fmt.Errorf("lines=%q: want 1 to 100: %w", req.URL.Query().Get("lines"), errRefused))
			return
		}
		reply(w, http.StatusOK, outputResponse{Output: r.output(req.Context(), az.InstanceID(req.PathValue("iid")), lines)})
	}))
	mux.HandleFunc("GET /v1/runs/{run}/instances/{iid}/cpu", s.withRun(func(w http.ResponseWriter, req *http.Request, r *run) {
		acc, ok := r.rt.(az.CPUAccounter)
		if !ok {
			failErr(w, fmt.Errorf("the %s runtime cannot read CPU accounting: %w", r.driver, errRefused))
			return
		}
		a, err := acc.CPUAccount(req.Context(), az.InstanceID(req.PathValue("iid")))
		if err != nil {
			failErr(w, err)
			return
		}
		reply(w, http.StatusOK, a)
	}))
	mux.HandleFunc("GET /v1/runs/{run}/exited", s.withRun(func(w http.ResponseWriter, req *http.Request, r *run) {
		after, err := strconv.ParseInt(req.URL.Query().Get("after"), 10, 64)
		if err != nil || after < 0 {
			failErr(w, fmt.Errorf("after=%q: want a count, 0 or more: %w", req.URL.Query().Get("after"), errRefused))
			return
		}
		wait := 20 * time.Second
		if ms, err := strconv.Atoi(req.URL.Query().Get("wait_ms")); err == nil && ms >= 0 && ms <= 60000 {
			wait = time.Duration(ms) * time.Millisecond
		}
		t := time.NewTimer(wait)
		defer t.Stop()
		for {
			ids, next, sig := r.exitedAfter(after)
			if sig == nil {
				reply(w, http.StatusOK, exitedResponse{Next: next, IDs: ids})
				return
			}
			select {
			case <-sig:
			case <-t.C:
				reply(w, http.StatusOK, exitedResponse{Next: next})
				return
			case <-r.done:
				failErr(w, fmt.Errorf("run %s ended: %w", r.id, ErrRunNotOpen))
				return
			case <-req.Context().Done():
				return
			}
		}
	}))
	s.faultRoutes(mux)
	s.loadRoutes(mux)
}

// withRun finds the run a request names, or answers RunNotOpen.
func (s *Server) withRun(h func(http.ResponseWriter, *http.Request, *run)) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		r, err := s.current(req.PathValue("run"))
		if err != nil {
			failErr(w, err)
			return
		}
		h(w, req, r)
	}
}

// launch launches an instance of the run on this host: its address must
// be in this agent's subnet; its data directory is the run's here (the
// controller's, with Config.KeepDataDir).
func (r *run) launch(ctx context.Context, spec az.Spec) (az.Instance, error) {
	if !r.s.cfg.Subnet.Contains(spec.Addr) {
		return az.Instance{}, fmt.Errorf("instance %s: address %s is not in this agent's subnet %s: %w", spec.ID, spec.Addr, r.s.cfg.Subnet, errRefused)
	}
	if !r.s.cfg.KeepDataDir || spec.DataDir == "" {
		spec.DataDir = filepath.Join(r.dir, "data")
	}
	spec.RunID = r.id
	return r.rt.Launch(ctx, spec)
}

// instanceOp is POST .../instances/{iid}/{op}.
func (s *Server) instanceOp(w http.ResponseWriter, req *http.Request, r *run) {
	id := az.InstanceID(req.PathValue("iid"))
	ctx := req.Context()
	var err error
	switch op := req.PathValue("op"); op {
	case "terminate":
		err = r.rt.Terminate(ctx, id)
		r.forget(id)
	case "stop":
		err = r.rt.Stop(ctx, id)
		r.forget(id)
	case "kill":
		err = r.rt.Kill(ctx, id)
		r.forget(id)
	case "start":
		err = r.rt.Start(ctx, id)
	case "pause":
		err = r.pause(ctx, id)
	case "resume":
		err = r.resume(ctx, id)
	case "hog":
		n, err := r.hog(ctx, id)
		if err != nil {
			failErr(w, err)
			return
		}
		reply(w, http.StatusOK, hogResponse{Hog: n})
		return
	case "unhog":
		var in unhogRequest
		if !decode(w, req, &in) {
			return
		}
		err = r.unhog(in.Hog)
	default:
		failErr(w, fmt.Errorf("operation %q: allowed terminate, stop, start, kill, pause, resume, hog, unhog: %w", op, errRefused))
		return
	}
	if err != nil {
		failErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// decode reads a JSON body (at most 1 MiB) into v, or answers 400.
func decode(w http.ResponseWriter, req *http.Request, v any) bool {
	b, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		failErr(w, fmt.Errorf("%s %s: the body: %v: %w", req.Method, req.URL.Path, err, errRefused))
		return false
	}
	return true
}

// LogsDir is where, in a run's directory on the agent, the runtime writes
// each instance's output: LogsDir/<instance id>.log.
const LogsDir = "logs"

// outputTail is the most of an instance's output an agent sends back.
const outputTail = 4096

// output is the end of the instance's output: its log file's last
// outputTail bytes, or, where that is empty (a container's output is saved
// when it is removed), the runtime's last lines of it; "" when there is
// none.
func (r *run) output(ctx context.Context, id az.InstanceID, lines int) string {
	if f, err := os.Open(filepath.Join(r.dir, LogsDir, filepath.Base(string(id))+".log")); err == nil {
		defer f.Close()
		if fi, err := f.Stat(); err == nil && fi.Size() > 0 {
			off := max(0, fi.Size()-outputTail)
			b := make([]byte, fi.Size()-off)
			if n, err := f.ReadAt(b, off); n > 0 || err == nil {
				return string(b[:n])
			}
		}
	}
	if o, ok := r.rt.(interface {
		Output(ctx context.Context, id az.InstanceID, lines int) (string, error)
	}); ok {
		if out, err := o.Output(ctx, id, lines); err == nil {
			return out
		}
	}
	return ""
}
