package lab

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/load"
	"github.com/simplydone/lab/rundir"
	"github.com/simplydone/lab/sim/asg"
	"github.com/simplydone/lab/sim/az"
)

// collector gathers what the summary reports from the events and from
// sampling the group.
type collector struct {
	mu      sync.Mutex
	scaling Scaling
	seen    bool // in-service sampled at least once
	inSvc   InService
	// per service, on a stack with several (services.go): by group name
	svcScaling map[string]*Scaling
	svcInSvc   map[string]*rundir.MinMax
	db         dbFailovers // the database's failovers, for the error window (dbfailover.go)
}

func newCollector() *collector {
	return &collector{inSvc: InService{PerZone: map[string]MinMax{}}}
}

// handle is a bus subscriber.
func (c *collector) handle(e events.Envelope) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.db.handle(e)
	switch ev := e.Event.(type) {
	case asg.ScalingActivity:
		if ev.Status == asg.ActivityFailed {
			break // a failed launch: no instance came of it (its launch, if any, is counted)
		}
		for _, sc := range []*Scaling{&c.scaling, c.serviceScaling(ev.Group)} {
			if ev.Action == "Launch" {
				sc.Launches++
			} else {
				sc.Terminations++
				if strings.Contains(ev.Cause, "health check") {
					sc.Replacements++
				}
			}
		}
	case asg.DesiredCapacityChanged:
		if ev.Policy == "" {
			return
		}
		for _, sc := range []*Scaling{&c.scaling, c.serviceScaling(ev.Group)} {
			if ev.To > ev.From {
				sc.ScaleOuts++
			} else {
				sc.ScaleIns++
			}
		}
	}
}

// sampleInService records the range of in-service counts, total and per
// zone, every 100 ms of wall time while the load runs.
func (c *collector) sampleInService(ctx context.Context, l *Lab) {
	tk := time.NewTicker(100 * time.Millisecond)
	defer tk.Stop()
	for {
		c.observe(l.Zones, l.inService())
		c.observeServices(l)
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
	}
}

func (c *collector) observe(zones []az.Zone, m map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	total := 0
	for _, z := range zones {
		n := m[z.Name]
		total += n
		mm, ok := c.inSvc.PerZone[z.Name]
		if !ok {
			mm = MinMax{Min: n, Max: n}
		}
		mm.Min, mm.Max = min(mm.Min, n), max(mm.Max, n)
		c.inSvc.PerZone[z.Name] = mm
	}
	if !c.seen {
		c.inSvc.Min, c.inSvc.Max, c.seen = total, total, true
	}
	c.inSvc.Min, c.inSvc.Max = min(c.inSvc.Min, total), max(c.inSvc.Max, total)
}

// fill copies traffic, errors and group figures into the summary.
func (c *collector) fill(s *Summary, r *load.Result, l *Lab) {
	c.mu.Lock()
	s.ScalingActivities = c.scaling
	s.InService = c.inSvc
	c.mu.Unlock()
	s.Requests = r.Requests
	if r.Requests > 0 {
		s.SuccessRate = 100 * float64(r.Requests-r.Err5xx-r.Transport) / float64(r.Requests)
	}
	s.Latency = Latency{P50: ms(r.P50), P95: ms(r.P95), P99: ms(r.P99), Max: ms(r.Max)}
	s.Errors = ErrorClasses{HTTP4xx: r.Err4xx, HTTP5xx: r.Err5xx, Transport: r.Transport}
	for _, n := range l.LB.Nodes() {
		m := n.Metrics()
		s.Errors.ELB502 += m.HTTPCode_ELB_502_Count
		s.Errors.ELB503 += m.HTTPCode_ELB_503_Count
		s.Errors.ELB504 += m.HTTPCode_ELB_504_Count
		s.Errors.Target5xx += m.HTTPCode_Target_5XX_Count
	}
	s.OfferedRate, s.AchievedRate = r.OfferedRate, r.AchievedRate
	s.LagP99Ms = ms(r.LagP99)
	s.Users = r.Users // the closed model's peak: the offered rate came from them
	s.Invalid = r.Invalid
	s.AcknowledgedWrites = len(r.Created) + r.Misacknowledged // a misacknowledged write counts as lost too
	s.CheckedReads, s.StaleReads = r.Reads.Reads, r.Reads.Stale
	s.DBFailovers, s.DBPromotions = c.db.count()
	s.DBErrorWindowSeconds = c.db.errorWindow(r.Seconds, l.Clock.Speed())
	s.DBFailoverOverruns = c.db.overran()
	if ss := r.Sessions; ss.Adds > 0 || ss.Reads > 0 {
		s.Sessions = &rundir.Sessions{Adds: ss.Adds, Reads: ss.Reads, Lost: ss.Lost, LostUsers: ss.LostUsers}
	}
	c.fillServices(s, l)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
