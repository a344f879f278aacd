package entry

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// Roles a member plays.
const (
	RoleNode     = "node"     // an ALB node: gossips its view of target health
	RoleObserver = "observer" // the DNS server's health checker: watches, has no view
)

// MemberConfig configures one cluster member.
type MemberConfig struct {
	Name   string // unique in the cluster; a node's is its zone name
	Role   string // RoleNode or RoleObserver
	Bind   string // IP to bind, on loopback
	Port   int    // 0: a free port
	Timing Durations
	// Source is the node's own view, read every gossip interval; nil for an observer.
	Source ViewSource
	Logger *slog.Logger
	// Gossip is the run's key and label (NewGossip); required.
	Gossip Gossip
	// OnMembership, if set, is called when this member's failure detector
	// adds or removes another member. It must return quickly.
	OnMembership func(name string, alive bool)
}

// Member is one memberlist member: its delegate gossips views of target
// health and records what its failure detector decides.
type Member struct {
	cfg   MemberConfig
	ml    *memberlist.Memberlist
	queue *memberlist.TransmitLimitedQueue
	views *store
	epoch int64

	mu     sync.Mutex
	own    viewMsg
	live   map[string]bool   // members alive in this member's view, itself included
	failed map[string]string // members its failure detector declared dead (not those that left), by name: their addresses

	stop   chan struct{}
	wg     sync.WaitGroup
	killed atomic.Bool
}

// maxBroadcast is the largest view sent through the gossip queue, which
// rides on UDP packets (memberlist's buffer is 1400 bytes); a bigger view
// goes to each member over TCP instead.
const maxBroadcast = 1000

// StartMember creates the member and joins it to peers (ip:port; none to
// start a cluster).
func StartMember(cfg MemberConfig, peers []string) (*Member, error) {
	if err := cfg.Gossip.valid(); err != nil {
		return nil, fmt.Errorf("cluster member %s: %w", cfg.Name, err)
	}
	m := &Member{cfg: cfg, views: newStore(), epoch: time.Now().UnixNano(), live: map[string]bool{}, failed: map[string]string{}, stop: make(chan struct{})}
	m.queue = &memberlist.TransmitLimitedQueue{NumNodes: m.numNodes, RetransmitMult: memberlist.DefaultLocalConfig().RetransmitMult}
	mc := memberlistConfig(cfg.Name, cfg.Bind, cfg.Port, cfg.Timing, cfg.Logger)
	mc.SecretKey, mc.Label = cfg.Gossip.Key, cfg.Gossip.Label // GossipVerifyIncoming/Outgoing stay on
	mc.Delegate = (*delegate)(m)
	mc.Events = (*eventDelegate)(m)
	ml, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("cluster member %s: start on %s:%d: %w", cfg.Name, cfg.Bind, cfg.Port, err)
	}
	m.mu.Lock()
	m.ml = ml
	m.mu.Unlock()
	if len(peers) > 0 {
		if _, err := ml.Join(peers); err != nil {
			ml.Shutdown()
			return nil, fmt.Errorf("cluster member %s: join %v: %w", cfg.Name, peers, err)
		}
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.every(m.cfg.Timing.PushPullInterval, m.reconnect)
	}()
	if cfg.Source != nil {
		m.refresh()
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.every(m.cfg.Timing.GossipInterval, m.refresh) // the node's view, gossiped when it changes
		}()
	}
	return m, nil
}

// Name is the member's name.
func (m *Member) Name() string { return m.cfg.Name }

// Addr is where the member's memberlist listens (ip:port), for others to join.
func (m *Member) Addr() string {
	n := m.ml.LocalNode()
	return net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))
}

// Port is the member's memberlist port.
func (m *Member) Port() int { return int(m.ml.LocalNode().Port) }

// Alive lists the members this member's failure detector holds alive,
// itself included.
func (m *Member) Alive() map[string]bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.live)
}

// Views is what this member knows of every live node's view, its own
// included.
func (m *Member) Views() Views { return m.views.snapshot() }

// Kill stops the member as a failed zone stops it: no Leave message, so the
// others learn of it only through their failure detectors. Safe to call twice.
func (m *Member) Kill() error {
	if !m.killed.CompareAndSwap(false, true) {
		return nil
	}
	close(m.stop)
	m.wg.Wait()
	if err := m.ml.Shutdown(); err != nil {
		return fmt.Errorf("cluster member %s: shut down: %w", m.cfg.Name, err)
	}
	return nil
}

// every runs f every d until the member stops.
func (m *Member) every(d time.Duration, f func()) {
	tk := time.NewTicker(d)
	defer tk.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-tk.C:
			f()
		}
	}
}

// reconnect is Serf's reconnect, which memberlist leaves to its users:
// run once a push/pull interval, it joins the members its failure
// detector declared dead. A member cut off by a partition (a zone's host off the
// network) stays dead on both sides once the partition heals, each holding
// the other dead; a join exchanges their states, each refutes the other's
// verdict on itself, and they are alive to each other again. A member that
// is really gone refuses or does not answer, at the cost of one connection
// attempt per interval.
func (m *Member) reconnect() {
	m.mu.Lock()
	addrs := slices.Sorted(maps.Values(m.failed))
	m.mu.Unlock()
	for _, a := range addrs {
		if _, err := m.ml.Join([]string{a}); err != nil && m.cfg.Logger != nil {
			m.cfg.Logger.Debug("reconnect to a dead member", "member", m.cfg.Name, "addr", a, "err", err)
		}
	}
}

// refresh publishes the node's view if it changed.
func (m *Member) refresh() {
	targets := m.cfg.Source.TargetStates()
	m.mu.Lock()
	if m.own.Seq > 0 && maps.Equal(targets, m.own.Targets) {
		m.mu.Unlock()
		return
	}
	m.own = viewMsg{Node: m.cfg.Name, Epoch: m.epoch, Seq: m.own.Seq + 1, Targets: targets}
	msg := m.own
	m.mu.Unlock()
	m.views.merge(msg)
	m.gossip(msg)
}

// gossip spreads a view: through the broadcast queue when it fits in a
// packet, else to every member over TCP.
func (m *Member) gossip(v viewMsg) {
	b, _ := json.Marshal(v)
	if len(b) <= maxBroadcast {
		m.queue.QueueBroadcast(viewBroadcast{node: v.Node, msg: b})
		return
	}
	for _, n := range m.ml.Members() {
		if n.Name != m.cfg.Name {
			if err := m.ml.SendReliable(n, b); err != nil && m.cfg.Logger != nil {
				m.cfg.Logger.Debug("send view", "to", n.Name, "err", err)
			}
		}
	}
}

func (m *Member) numNodes() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ml == nil {
		return 1
	}
	return max(len(m.live), 1)
}

// viewBroadcast is a view in the gossip queue; a newer view of the same
// node replaces it.
type viewBroadcast struct {
	node string
	msg  []byte
}

func (b viewBroadcast) Name() string { return "view/" + b.node }
func (b viewBroadcast) Invalidates(o memberlist.Broadcast) bool {
	ob, ok := o.(viewBroadcast)
	return ok && ob.node == b.node
}
func (b viewBroadcast) Message() []byte { return b.msg }
func (b viewBroadcast) Finished()       {}

// meta is what a member says about itself (memberlist node metadata).
type meta struct {
	Role string `json:"role"`
}

// delegate is the member's memberlist.Delegate.
type delegate Member

func (d *delegate) NodeMeta(limit int) []byte {
	b, _ := json.Marshal(meta{Role: d.cfg.Role})
	if len(b) > limit {
		return nil
	}
	return b
}

// NotifyMsg takes a gossiped view; a newer one is kept and passed on.
func (d *delegate) NotifyMsg(b []byte) {
	var v viewMsg
	if err := json.Unmarshal(b, &v); err != nil || v.Node == "" || v.Node == d.cfg.Name {
		return
	}
	m := (*Member)(d)
	if m.views.merge(v) && len(b) <= maxBroadcast {
		m.queue.QueueBroadcast(viewBroadcast{node: v.Node, msg: b})
	}
}

func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.queue.GetBroadcasts(overhead, limit)
}

// LocalState is every view this member knows, for push/pull anti-entropy.
func (d *delegate) LocalState(join bool) []byte { return encodeViews(d.views.all()) }

func (d *delegate) MergeRemoteState(buf []byte, join bool) {
	var vs []viewMsg
	if err := json.Unmarshal(buf, &vs); err != nil {
		return
	}
	for _, v := range vs {
		if v.Node != d.cfg.Name {
			d.views.merge(v)
		}
	}
}

// eventDelegate is the member's memberlist.EventDelegate: what its failure
// detector decides.
type eventDelegate Member

func (e *eventDelegate) NotifyJoin(n *memberlist.Node) {
	m := (*Member)(e)
	m.mu.Lock()
	m.live[n.Name] = true
	delete(m.failed, n.Name)
	m.mu.Unlock()
	m.views.alive(n.Name)
	if n.Name != m.cfg.Name && m.cfg.OnMembership != nil {
		m.cfg.OnMembership(n.Name, true)
	}
}

func (e *eventDelegate) NotifyLeave(n *memberlist.Node) {
	m := (*Member)(e)
	m.mu.Lock()
	delete(m.live, n.Name)
	if n.State == memberlist.StateDead && n.Name != m.cfg.Name {
		m.failed[n.Name] = net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))
	}
	m.mu.Unlock()
	m.views.died(n.Name)
	if n.Name != m.cfg.Name && m.cfg.OnMembership != nil {
		m.cfg.OnMembership(n.Name, false)
	}
}

func (e *eventDelegate) NotifyUpdate(*memberlist.Node) {}
