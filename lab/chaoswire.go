package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/internal/runlock"
	"github.com/simplydone/lab/internal/termtext"
	"github.com/simplydone/lab/rundir"
	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/todo/storefile"
)

// NewChaosRunner is the run's chaos runner with every hook the lab has: the
// load balancer's fault hook and node control, the group's launch failures
// and gauges, the shared database, the runtime's pause and CPU hog, the
// scenario's blast-radius limits, and its timeline resolved with the seed.
func (l *Lab) NewChaosRunner(sc *scenarios.Scenario, seed uint64, journal chaos.Journal) *chaos.Runner {
	r := chaos.NewRunner(nil, l.Clock, chaosFleet{l.fleet}, l.Bus, journal, seed)
	r.SetTimeline(chaos.Expand(ChaosActions(sc), seed, sc.TotalDuration()))
	r.SetLoadBalancer(lbFaults{l.LB})
	r.SetCapacity(l.capacity())
	r.SetNodes(zoneNodes{l}) // kill-lb-node and az-outage with lb_node: down take the zone's node down (and out of DNS)
	r.SetStore(labStore{l})
	r.SetGauges(groupGauges{l})
	if l.DB != nil {
		r.SetDatabase(labDatabase{l}) // db-failover, kill-db, replica-lag; az-outage takes the zone's DB instances down
	}
	r.SetLimits(chaos.Limits{MaxDownInstances: sc.MaxDownInstances, MaxDownZones: sc.MaxDownZones})
	return r
}

// ChaosActions is the scenario's chaos as the runner takes it: scenarios
// hands it over (Scenario.ChaosActions).
func ChaosActions(sc *scenarios.Scenario) []chaos.Action { return sc.ChaosActions() }

// zoneNodes is the load balancer's node control as chaos sees it: a zone's
// node stops as a zone failure stops it (StopZoneNode: the listener closed,
// the cluster member gone, DNS moves clients off it) and comes back.
type zoneNodes struct{ l *Lab }

func (n zoneNodes) NodeDown(zone string) (func(), error) {
	if n.l.entry == nil {
		return nil, errors.New("load balancer node control not available")
	}
	if err := n.l.StopZoneNode(zone); err != nil {
		return nil, err
	}
	if n.l.LB.NodeUp(zone) { // its effect, seen by the load balancer
		_ = n.l.StartZoneNode(zone)
		return nil, fmt.Errorf("the node in %s still serves after its stop", zone)
	}
	return func() {
		if err := n.l.StartZoneNode(zone); err != nil {
			n.l.opts.Logger.Error("bring the load balancer node back", "zone", zone, "err", err)
		}
	}, nil
}

// groupGauges are the figures a chaos event waits for.
type groupGauges struct{ l *Lab }

func (g groupGauges) Gauge(metric string) (float64, bool) {
	switch metric {
	case "desired_capacity":
		return float64(g.l.desired()), true
	case "in_service":
		total := 0
		for _, n := range g.l.inService() {
			total += n
		}
		return float64(total), true
	case "running":
		return float64(len(chaosFleet{g.l.fleet}.Running())), true
	}
	return 0, false
}

// Desired lets the blast-radius limits count instances the group lacks.
func (c chaosFleet) Desired() int { return c.f.l.desired() }

// Hog burns CPU inside the instance's own limit, where the runtime can.
func (c chaosFleet) Hog(ctx context.Context, id string) (func() error, error) {
	h, ok := c.f.l.Runtime.(az.Hogger)
	if !ok {
		return nil, fmt.Errorf("the %s runtime cannot burn CPU inside an instance", c.f.l.Driver)
	}
	return h.Hog(ctx, az.InstanceID(id))
}

// CPU is the runtime's reading of the instance's CPU since the last one.
func (c chaosFleet) CPU(ctx context.Context, id string) (float64, error) {
	return c.f.CPU(ctx, az.InstanceID(id))
}

// labStore is the run's shared SimplyDone database (store-outage).
type labStore struct{ l *Lab }

// Lock makes the database unavailable: see storefile.Lock.
func (s labStore) Lock(ctx context.Context) (func() error, error) {
	return storefile.Lock(ctx, filepath.Join(dataDir(s.l.Dir), storefile.Name))
}

// Healthy asks the instance's own deep health check, /health, directly.
func (s labStore) Healthy(ctx context.Context, id string) error {
	for _, in := range s.l.allInstances() {
		if string(in.ID) != id {
			continue
		}
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+in.Addr.String()+"/health", nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("/health did not answer: %w", err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/health answered %d %s", resp.StatusCode, strings.TrimSpace(termtext.Line(string(body))))
		}
		return nil
	}
	return fmt.Errorf("no instance %s", id)
}

// lbFaults is the load balancer's request-fault hook as chaos sees it.
type lbFaults struct{ lb *alb.LoadBalancer }

func (l lbFaults) InjectRequestFault(f chaos.RequestFault) (func() int64, error) {
	var ids []az.InstanceID
	for _, id := range f.Instances {
		ids = append(ids, az.InstanceID(id))
	}
	return l.lb.InjectFault(alb.Fault{Name: f.Name, Zone: f.Zone, Targets: ids, Percent: f.Percent, Count: int64(f.Count),
		Status: f.Status, Latency: f.Latency, Jitter: f.Jitter, Bandwidth: f.Bandwidth, Reset: f.Reset, Hang: f.Hang, Blackhole: f.Blackhole})
}

func (l lbFaults) Targets(zone string) int {
	n := 0
	for _, t := range l.lb.Targets() {
		if zone == "" || t.Zone == zone {
			n++
		}
	}
	return n
}

// crashUndoer undoes, for `lab down`, what a crashed run's faults left
// outside its process, through the runtime's az.CrashUndoer.
type crashUndoer struct {
	runID string
	dir   string
	rt    az.CrashUndoer
}

func (u crashUndoer) Undo(ctx context.Context, f chaos.FaultInjected) (string, error) {
	switch f.Action {
	case chaos.CPUHog:
		n, err := u.rt.KillHogs(u.runID)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("killed %d hog process(es) of the run", n), nil
	case chaos.PauseInstance:
		n, err := u.rt.ResumeCrashed(u.runID, az.InstanceID(f.Instance))
		if err != nil {
			return "", err
		}
		if n == 0 {
			return "its process is gone: it died with the run", nil
		}
		return fmt.Sprintf("resumed %d process(es) of %s", n, f.Instance), nil
	case chaos.StoreOutage:
		locked, err := storefile.Locked(filepath.Join(dataDir(u.dir), storefile.Name))
		if err != nil {
			return "", err
		}
		if locked {
			return "", errors.New("the database is still locked by a live process")
		}
		return "the database is not locked: the lock died with the run's process", nil
	case chaos.StopInstance, chaos.AZOutage:
		return "the run is over: its instances are reaped, not started again", nil
	case chaos.KillInstance:
		return "nothing to revert: a killed instance stays dead", nil
	case chaos.DBConnections:
		return "the leaky client's connections were the crashed lab's own: they closed with its process", nil
	case chaos.DBFailover, chaos.KillDB, chaos.ReplicaLag, chaos.RepointDatabase:
		return "the run's database servers are reaped with it: nothing to undo", nil
	}
	return "it lived in the crashed lab's load balancer or group and went with it", nil
}

// Revert is what `lab down` did to one crashed run's journal.
type Revert struct {
	RunDir   string
	Reverted []chaos.FaultReverted
	Err      error
}

// ReplayCrashed replays the chaos journal of every dead run and undoes what
// it left in effect. It finds the runs through the state directory (each
// dead run's lock names its run directory, wherever it is) and under
// runsDir. A run that holds its lock, or whose journal's lock is held, is
// alive and left alone. Replaying twice is harmless: the second finds nothing.
func ReplayCrashed(ctx context.Context, stateDir, runsDir string) ([]Revert, error) {
	if stateDir == "" {
		stateDir = runlock.DefaultStateDir()
	}
	dirs, err := runDirs(stateDir, runsDir)
	if err != nil {
		return nil, err
	}
	var out []Revert
	for _, dir := range dirs {
		path := filepath.Join(dir, rundir.ChaosFile)
		if _, err := os.Lstat(path); err != nil {
			continue
		}
		id := filepath.Base(dir)
		claim, err := runlock.Try(stateDir, id)
		replay := chaos.Replay
		switch {
		case errors.Is(err, runlock.ErrAlive):
			continue
		case err == nil:
			defer claim.Release()
		default:
			// No lock says whether the run lives (runlock.ErrNoLock: a
			// copied run directory, or another state directory): its
			// journal's owner must be dead too, not only the journal
			// unlocked.
			replay = chaos.ReplayIfOwnerGone
		}
		if err := runlock.CheckOwnDir(dir); err != nil {
			out = append(out, Revert{RunDir: dir, Err: err})
			continue
		}
		rev, err := replay(ctx, path, crashUndoer{runID: id, dir: dir, rt: crashRuntime()})
		if errors.Is(err, chaos.ErrOwnerAlive) {
			continue
		}
		if len(rev) > 0 || err != nil {
			out = append(out, Revert{RunDir: dir, Reverted: rev, Err: err})
		}
	}
	return out, nil
}
