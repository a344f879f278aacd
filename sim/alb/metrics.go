package alb

import (
	"sync/atomic"
	"time"
)

// Metrics are one node's counters under CloudWatch's names
// (namespace AWS/ApplicationELB). Updated with atomics on the hot path.
type Metrics struct {
	RequestCount                 atomic.Int64 // requests for which the node chose a target
	UnhealthyRoutingRequestCount atomic.Int64 // routed by fail-open
	TargetResponseTimeNanos      atomic.Int64 // sum, request sent to response headers received
	TargetResponses              atomic.Int64 // how many responses the sum covers
	ELB3XX                       atomic.Int64 // HTTPCode_ELB_3XX_Count: the listener rules' redirects
	ELB4XX                       atomic.Int64 // HTTPCode_ELB_4XX_Count (460: client closed)
	ELB502                       atomic.Int64
	ELB503                       atomic.Int64
	ELB504                       atomic.Int64
	ELB5XXOther                  atomic.Int64 // other 5XX the node answers itself (501: unsupported Transfer-Encoding)
	DesyncNonCompliant           atomic.Int64 // DesyncMitigationMode_NonCompliant_Request_Count
	RejectedConnectionCount      atomic.Int64 // client connections refused over the node's cap
	Target2XX                    atomic.Int64
	Target3XX                    atomic.Int64
	Target4XX                    atomic.Int64
	Target5XX                    atomic.Int64
	NewConnectionCount           atomic.Int64 // client connections opened
	FixedResponseCount           atomic.Int64 // HTTP_Fixed_Response_Count: fixed-response actions
	RedirectCount                atomic.Int64 // HTTP_Redirect_Count: redirect actions
	clientConns                  atomic.Int64 // client connections open now
	targetConns                  *atomic.Int64
}

// Snapshot is a copy of a node's counters at one moment.
type Snapshot struct {
	Zone                         string
	RequestCount                 int64
	UnhealthyRoutingRequestCount int64
	TargetResponseTime           time.Duration // average over TargetResponses
	TargetResponseTimeTotal      time.Duration // sum over TargetResponses
	TargetResponses              int64
	HTTPCode_ELB_3XX_Count       int64
	HTTPCode_ELB_4XX_Count       int64
	HTTPCode_ELB_5XX_Count       int64
	HTTPCode_ELB_502_Count       int64
	HTTPCode_ELB_503_Count       int64
	HTTPCode_ELB_504_Count       int64
	// DesyncMitigationMode_NonCompliant_Request_Count is the requests that
	// do not comply with RFC 7230 (classified other than Compliant).
	DesyncMitigationMode_NonCompliant_Request_Count int64
	// RejectedConnectionCount is the client connections the node refused
	// at its cap (DefaultMaxClientConns).
	RejectedConnectionCount   int64
	HTTPCode_Target_2XX_Count int64
	HTTPCode_Target_3XX_Count int64
	HTTPCode_Target_4XX_Count int64
	HTTPCode_Target_5XX_Count int64
	// NewConnectionCount is the client connections opened so far;
	// ActiveConnectionCount the client and target connections open now.
	NewConnectionCount    int64
	ActiveConnectionCount int64
	// HTTP_Fixed_Response_Count and HTTP_Redirect_Count are the listener
	// rules' fixed-response and redirect actions carried out.
	HTTP_Fixed_Response_Count int64
	HTTP_Redirect_Count       int64
	// HealthyHostCount and UnHealthyHostCount by the targets' zone, as this node sees them.
	HealthyHostCount   map[string]int
	UnHealthyHostCount map[string]int
}

func (m *Metrics) targetStatus(code int) {
	switch code / 100 {
	case 2:
		m.Target2XX.Add(1)
	case 3:
		m.Target3XX.Add(1)
	case 4:
		m.Target4XX.Add(1)
	case 5:
		m.Target5XX.Add(1)
	}
}

func (m *Metrics) elbStatus(code int) {
	switch code {
	case 502:
		m.ELB502.Add(1)
	case 503:
		m.ELB503.Add(1)
	case 504:
		m.ELB504.Add(1)
	default:
		switch code / 100 {
		case 3:
			m.ELB3XX.Add(1)
		case 4:
			m.ELB4XX.Add(1)
		case 5:
			m.ELB5XXOther.Add(1)
		}
	}
}

func (m *Metrics) snapshot() Snapshot {
	s := Snapshot{
		RequestCount:                                    m.RequestCount.Load(),
		UnhealthyRoutingRequestCount:                    m.UnhealthyRoutingRequestCount.Load(),
		TargetResponses:                                 m.TargetResponses.Load(),
		HTTPCode_ELB_3XX_Count:                          m.ELB3XX.Load(),
		HTTPCode_ELB_4XX_Count:                          m.ELB4XX.Load(),
		HTTPCode_ELB_502_Count:                          m.ELB502.Load(),
		HTTPCode_ELB_503_Count:                          m.ELB503.Load(),
		HTTPCode_ELB_504_Count:                          m.ELB504.Load(),
		HTTPCode_Target_2XX_Count:                       m.Target2XX.Load(),
		HTTPCode_Target_3XX_Count:                       m.Target3XX.Load(),
		HTTPCode_Target_4XX_Count:                       m.Target4XX.Load(),
		HTTPCode_Target_5XX_Count:                       m.Target5XX.Load(),
		NewConnectionCount:                              m.NewConnectionCount.Load(),
		RejectedConnectionCount:                         m.RejectedConnectionCount.Load(),
		DesyncMitigationMode_NonCompliant_Request_Count: m.DesyncNonCompliant.Load(),
		ActiveConnectionCount:                           m.clientConns.Load(),
		HTTP_Fixed_Response_Count:                       m.FixedResponseCount.Load(),
		HTTP_Redirect_Count:                             m.RedirectCount.Load(),
	}
	if m.targetConns != nil {
		s.ActiveConnectionCount += m.targetConns.Load()
	}
	s.HTTPCode_ELB_5XX_Count = s.HTTPCode_ELB_502_Count + s.HTTPCode_ELB_503_Count + s.HTTPCode_ELB_504_Count + m.ELB5XXOther.Load()
	s.TargetResponseTimeTotal = time.Duration(m.TargetResponseTimeNanos.Load())
	if s.TargetResponses > 0 {
		s.TargetResponseTime = s.TargetResponseTimeTotal / time.Duration(s.TargetResponses)
	}
	return s
}

// AllTargetGroupCounts is TargetGroupCounts of every target group, in
// TargetGroupNames' order, read in one pass for a scrape of the metrics
// endpoint (promexport): the load balancer's lock once and each live
// node's once, where TargetGroupCounts takes the load balancer's lock and
// every live node's for each registered target of the group, and
// allocates for each.
func (lb *LoadBalancer) AllTargetGroupCounts() []TargetGroupCounts {
	lb.mu.Lock()
	ts := make([]*Target, 0, len(lb.targets))
	for _, t := range lb.targets {
		ts = append(ts, t)
	}
	live := make([]*Node, 0, len(lb.nodes))
	for _, n := range lb.nodes {
		if !n.down && !n.stale() {
			live = append(live, n)
		}
	}
	lb.mu.Unlock()
	// each target's live views, folded as FoldHealth folds them: healthy
	// if one is, unhealthy if every one is
	type fold struct {
		views, unhealthy int
		healthy          bool
	}
	folds := make([]fold, len(ts))
	for _, n := range live {
		n.mu.Lock()
		for i, t := range ts {
			v, ok := n.views[t.ID]
			if !ok {
				continue
			}
			folds[i].views++
			switch v.health.State {
			case StateHealthy:
				folds[i].healthy = true
			case StateUnhealthy:
				folds[i].unhealthy++
			}
		}
		n.mu.Unlock()
	}
	out := make([]TargetGroupCounts, len(lb.groupNames))
	for gi, name := range lb.groupNames {
		c := &out[gi]
		c.Name = name
		for _, n := range lb.nodes {
			c.addTraffic(n.GroupCounts(name)) // a remote node's as its mirror last read them (remote.go)
		}
		for i, t := range ts {
			if t.Group != name {
				continue
			}
			c.Targets++
			c.InFlight += t.InFlight()
			switch f := folds[i]; {
			case f.healthy:
				c.Healthy++
			case f.views > 0 && f.unhealthy == f.views:
				c.Unhealthy++
			}
		}
	}
	return out
}
