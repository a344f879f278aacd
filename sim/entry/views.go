package entry

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
)

// ViewSource is a node's own view of target health: target id -> state
// (initial, healthy, unhealthy, draining, unused). *alb.Node is one.
type ViewSource interface {
	TargetStates() map[string]string
}

// Views is node -> target -> state.
type Views map[string]map[string]string

// Disagreement is a target the nodes do not all see in the same state.
type Disagreement struct {
	Target string
	States map[string]string // node -> state; a node that does not know the target is absent
}

func (d Disagreement) String() string {
	nodes := slices.Sorted(maps.Keys(d.States))
	s := d.Target + ":"
	for _, n := range nodes {
		s += fmt.Sprintf(" %s=%s", n, d.States[n])
	}
	return s
}

// Disagreements lists the targets on which the views differ, by target id:
// a target some node sees in another state, or does not see at all.
func Disagreements(v Views) []Disagreement {
	targets := map[string]bool{}
	for _, view := range v {
		for t := range view {
			targets[t] = true
		}
	}
	var out []Disagreement
	for _, t := range slices.Sorted(maps.Keys(targets)) {
		states := map[string]string{}
		distinct := map[string]bool{}
		for node, view := range v {
			st, ok := view[t]
			if ok {
				states[node] = st
			}
			distinct[st] = true // "" for a node that lacks it
		}
		if len(distinct) > 1 {
			out = append(out, Disagreement{Target: t, States: states})
		}
	}
	return out
}

// viewMsg is one node's view as gossiped: newer is a greater (Epoch, Seq).
type viewMsg struct {
	Node    string            `json:"n"`
	Epoch   int64             `json:"e"` // when the member started, so a restarted node's views win
	Seq     uint64            `json:"s"`
	Targets map[string]string `json:"t"`
}

func (m viewMsg) newer(than viewMsg) bool {
	if m.Epoch != than.Epoch {
		return m.Epoch > than.Epoch
	}
	return m.Seq > than.Seq
}

// store is what one member knows of every node's view.
type store struct {
	mu    sync.Mutex
	views map[string]viewMsg
	dead  map[string]bool // nodes this member's failure detector has removed
}

func newStore() *store { return &store{views: map[string]viewMsg{}, dead: map[string]bool{}} }

// merge keeps m if it is newer than what is known and its node is not dead;
// it says whether m was kept.
func (s *store) merge(m viewMsg) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dead[m.Node] {
		return false
	}
	if old, ok := s.views[m.Node]; ok && !m.newer(old) {
		return false
	}
	s.views[m.Node] = m
	return true
}

func (s *store) alive(node string) {
	s.mu.Lock()
	delete(s.dead, node)
	s.mu.Unlock()
}

func (s *store) died(node string) {
	s.mu.Lock()
	s.dead[node] = true
	delete(s.views, node)
	s.mu.Unlock()
}

func (s *store) all() []viewMsg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Collect(maps.Values(s.views))
}

func (s *store) snapshot() Views {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Views{}
	for n, m := range s.views {
		out[n] = maps.Clone(m.Targets)
	}
	return out
}

func encodeViews(ms []viewMsg) []byte {
	b, _ := json.Marshal(ms) // strings and numbers only: cannot fail
	return b
}
