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
	"github.com/simplydone/lab/rundir"
	"github.com/simplydone/lab/sim/az"
)

// The starvation rule. A second is starved when the host withheld more
// than starvedDeniedPct of the CPU the instances' shares promise; a run is
// INVALID when more than invalidStarvedPct of its load seconds are starved,
// or invalidStarvedRun of them in a row (the stop conditions' window).
const (
	starvedDeniedPct  = 20.0
	invalidStarvedPct = 5.0
	invalidStarvedRun = 10
)

// hostRule says the starvation rule in words, for summary.json and the report.
func hostRule() string {
	return fmt.Sprintf("a second is starved when the instances' run-queue delay beyond their own CPU limit's throttling, "+
		"capped per instance at the share it did not use, exceeds %g%% of their shares' CPU time; "+
		"a run is INVALID when more than %g%% of its load seconds, or %d in a row, are starved",
		starvedDeniedPct, invalidStarvedPct, invalidStarvedRun)
}

// hostFigures are the starvation rule's thresholds: AWS has no such rule
// (an instance's vCPU is the hypervisor's to give), so they are the lab's.
func hostFigures() []figures.Figure {
	return []figures.Figure{
		{Name: "Host starvation: CPU withheld from the instances' shares for a starved second", Value: fmt.Sprintf("> %g%%", starvedDeniedPct), Kind: figures.Assumed,
			Source: "The lab's rule, not AWS's: an EC2 instance gets its vCPUs from the hypervisor. Below a fifth of the share withheld, " +
				"a second's requests wait a few milliseconds more on a run queue, within an instance's own scheduling noise; above it, latency grows with the host's load, not the stack's."},
		{Name: "Host starvation: starved load seconds that make a run INVALID", Value: fmt.Sprintf("> %g%%, or %d in a row", invalidStarvedPct, invalidStarvedRun), Kind: figures.Assumed,
			Source: "The lab's rule, not AWS's: a p99 SLO is decided by 1% of requests, so a twentieth of the run starved can decide it; " +
				"ten seconds in a row is the window a stop condition judges."},
	}
}

// secondStarved is the rule for one second.
func secondStarved(s rundir.HostSecond) bool {
	return s.Entitled > 0 && s.DeniedPct > starvedDeniedPct
}

// judgeHost applies the rule to the load's seconds (each already marked
// Starved by secondStarved) and says why a run is INVALID.
func judgeHost(ss []rundir.HostSecond) (rundir.Host, string) {
	h := rundir.Host{Rule: hostRule(), Measured: true, Seconds: len(ss)}
	run, longest := 0, 0
	for _, s := range ss {
		h.MaxDeniedPct = max(h.MaxDeniedPct, s.DeniedPct)
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
	return h, fmt.Sprintf("the host did not give the instances the CPU their shares promise: %d of %d load seconds were starved (%s; wall seconds %s; up to %.0f%% of their share withheld, the host busy with %.1f cores outside the lab at most), so these numbers describe the host, not the stack",
		len(h.Starved), len(ss), why, spans(h.Starved), h.MaxDeniedPct, h.MaxOther)
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

// hostSampler reads, every wall second of load, what the host gave the
// instances and what it spent elsewhere, writes host.jsonl and keeps the
// seconds for the verdict. Run owns it; run returns when ctx ends.
type hostSampler struct {
	acct     az.CPUAccounter // nil: the runtime cannot say
	ids      func() []az.InstanceID
	procRoot string
	self     int

	mu    sync.Mutex
	secs  []rundir.HostSecond
	note  string // why a reading failed, once
	prev  map[az.InstanceID]az.CPUAccount
	host  az.HostCPU
	lab   time.Duration
	at    time.Time
	start time.Time
}

func newHostSampler(l *Lab) *hostSampler {
	acct, _ := l.Runtime.(az.CPUAccounter)
	return &hostSampler{acct: acct, procRoot: "/proc", self: os.Getpid(), prev: map[az.InstanceID]az.CPUAccount{},
		ids: func() []az.InstanceID {
			var out []az.InstanceID
			for _, in := range l.Group.Instances() {
				out = append(out, in.ID)
			}
			return out
		}}
}

// run samples once a second from start until ctx ends, writing each
// second to dir/host.jsonl.
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
	tk := time.NewTicker(time.Second)
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

// sample reads the counters at now and returns the second that ended,
// once there is an earlier reading to compare with.
func (h *hostSampler) sample(now time.Time) (rundir.HostSecond, bool) {
	host, herr := az.ReadHostCPU(h.procRoot)
	labCPU, lerr := az.ReadProcessTime(h.procRoot, h.self)
	if herr != nil || lerr != nil {
		h.setNote(fmt.Sprintf("host CPU unreadable: %v", firstErr(herr, lerr)))
		return rundir.HostSecond{}, false
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
	prevAt, prevHost, prevLab, prev := h.at, h.host, h.lab, h.prev
	h.at, h.host, h.lab, h.prev = now, host, labCPU, cur
	if prevAt.IsZero() {
		return rundir.HostSecond{}, false
	}
	dt := now.Sub(prevAt).Seconds()
	if dt <= 0 {
		return rundir.HostSecond{}, false
	}
	s := rundir.HostSecond{Second: int(prevAt.Sub(h.start).Round(time.Second) / time.Second), CPUs: host.CPUs}
	for id, a := range cur {
		p, ok := prev[id]
		if !ok || a.Used < p.Used || a.RunDelay < p.RunDelay || a.Throttled < p.Throttled {
			continue // first reading, or a restart
		}
		s.Instances++
		entitled := a.Share * dt
		used := (a.Used - p.Used).Seconds()
		wait := (a.RunDelay - p.RunDelay).Seconds()
		thr := (a.Throttled - p.Throttled).Seconds()
		s.Entitled += entitled
		s.Used += used
		s.Wait += wait
		s.Throttled += thr
		s.Denied += min(max(0, wait-thr), max(0, entitled-used))
	}
	busy := (host.Busy - prevHost.Busy).Seconds()
	lab := (labCPU - prevLab).Seconds()
	s.HostBusy, s.Lab = busy, lab
	s.Other = max(0, busy-lab-s.Used)
	s.Steal = (host.Steal - prevHost.Steal).Seconds()
	for _, p := range []*float64{&s.Entitled, &s.Used, &s.Wait, &s.Throttled, &s.Denied, &s.HostBusy, &s.Lab, &s.Other, &s.Steal} {
		*p = round3(*p / dt)
	}
	if s.Entitled > 0 {
		s.DeniedPct = round3(100 * s.Denied / s.Entitled)
	}
	s.Starved = secondStarved(s)
	h.mu.Lock()
	h.secs = append(h.secs, s)
	h.mu.Unlock()
	return s, true
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
