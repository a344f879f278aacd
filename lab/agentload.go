package lab

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/simplydone/lab/load"
	"github.com/simplydone/lab/rundir"
	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/sim/agent"
)

// Load from several hosts (issue 20): a scenario's load.generators names
// the controller and zones whose agent sends a share of the load. The
// profile is split evenly among them (load.Split), each share gets a seed
// of its own (load.ShareSeed: a create's title carries it), and all start
// at one wall instant the controller picks loadStartLead ahead, the only
// time that crosses the wire (the hosts' clocks are assumed synchronised,
// by NTP; a share whose start has passed by more than the allowed lag
// when its agent gets it is refused there, and the run is INVALID for the
// missing share). Each generator keeps its raw results (load.Raw:
// latency and lag histograms, each second's latencies, counts and
// acknowledged writes); the controller fetches the agents' when their
// shares end and merges them with its own (load.Merge) into the one
// Result the verdict, the summary and the report use, exactly what one
// generator would have reported for all their requests: the quantiles
// come from the merged histograms, never from averaging the hosts'
// percentiles. The raw results are kept in the run directory
// (load-<generator>.json).
//
// The live view (TUI, stop conditions) sees only the controller's share
// while the run goes: the agents' seconds arrive when their shares end.
// Without a controller share it sees no seconds, so stop conditions
// cannot fire. seconds.jsonl, written live from the controller's share, is
// rewritten with the merged seconds once the load ends (mergeTimeline).
//
// A stack without load.generators takes exactly the single-host path
// (load.Run).

// loadStartLead is how far ahead the controller sets the shares' start:
// time for every agent to get its share over the wire first (a request
// each, one after another: milliseconds on a LAN). The load, and with it
// the scenario's AWS timeline, starts that much later than without agents
// (5 AWS seconds at 20x): the chaos timeline, which counts from the start
// of the load, is started as before, so its faults come that much earlier
// relative to the load.
const loadStartLead = 250 * time.Millisecond

// loadRemote is a zone's agent as a load generator; sim/agent's *Remote
// satisfies it.
type loadRemote interface {
	StartLoad(ctx context.Context, sh agent.LoadShare) error
	StopLoad(ctx context.Context) error
	LoadResult(ctx context.Context) (*load.Raw, error)
}

var _ loadRemote = (*agent.Remote)(nil)

// runLoad sends the scenario's load: from the controller alone, or split
// among load.generators, their raw results merged. It returns the run's
// Result, each generator's count of requests (nil for the controller
// alone), and the load's error as load.Run does.
func (l *Lab) runLoad(ctx context.Context, sc *scenarios.Scenario, cfg load.Config) (*load.Result, []rundir.LoadGenerator, error) {
	zones := sc.Load.GeneratorZones()
	if len(zones) == 0 {
		res, err := load.Run(ctx, cfg)
		return res, nil, err
	}
	var names []string
	if sc.Load.LocalShare() {
		names = append(names, scenarios.Controller)
	}
	remotes := map[string]loadRemote{}
	zr, _ := l.Runtime.(*zonedRuntime)
	for _, z := range zones {
		var rz remoteZone
		if zr != nil {
			rz = zr.remotes[z]
		}
		lr, ok := rz.(loadRemote)
		if !ok {
			return nil, nil, fmt.Errorf("load.generators names zone %s, but its agent cannot send load (no agent runs that zone in this run)", z)
		}
		remotes[z] = lr
		names = append(names, z)
	}
	weights := make([]float64, len(names))
	for i := range weights {
		weights[i] = 1
	}
	shares, err := load.Split(cfg.Phases, weights)
	if err != nil {
		return nil, nil, err
	}
	users := 0
	if cfg.Users > 0 { // each share's users keep their own cookies
		users = (cfg.Users + len(names) - 1) / len(names)
	}
	at := time.Now().Add(loadStartLead)
	cfg = cfg.WithDefaults()
	started := []string{}
	stopRemotes := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, z := range started {
			if err := remotes[z].StopLoad(sctx); err != nil {
				l.opts.Logger.Warn("stop the load share on an agent", "zone", z, "err", err)
			}
		}
	}
	for i, name := range names {
		if name == scenarios.Controller {
			continue
		}
		target, _ := l.loadTarget(sc.Load.Client)
		sh := agent.LoadShare{Targets: []string{target}, DNS: l.DNS().Addr(), Name: l.entry.name, Client: sc.Load.Client,
			Phases: shares[i], Mix: cfg.Mix, Seed: load.ShareSeed(cfg.Seed, i), Users: users, StartAt: at,
			Timeout: cfg.Timeout, MaxLag: cfg.MaxLag}
		if err := remotes[name].StartLoad(ctx, sh); err != nil {
			stopRemotes()
			return nil, nil, fmt.Errorf("start the load share on zone %s's agent: %w", name, err)
		}
		started = append(started, name)
	}
	l.say("The load is sent from %d generators (%s), a %s share each, all starting at %s (wall time; the hosts' clocks are assumed synchronised); the live figures show the controller's share only, the run's figures merge every generator's raw results.",
		len(names), strings.Join(names, ", "), share(len(names)), at.UTC().Format("15:04:05.000"))
	// An interrupted run stops the agents' shares too.
	stopOnEnd := context.AfterFunc(ctx, stopRemotes)
	defer stopOnEnd()

	raws := make([]*load.Raw, len(names))
	errs := make([]error, len(names))
	var loadErr error
	if names[0] == scenarios.Controller {
		lcfg := cfg
		lcfg.Phases, lcfg.Users, lcfg.StartAt = shares[0], users, at
		_, raws[0], errs[0] = load.RunRaw(ctx, lcfg)
		loadErr = errs[0]
	}
	wait := load.RampPacer{Phases: cfg.Phases}.Duration() + loadStartLead + cfg.Timeout + time.Minute
	fctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for i, name := range names {
		if name == scenarios.Controller {
			continue
		}
		raws[i], errs[i] = remotes[name].LoadResult(fctx)
	}

	var parts []*load.Raw
	var gens []rundir.LoadGenerator
	var missing []string
	for i, name := range names {
		if raws[i] == nil {
			missing = append(missing, fmt.Sprintf("%s: %v", name, errs[i]))
			gens = append(gens, rundir.LoadGenerator{Name: name, Error: fmt.Sprint(errs[i])})
			continue
		}
		parts = append(parts, raws[i])
		g := rundir.LoadGenerator{Name: name, Requests: raws[i].Requests()}
		if errs[i] != nil {
			g.Error = errs[i].Error()
		}
		gens = append(gens, g)
		if err := writeRaw(l.Dir, name, raws[i]); err != nil {
			l.opts.Logger.Warn("keep a generator's raw results", "generator", name, "err", err)
		}
	}
	if len(parts) == 0 {
		err := fmt.Errorf("no load generator gave results: %s", strings.Join(missing, "; "))
		if ctx.Err() != nil { // interrupted before the start: an empty run, as load.Run's
			return &load.Result{}, gens, errors.Join(err, ctx.Err())
		}
		return nil, gens, err
	}
	merged, err := load.Merge(parts...)
	if err != nil {
		return nil, gens, err
	}
	res := merged.Result()
	if len(missing) > 0 && !res.Invalid {
		res.Invalid = true
		res.InvalidReason = fmt.Sprintf("%d of %d load generators gave no results (%s), so the run did not send the load it offered", len(missing), len(names), strings.Join(missing, "; "))
	}
	var counts []string
	for _, g := range gens {
		counts = append(counts, fmt.Sprintf("%s %d", g.Name, g.Requests))
	}
	l.say("Load generators: %d ran; requests: %s (%d in all, merged from their raw histograms and counts).", len(names), strings.Join(counts, ", "), res.Requests)
	if loadErr == nil && ctx.Err() == nil {
		for i := range names {
			if errs[i] != nil && raws[i] != nil { // stopped early on its own
				loadErr = errors.Join(loadErr, fmt.Errorf("load generator %s: %w", names[i], errs[i]))
			}
		}
	}
	return res, gens, loadErr
}

// share is "1/n".
func share(n int) string { return fmt.Sprintf("1/%d", n) }

// writeRaw keeps a generator's raw results in the run directory.
func writeRaw(dir, name string, raw *load.Raw) error {
	b, err := json.Marshal(raw)
	if err != nil {
		return err
	}
	f, err := createOwn(filepath.Join(dir, "load-"+name+".json"))
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	return errors.Join(err, f.Close())
}

// mergeTimeline puts the merged load's figures into seconds.jsonl, which
// the live view wrote from the controller's share alone: each second's
// load figures (offered, sent, outcomes, latency quantiles, lag, users)
// become the merged second's; what the controller sampled then (in
// service, CPU, the AWS time, the phase) stays. A second the controller's
// share had no record of gets the load figures alone (AWS time from the
// run's speed).
func mergeTimeline(path string, seconds []load.Second, speed float64) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var recs []SecondRecord
	at := map[int]int{}
	dec := json.NewDecoder(bytes.NewReader(data))
	for dec.More() {
		var r SecondRecord
		if err := dec.Decode(&r); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		at[r.Second] = len(recs)
		recs = append(recs, r)
	}
	for _, s := range seconds {
		i, ok := at[s.Index]
		if !ok {
			at[s.Index] = len(recs)
			i = len(recs)
			recs = append(recs, SecondRecord{Second: s.Index, AWS: float64(s.Index+1) * speed})
		}
		r := &recs[i]
		r.Offered, r.Sent, r.OK, r.Err4xx, r.Err5xx, r.Transport = s.Offered, s.Sent, s.OK2xx, s.Err4xx, s.Err5xx, s.Transport
		r.P50, r.P95, r.P99, r.Max, r.Lag, r.Users = ms(s.P50), ms(s.P95), ms(s.P99), ms(s.Max), ms(s.MaxLag), s.Users
	}
	slices.SortStableFunc(recs, func(a, b SecondRecord) int { return a.Second - b.Second })
	tmp := path + ".merged"
	f, err := createOwn(tmp)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for _, r := range recs {
		if err = enc.Encode(r); err != nil {
			break
		}
	}
	if err = errors.Join(err, w.Flush(), f.Close()); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
