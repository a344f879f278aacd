package lab

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/simplydone/lab/internal/figures"
	"github.com/simplydone/lab/internal/procs"
	"github.com/simplydone/lab/load"
	"github.com/simplydone/lab/rundir"
	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/sim/az"
)

// The starvation rule. A second is starved when the host withheld more
// than starvedDeniedPct of the CPU the instances' shares promise, or of
// the CPU the lab's own process (its load balancer nodes and load
// generator) asked for; the host starved a run when more than
// invalidStarvedPct of its load seconds are starved, or invalidStarvedRun
// of them in a row (the stop conditions' window). A run the host starved
// that breaches an SLO is INVALID, not FAIL; one that meets every SLO
// passed with less CPU than promised, and stays PASS.
const (
	starvedDeniedPct  = 20.0
	invalidStarvedPct = 5.0
	invalidStarvedRun = 10
)

// hostRule says the starvation rule in words, for summary.json and the report.
func hostRule() string {
	return fmt.Sprintf("a second is starved when the CPU the host withheld from the instances exceeds %g%% of their shares' CPU time "+
		"(per instance, its run-queue delay beyond its own limit's throttling, at most the share it did not use; "+
		"less what the host's idle CPU could have given and at most what the host spent outside the lab, read every %s), "+
		"or the CPU it withheld from the lab's own process (its load balancer nodes and load generator) exceeds %g%% of what the lab asked for "+
		"(its threads' run-queue delay less idle CPU, in the proportion of the busy CPU spent outside the lab to that and its instances', against its CPU time plus that delay; "+
		"the kernel's interrupt work is not counted outside the lab); "+
		"when more than %g%% of the load seconds, or %d in a row, are starved, a breached SLO is INVALID, not FAIL, "+
		"unless it is lost writes, lost session state or an error rate still breached over the seconds the host did not starve; "+
		"a stop condition stands only if it holds over the seconds of its window the host did not starve",
		starvedDeniedPct, hostTick, starvedDeniedPct, invalidStarvedPct, invalidStarvedRun)
}

// hostFigures are the starvation rule's thresholds: AWS has no such rule
// (an instance's vCPU is the hypervisor's to give), so they are the lab's.
func hostFigures() []figures.Figure {
	return []figures.Figure{
		{Name: "Host starvation: CPU withheld from the instances' shares for a starved second", Value: fmt.Sprintf("> %g%%", starvedDeniedPct), Kind: figures.Assumed,
			Source: "The lab's rule, not AWS's: an EC2 instance gets its vCPUs from the hypervisor. Measured on a two-core host with two t3.micro instances at 40 requests/s: " +
				"a quiet host reads 0% (idle CPU covers every wait), a host kept busy outside the lab (1.7-2 cores) reads 40-70% and doubles the instances' median latency; " +
				"a fifth of the share sits well under the second and over the first."},
		{Name: "Host starvation: CPU withheld from the lab's own process for a starved second", Value: fmt.Sprintf("> %g%% of what it asked for", starvedDeniedPct), Kind: figures.Assumed,
			Source: "The lab's rule, not AWS's: the load balancer nodes and the load generator run in the lab's process, which has no share; what it asked for is its CPU time plus its threads' run-queue delay. " +
				"Measured on a two-core host at 30 requests/s beside six busy-loop processes: a median of 69% withheld (p99 latency 112 ms against about 20 ms quiet), " +
				"while the instances' own withheld share stayed near 12-25%, under its threshold: without this rule such a run was blamed on the stack. The same fifth as the instances' rule."},
		{Name: "Host starvation: starved load seconds that make a breached SLO INVALID, not FAIL", Value: fmt.Sprintf("> %g%%, or %d in a row", invalidStarvedPct, invalidStarvedRun), Kind: figures.Assumed,
			Source: "The lab's rule, not AWS's: a p99 SLO is decided by 1% of requests, so a twentieth of the run starved can decide it; " +
				"ten seconds in a row is the window a stop condition judges."},
	}
}

// secondStarved is the rule for one second: the instances' shares or the
// lab's own demand. The lab is judged only in a second whose instances were
// read, as the run is judged on the host only when they could be.
func secondStarved(s rundir.HostSecond) bool {
	return s.Entitled > 0 && (s.DeniedPct > starvedDeniedPct || s.LabDeniedPct > starvedDeniedPct)
}

// judgeHost applies the rule to the load's seconds (each already marked
// Starved by secondStarved) and says why a run is INVALID.
func judgeHost(ss []rundir.HostSecond) (rundir.Host, string) {
	h := rundir.Host{Rule: hostRule(), StarvedAbovePct: starvedDeniedPct, Measured: true, Seconds: len(ss)}
	run, longest := 0, 0
	for _, s := range ss {
		h.MaxDeniedPct = max(h.MaxDeniedPct, s.DeniedPct)
		h.MaxLabDeniedPct = max(h.MaxLabDeniedPct, s.LabDeniedPct)
		h.MeanOther += s.Other
		h.MaxOther = max(h.MaxOther, s.Other)
		if !s.Starved {
			run = 0
			continue
		}
		h.Starved = append(h.Starved, s.Second)
		run++
		longest = max(longest, run)
	}
	if len(ss) > 0 {
		h.MeanOther /= float64(len(ss))
	}
	pct := 0.0
	if len(ss) > 0 {
		pct = 100 * float64(len(h.Starved)) / float64(len(ss))
	}
	if pct <= invalidStarvedPct && longest < invalidStarvedRun {
		return h, ""
	}
	h.Invalid = true
	why := fmt.Sprintf("%.0f%% of them, over the %g%% allowed", pct, invalidStarvedPct)
	if pct <= invalidStarvedPct {
		why = fmt.Sprintf("%d in a row", longest)
	}
	return h, fmt.Sprintf("the host did not give the instances the CPU their shares promise, or the lab's own process the CPU it asked for: %d of %d load seconds were starved (%s; wall seconds %s; up to %.0f%% of the instances' share and %.0f%% of the lab's own CPU withheld, the host busy with %.1f cores outside the lab at most), so these numbers describe the host, not the stack",
		len(h.Starved), len(ss), why, spans(h.Starved), h.MaxDeniedPct, h.MaxLabDeniedPct, h.MaxOther)
}

// breachStands says whether a breached SLO is the stack's whatever the host
// did: lost writes always (starving an instance loses no acknowledged
// write), and lost session state always (a cart kept outside the instances
// survives any starvation; one lost shows the state lived in an instance); an error or success rate when it is still breached over the load
// seconds the host did not starve, if they are at least half of them.
// Latency, capacity and scaling SLOs on a starved host are the host's to
// explain.
func breachStands(slo scenarios.SLO, secs []load.Second, starved []int) bool {
	switch slo.Metric {
	case "lost_writes", "lost_session_state":
		return true
	case "success_rate", "error_rate":
		skip := make(map[int]bool, len(starved))
		for _, s := range starved {
			skip[s] = true
		}
		var kept []load.Second
		for _, s := range secs {
			if !skip[s.Index] {
				kept = append(kept, s)
			}
		}
		if 2*len(kept) < len(secs) {
			return false
		}
		val, ok := windowObservations(kept)[slo.Metric]
		if !ok {
			return false
		}
		pass, _ := slo.Check(val)
		return !pass
	}
	return false
}

// spans writes sorted seconds as ranges: "3-7, 12, 40-52".
func spans(secs []int) string {
	var parts []string
	for i := 0; i < len(secs); {
		j := i
		for j+1 < len(secs) && secs[j+1] == secs[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, fmt.Sprint(secs[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", secs[i], secs[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

// hostSampler reads, every quarter of a wall second of load, what the host
// gave the instances and what it spent elsewhere, and sums each wall
// second into a HostSecond: it writes host.jsonl and keeps the seconds for
// the verdict. Run owns it; run returns when ctx ends.
type hostSampler struct {
	acct az.CPUAccounter // nil: the runtime cannot say
	ids  func() []az.InstanceID
	// extra are more processes with shares the lab started (the data
	// tier's servers), accounted as instances are: their CPU is the lab's,
	// not the host's outside it.
	extra    []cpuSource
	procRoot string
	self     int
	// unread says why no instance's CPU was read when nothing failed
	// (every zone's instances on agents' hosts).
	unread string

	mu   sync.Mutex
	secs []rundir.HostSecond
	note string // why a reading failed, once

	// the previous reading and the second being summed (run's goroutine only)
	prev    map[az.InstanceID]az.CPUAccount
	host    az.HostCPU
	lab     time.Duration
	labWait time.Duration
	at      time.Time
	start   time.Time
	open    rundir.HostSecond
	span    float64 // seconds summed into open
}

// hostTick is how often the sampler reads: a quarter second, so that a
// second whose first half was idle and second half saturated is not
// averaged into one that looks half busy.
const hostTick = 250 * time.Millisecond

// cpuSource is a runtime's CPU accounting and the ids to read.
type cpuSource struct {
	acct az.CPUAccounter
	ids  func() []az.InstanceID
}

func newHostSampler(l *Lab) *hostSampler {
	acct, _ := l.Runtime.(az.CPUAccounter)
	here := func(az.InstanceID) bool { return true }
	unread := "no instance's CPU accounting was read"
	if zr, ok := l.Runtime.(*zonedRuntime); ok { // zones on agents: this host's instances only (agents.go)
		acct, here = zr.hostAccounting()
		unread = "no instance ran on this host: the zones' instances ran on agents' hosts, whose CPU this host's figures do not include"
	}
	var extra []cpuSource
	if dbAcct, ok := l.dbRT.(az.CPUAccounter); ok && l.DB != nil {
		extra = append(extra, cpuSource{acct: dbAcct, ids: func() []az.InstanceID {
			var out []az.InstanceID
			for _, s := range l.DB.Servers() {
				out = append(out, s.ID)
			}
			return out
		}})
	}
	return &hostSampler{acct: acct, extra: extra, unread: unread, procRoot: "/proc", self: os.Getpid(), prev: map[az.InstanceID]az.CPUAccount{},
		ids: func() []az.InstanceID {
			var out []az.InstanceID
			for _, in := range l.allInstances() {
				if here(in.ID) {
					out = append(out, in.ID)
				}
			}
			return out
		}}
}

// run samples from start until ctx ends, writing each second to
// dir/host.jsonl.
func (h *hostSampler) run(ctx context.Context, dir string, start time.Time) {
	f, err := os.Create(filepath.Join(dir, rundir.HostFile))
	if err != nil {
		h.setNote(fmt.Sprintf("create %s: %v", rundir.HostFile, err))
		return
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	defer w.Flush()
	enc := json.NewEncoder(w)
	h.start = start
	h.sample(start) // the baseline
	tk := time.NewTicker(hostTick)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tk.C:
			if s, ok := h.sample(now); ok {
				enc.Encode(s)
			}
		}
	}
}

// sample reads the counters at now and adds the interval since the
// previous reading to the open second; it returns that second once an
// interval reaches past its end.
func (h *hostSampler) sample(now time.Time) (rundir.HostSecond, bool) {
	host, herr := az.ReadHostCPU(h.procRoot)
	labCPU, lerr := az.ReadProcessTime(h.procRoot, h.self)
	if herr != nil || lerr != nil {
		h.setNote(fmt.Sprintf("host CPU unreadable: %v", firstErr(herr, lerr)))
		return rundir.HostSecond{}, false
	}
	labAcct, werr := az.ReadProcessCPU(h.procRoot, h.self)
	if werr != nil {
		h.setNote(fmt.Sprintf("the lab's own run-queue delay unreadable: %v", werr))
	}
	cur := map[az.InstanceID]az.CPUAccount{}
	if h.acct != nil {
		for _, id := range h.ids() {
			a, err := h.acct.CPUAccount(context.Background(), id)
			if err != nil {
				h.setNote(err.Error())
				continue
			}
			if a.Share > 0 {
				cur[id] = a
			}
		}
	} else {
		h.setNote("the runtime does not report its instances' CPU accounting")
	}
	for _, src := range h.extra {
		for _, id := range src.ids() {
			if a, err := src.acct.CPUAccount(context.Background(), id); err == nil && a.Share > 0 {
				cur[id] = a
			}
		}
	}
	prevAt, prevHost, prevLab, prevWait, prev := h.at, h.host, h.lab, h.labWait, h.prev
	h.at, h.host, h.lab, h.labWait, h.prev = now, host, labCPU, labAcct.RunDelay, cur
	dt := now.Sub(prevAt).Seconds()
	if prevAt.IsZero() || dt <= 0 {
		return rundir.HostSecond{}, false
	}
	iv := interval{dt: dt, cpus: host.CPUs,
		busy:    (host.Busy - prevHost.Busy).Seconds(),
		steal:   (host.Steal - prevHost.Steal).Seconds(),
		irq:     (host.IRQ - prevHost.IRQ).Seconds(),
		lab:     (labCPU - prevLab).Seconds(),
		labWait: max(0, (labAcct.RunDelay - prevWait).Seconds())} // a thread that exited takes its delay with it
	for id, a := range cur {
		p, ok := prev[id]
		if !ok || a.Used < p.Used || a.RunDelay < p.RunDelay || a.Throttled < p.Throttled {
			// A first reading (a booting instance) or a restart: its
			// waits cannot be told apart, but the CPU it used since it
			// started is its own, not the host's outside the lab.
			iv.instances = append(iv.instances, instanceInterval{used: a.Used.Seconds()})
			continue
		}
		iv.instances = append(iv.instances, instanceInterval{share: a.Share,
			used: (a.Used - p.Used).Seconds(), wait: (a.RunDelay - p.RunDelay).Seconds(), throttled: (a.Throttled - p.Throttled).Seconds()})
	}
	sec := int(prevAt.Sub(h.start) / time.Second)
	if h.span > 0 && sec != h.open.Second {
		h.flush() // an interval was lost: close the second it left open
	}
	if h.span == 0 {
		h.open = rundir.HostSecond{Second: sec}
	}
	iv.addTo(&h.open)
	h.open.LabProcs = max(h.open.LabProcs, procs.Current())
	h.span += dt
	if now.Sub(h.start) < time.Duration(sec+1)*time.Second {
		return rundir.HostSecond{}, false
	}
	return h.flush(), true
}

// flush closes the open second.
func (h *hostSampler) flush() rundir.HostSecond {
	s := closeSecond(h.open, h.span)
	h.open, h.span = rundir.HostSecond{}, 0
	h.mu.Lock()
	h.secs = append(h.secs, s)
	h.mu.Unlock()
	return s
}

// instanceInterval is one instance over one reading's interval, in
// CPU-seconds.
type instanceInterval struct{ share, used, wait, throttled float64 }

// interval is one reading's interval: the host and its instances, in
// CPU-seconds over dt seconds.
type interval struct {
	dt               float64
	cpus             int
	busy, steal, lab float64
	irq              float64 // the kernel's interrupt work: much of it the lab's own loopback traffic
	labWait          float64 // the lab's own threads' run-queue delay
	instances        []instanceInterval
}

// addTo adds the interval to a second being summed (in CPU-seconds). The
// CPU withheld is, per instance, the run-queue delay its own limit's
// throttling does not explain, at most the share it did not use; of that,
// only what the host could not have given from idle CPU counts (a wait
// while a CPU sat idle is the instance's own scheduling), and at most the
// CPU the host spent outside the lab and its instances (the lab's own load
// balancer and load generator are the lab's cost, which the load
// generator's schedule check judges). The lab's own process has no share:
// what it is denied is its threads' run-queue delay, less idle CPU, in the
// proportion of the busy CPU the host spent outside the lab (the rest of
// the wait was behind its own instances: the lab's cost, not the host's).
// The kernel's interrupt work is not counted as outside the lab: on a
// quiet host it is mostly the lab's own loopback traffic.
func (iv interval) addTo(s *rundir.HostSecond) {
	var withheld, used float64
	for _, in := range iv.instances {
		entitled := in.share * iv.dt
		s.Instances = max(s.Instances, len(iv.instances))
		s.Entitled += entitled
		s.Used += in.used
		s.Wait += in.wait
		s.Throttled += in.throttled
		used += in.used
		withheld += min(max(0, in.wait-in.throttled), max(0, entitled-in.used))
	}
	busy := min(iv.busy, float64(iv.cpus)*iv.dt) // /proc/stat counts in ticks: a quarter second can read a tick over
	idle := float64(iv.cpus)*iv.dt - busy
	other := max(0, busy-iv.lab-used-iv.irq)
	s.Denied += min(max(0, withheld-idle), other)
	s.LabWait += iv.labWait
	if other+used > 0 { // the lab's wait shared out between the outside and its own instances, as the scheduler shares the CPU
		s.LabDenied += min(max(0, iv.labWait-idle)*other/(other+used), other)
	}
	s.HostBusy += busy
	s.Lab += iv.lab
	s.Other += other
	s.Steal += iv.steal
	s.CPUs = iv.cpus
}

// closeSecond turns a second's sums into rates (cores) and applies the
// rule for one second.
func closeSecond(s rundir.HostSecond, span float64) rundir.HostSecond {
	if span <= 0 {
		return s
	}
	for _, p := range []*float64{&s.Entitled, &s.Used, &s.Wait, &s.Throttled, &s.Denied, &s.HostBusy, &s.Lab, &s.Other, &s.Steal, &s.LabWait, &s.LabDenied} {
		*p = round3(*p / span)
	}
	if s.Entitled > 0 {
		s.DeniedPct = round3(100 * s.Denied / s.Entitled)
	}
	if s.Lab+s.LabWait > 0 {
		s.LabDeniedPct = round3(100 * s.LabDenied / (s.Lab + s.LabWait))
	}
	s.Starved = secondStarved(s)
	return s
}

// statsText is the stats line's account of the host: the last second's
// withheld share and the starved seconds so far; empty before the first
// second or when nothing could be read.
func (h *hostSampler) statsText() string {
	if h == nil {
		return ""
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.secs) == 0 || h.secs[len(h.secs)-1].Instances == 0 {
		return ""
	}
	starved := 0
	for _, s := range h.secs {
		if s.Starved {
			starved++
		}
	}
	last := h.secs[len(h.secs)-1]
	return fmt.Sprintf(" | host withheld %.0f%% of the shares, %.0f%% of the lab's CPU, %d s starved so far", last.DeniedPct, last.LabDeniedPct, starved)
}

func (h *hostSampler) setNote(n string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.note == "" {
		h.note = n
	}
}

// verdict judges the seconds sampled; a run whose instances could not be
// read is not judged on the host.
func (h *hostSampler) verdict() (rundir.Host, string) {
	h.mu.Lock()
	secs, note := append([]rundir.HostSecond(nil), h.secs...), h.note
	h.mu.Unlock()
	measured := false
	for _, s := range secs {
		if s.Instances > 0 {
			measured = true
		}
	}
	if !measured {
		if note == "" {
			note = h.unread
		}
		return rundir.Host{Rule: hostRule(), Seconds: len(secs), Note: note}, ""
	}
	hs, reason := judgeHost(secs)
	hs.Note = note
	return hs, reason
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func round3(v float64) float64 { return float64(int64(v*1000+0.5)) / 1000 }
