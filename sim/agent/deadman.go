package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/simplydone/lab/sim/az"
)

// The dead-man switch. Every fault the agent applies for the controller
// (a pause, a CPU hog, the host's network cut) is registered with the
// run. The controller renews the run's lease every third of a lease; when
// no renewal comes for a lease, the agent reverts every fault itself
// (resumes paused instances, stops hogs; a cut ends by its own timer) and
// says so; the instances keep running, as EC2 instances outlive their
// control plane. Silent for 10 leases, the controller is taken as gone
// and the run ends (its instances terminated), as does a dead run that a
// new Open finds. While the host's link is cut the controller cannot
// renew: the lease waits, and counts again from the cut's end.

// endAfter is how many leases of silence end a run.
const endAfter = 10

type hogFault struct {
	id   az.InstanceID
	stop func() error
}

// cutFault is the host's link cut, until a time; restore is nil while the
// cut is being applied.
type cutFault struct {
	until   time.Time
	restore func() error
}

// renew renews the lease and returns what the dead-man reverted since the
// previous renewal.
func (r *run) renew() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.renewed = r.s.clk.Now()
	rev := r.reverted
	r.reverted = nil
	return rev
}

// idle is how long the controller has been silent, and whether that is
// longer than a lease (a cut in place holds the lease).
func (r *run) idle() (time.Duration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := r.s.clk.Now().Sub(r.renewed)
	return d, r.cut == nil && d >= r.s.cfg.Lease
}

// watch is the dead-man: it checks the lease ten times a lease, and ends
// the cut at its time.
func (r *run) watch() {
	defer r.watchWG.Done()
	lease := r.s.cfg.Lease
	tick := r.s.clk.NewTicker(max(lease/10, time.Millisecond))
	defer tick.Stop()
	var cutC <-chan time.Time
	for {
		select {
		case <-r.done:
			return
		case <-r.wake:
			r.mu.Lock()
			if r.cut != nil {
				cutC = r.s.clk.After(r.cut.until.Sub(r.s.clk.Now()))
			}
			r.mu.Unlock()
		case <-cutC:
			cutC = nil
			r.endCutIfDue()
		case <-tick.C():
			r.endCutIfDue()
			if r.check() {
				return
			}
		}
	}
}

// check is the dead-man's look at the lease: a lease of silence reverts
// the faults; endAfter leases end the run (true: the watch is over).
func (r *run) check() (over bool) {
	lease := r.s.cfg.Lease
	idle, dead := r.idle()
	defer r.checked(r.s.clk.Now())
	if !dead {
		return false
	}
	if idle >= endAfter*lease {
		if r.s.detach(r) {
			r.end(fmt.Sprintf("its controller was silent for %s (%d leases)", idle.Round(time.Millisecond), endAfter), true)
		}
		return true
	}
	reverted, err := r.revertAll(false)
	if len(reverted) > 0 || err != nil {
		r.log.Warn("agent: dead-man switch: no lease renewal from the controller; faults reverted, instances kept",
			"silent", idle.Round(time.Millisecond), "lease", lease, "reverted", reverted, "err", err)
		r.mu.Lock()
		r.reverted = append(r.reverted, reverted...)
		r.mu.Unlock()
	}
	return false
}

// checked records when the watch last looked (tests wait on it).
func (r *run) checked(at time.Time) {
	r.mu.Lock()
	r.checkedAt = at
	r.mu.Unlock()
}

// endCutIfDue restores the host's link once the cut's time has come; the
// lease counts again from then.
func (r *run) endCutIfDue() {
	r.mu.Lock()
	c := r.cut
	if c != nil && c.restore != nil && !r.s.clk.Now().Before(c.until) {
		r.cut = nil
		r.renewed = r.s.clk.Now()
	} else {
		c = nil
	}
	r.mu.Unlock()
	if c == nil {
		return
	}
	if err := c.restore(); err != nil {
		r.log.Error("agent: restoring the host's network after its cut", "err", err)
		return
	}
	r.log.Info("agent: the host's network cut ended at its time; link restored")
}

// revertAll reverts every fault registered: paused instances resumed,
// hogs stopped, and (withCut, as the run ends) the cut restored.
func (r *run) revertAll(withCut bool) ([]string, error) {
	r.mu.Lock()
	paused, hogs := r.paused, r.hogs
	r.paused, r.hogs = map[az.InstanceID]bool{}, map[int64]hogFault{}
	var cut *cutFault
	if withCut && r.cut != nil {
		if r.cut.restore != nil {
			cut = r.cut
		} // else being applied: applyCut sees it gone and restores it
		r.cut = nil
	}
	r.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var done []string
	var errs []error
	for id := range paused {
		if err := r.rt.Resume(ctx, id); err != nil && !errors.Is(err, az.ErrNotFound) {
			errs = append(errs, fmt.Errorf("resume %s: %w", id, err))
			continue
		}
		done = append(done, "pause of "+string(id))
	}
	for n, h := range hogs {
		if err := h.stop(); err != nil {
			errs = append(errs, fmt.Errorf("stop hog %d in %s: %w", n, h.id, err))
			continue
		}
		done = append(done, "cpu hog in "+string(h.id))
	}
	if stopped := r.stopLoad(); stopped != "" { // load.go: no load for a silent controller
		done = append(done, stopped)
	}
	what, err := r.node.revert()
	done = append(done, what...)
	if err != nil {
		errs = append(errs, err)
	}
	if cut != nil {
		if err := cut.restore(); err != nil {
			errs = append(errs, fmt.Errorf("restore the host's network: %w", err))
		} else {
			done = append(done, "the host's network cut")
		}
	}
	return done, errors.Join(errs...)
}

func (r *run) pause(ctx context.Context, id az.InstanceID) error {
	if err := r.rt.Pause(ctx, id); err != nil {
		return err
	}
	r.mu.Lock()
	r.paused[id] = true
	r.mu.Unlock()
	return nil
}

func (r *run) resume(ctx context.Context, id az.InstanceID) error {
	if err := r.rt.Resume(ctx, id); err != nil {
		return err
	}
	r.mu.Lock()
	delete(r.paused, id)
	r.mu.Unlock()
	return nil
}

// forget drops a pause on an instance that is no longer running.
func (r *run) forget(id az.InstanceID) {
	r.mu.Lock()
	delete(r.paused, id)
	r.mu.Unlock()
}

func (r *run) hog(ctx context.Context, id az.InstanceID) (int64, error) {
	h, ok := r.rt.(az.Hogger)
	if !ok {
		return 0, fmt.Errorf("the %s runtime cannot burn CPU in an instance: %w", r.driver, errRefused)
	}
	stop, err := h.Hog(ctx, id)
	if err != nil {
		return 0, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nextHog++
	r.hogs[r.nextHog] = hogFault{id: id, stop: stop}
	return r.nextHog, nil
}

// unhog stops a hog; one already stopped (by the dead-man, or twice) is
// no error.
func (r *run) unhog(n int64) error {
	r.mu.Lock()
	h, ok := r.hogs[n]
	delete(r.hogs, n)
	r.mu.Unlock()
	if !ok {
		return nil
	}
	return h.stop()
}

// maxCut is the longest cut the agent takes.
const maxCut = time.Hour

func (s *Server) faultRoutes(mux *http.ServeMux) {
	// The answer goes out before the cut: once cut, it could not.
	mux.HandleFunc("POST /v1/runs/{run}/cut", s.withRun(func(w http.ResponseWriter, req *http.Request, r *run) {
		var in cutRequest
		if !decode(w, req, &in) {
			return
		}
		d := time.Duration(in.Seconds * float64(time.Second))
		if s.cfg.Cut == nil {
			failErr(w, fmt.Errorf("this agent cannot cut its host's network (it runs without a network cutter): %w", errRefused))
			return
		}
		if d <= 0 || d > maxCut {
			failErr(w, fmt.Errorf("cut for %gs: allowed more than 0 and at most %s: %w", in.Seconds, maxCut, errRefused))
			return
		}
		r.mu.Lock()
		if r.cut != nil {
			until := r.cut.until
			r.mu.Unlock()
			failErr(w, fmt.Errorf("the host's network is already cut, until %s: %w", until.Format(time.RFC3339), errRefused))
			return
		}
		c := &cutFault{until: s.clk.Now().Add(d)}
		r.cut = c
		r.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		r.applyCut(c, d)
	}))
	mux.HandleFunc("DELETE /v1/runs/{run}/cut", s.withRun(func(w http.ResponseWriter, _ *http.Request, r *run) {
		var restore func() error
		r.mu.Lock()
		if c := r.cut; c != nil {
			restore = c.restore // nil while being applied: applyCut sees the cut gone and restores it
			r.cut = nil
			r.renewed = s.clk.Now()
		}
		r.mu.Unlock()
		if restore != nil {
			if err := restore(); err != nil {
				failErr(w, fmt.Errorf("restore the host's network: %w", err))
				return
			}
			r.log.Info("agent: the host's network cut ended early at the controller's request; link restored")
		}
		w.WriteHeader(http.StatusNoContent)
	}))
}

// applyCut cuts the link and arms the watch's timer for the cut's end.
func (r *run) applyCut(c *cutFault, d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	restore, err := r.s.cfg.Cut.Cut(ctx)
	r.mu.Lock()
	if err != nil {
		if r.cut == c {
			r.cut = nil
		}
		r.mu.Unlock()
		r.log.Error("agent: cutting the host's network failed", "err", err)
		return
	}
	c.restore = restore
	ended := r.cut != c // the run ended meanwhile
	r.mu.Unlock()
	if ended {
		if err := restore(); err != nil {
			r.log.Error("agent: restoring the host's network after its cut", "err", err)
		}
		return
	}
	r.log.Info("agent: the host's network is cut", "for", d)
	select {
	case r.wake <- struct{}{}:
	default:
	}
}
