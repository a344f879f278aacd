package entry

import (
	"io"
	"log"
	"log/slog"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/simplydone/lab/clock"
)

// Timing is the cluster's failure-detector timing: memberlist's
// DefaultLocalConfig durations multiplied by Factor and read as AWS
// durations, so that they run through the lab's clock.
type Timing struct {
	// Factor stretches DefaultLocalConfig's durations (default 10: probe
	// every 10 s, probe timeout 2 s, gossip every 1 s, push/pull every
	// 150 s, TCP timeout 10 s, all AWS time).
	Factor float64
}

// DefaultFactor makes detection take about as long as Route 53's fast
// health checks (10 s interval, failure threshold 3): 30-50 AWS seconds.
const DefaultFactor = 10

// Wall-time floors: below these, a busy two-core machine's scheduling
// delays would look like failures.
const (
	minProbeTimeout  = 50 * time.Millisecond
	minProbeInterval = 200 * time.Millisecond
	minGossip        = 20 * time.Millisecond
	minTCPTimeout    = 500 * time.Millisecond
	minPushPull      = time.Second
)

// Durations are the wall-time settings a member runs with.
type Durations struct {
	ProbeInterval, ProbeTimeout, GossipInterval, PushPullInterval, TCPTimeout, GossipToTheDead time.Duration
	SuspicionMult                                                                              int
}

// MinDetection is the least time memberlist can take to declare a silent
// member dead: one probe timeout, then SuspicionMult probe intervals of
// suspicion (the shortest the suspicion timer gets, with every
// confirmation in).
func (d Durations) MinDetection() time.Duration {
	return d.ProbeTimeout + time.Duration(d.SuspicionMult)*d.ProbeInterval
}

// Wall converts the timing through c into wall durations, with the floors.
func (t Timing) Wall(c clock.Clock) Durations {
	f := t.Factor
	if f <= 0 {
		f = DefaultFactor
	}
	base := memberlist.DefaultLocalConfig()
	scale := func(d, floor time.Duration) time.Duration {
		return max(c.Wall(time.Duration(float64(d)*f)), floor)
	}
	d := Durations{
		ProbeInterval:    scale(base.ProbeInterval, minProbeInterval),
		ProbeTimeout:     scale(base.ProbeTimeout, minProbeTimeout),
		GossipInterval:   scale(base.GossipInterval, minGossip),
		PushPullInterval: scale(base.PushPullInterval, minPushPull),
		TCPTimeout:       scale(base.TCPTimeout, minTCPTimeout),
		GossipToTheDead:  scale(base.GossipToTheDeadTime, minPushPull),
		SuspicionMult:    base.SuspicionMult,
	}
	d.ProbeInterval = max(d.ProbeInterval, 4*d.ProbeTimeout)
	return d
}

// memberlistConfig is DefaultLocalConfig with d's durations, bound to
// bind:port, logging to logger at debug level (memberlist is chatty).
func memberlistConfig(name, bind string, port int, d Durations, logger *slog.Logger) *memberlist.Config {
	c := memberlist.DefaultLocalConfig()
	c.Name = name
	c.BindAddr, c.BindPort = bind, port
	c.AdvertiseAddr, c.AdvertisePort = bind, port
	c.ProbeInterval = d.ProbeInterval
	c.ProbeTimeout = d.ProbeTimeout
	c.GossipInterval = d.GossipInterval
	c.PushPullInterval = d.PushPullInterval
	c.TCPTimeout = d.TCPTimeout
	c.GossipToTheDeadTime = d.GossipToTheDead
	c.SuspicionMult = d.SuspicionMult
	if logger == nil {
		c.Logger = log.New(io.Discard, "", 0)
	} else {
		c.Logger = slog.NewLogLogger(logger.Handler(), slog.LevelDebug)
	}
	return c
}
