package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/simplydone/lab/sim/az"
)

// NodeFactory makes the zone's load-balancer node of a run on this host
// from the spec the controller sent (sim/alb's Spec as JSON; this package
// does not read it, so that it imports no other AWS part). dir is the
// run's directory here (the node's access log goes there); rt is the run's
// instance runtime here (the node's health checks ask it who answers at a
// target's address). cmd/lab supplies it (issue 20: the zone's node on its
// agent's host).
type NodeFactory func(ctx context.Context, runID string, spec json.RawMessage, dir string, rt az.Runtime) (NodeHost, error)

// NodeAccessLog is the node's access log in the run's directory, where a
// NodeFactory writes it (the ALB's format, one line per request) and the
// controller reads it from (GET /v1/runs/{run}/node/accesslog).
const NodeAccessLog = "access.log"

// maxAccessLog bounds a node's access log as read: the lab caps it at
// 64 MiB (internal/capfile) and one note line.
const maxAccessLog = 64<<20 + 64<<10

// NodeHost is one zone's load-balancer node serving on this host.
type NodeHost interface {
	// Register adds a target to the node's target group (group: its name;
	// empty: the load balancer's own).
	Register(ctx context.Context, t NodeTarget) error
	// Deregister removes a target and returns once its draining is done
	// on the node (the deregistration delay, or sooner when it is idle).
	Deregister(ctx context.Context, t NodeTarget) error
	// Health is the node's view of its targets (JSON the factory's side
	// defines: per target, its state and reason code).
	Health() (json.RawMessage, error)
	// Metrics is the node's metric counts (JSON the factory's side defines).
	Metrics() (json.RawMessage, error)
	// State is the node's health view and counts in one (JSON the
	// factory's side defines): what the controller's mirror of the node
	// reads every poll.
	State() (json.RawMessage, error)
	// InjectFault applies a request fault (JSON the factory's side
	// defines) on the node; remove takes it away and says how many
	// requests it hit.
	InjectFault(spec json.RawMessage) (remove func() int64, err error)
	// SetWeights sets a forward action's weights on the node (JSON the
	// factory's side defines): a blue/green shift.
	SetWeights(spec json.RawMessage) error
	// Join makes the node a member of the run's load-balancer cluster
	// (JSON the factory's side defines: the cluster's key, timing and
	// peers), as a local node is; the member stops and starts with the
	// node.
	Join(spec json.RawMessage) error
	// SetUp starts (true) or stops (false) the node: an az-outage's node part.
	SetUp(up bool) error
	// Close stops the node for good and flushes its access log.
	Close() error
}

// NodeTarget is a target as the controller registers it on a node.
type NodeTarget struct {
	ID    string `json:"id"`
	Addr  string `json:"addr"` // host:port
	Zone  string `json:"zone"`
	Group string `json:"group,omitempty"`
}

// nodeState is a run's node (nil: none opened), whether the controller
// stopped it and the request faults it applies there, which the dead-man
// reverts.
type nodeState struct {
	mu        sync.Mutex
	host      NodeHost
	stopped   bool
	faults    map[int64]func() int64 // by id: each one's remove
	nextFault int64
}

func (n *nodeState) get() (NodeHost, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.hostLocked()
}

func (n *nodeState) hostLocked() (NodeHost, error) {
	if n.host == nil {
		return nil, fmt.Errorf("no load-balancer node is open in this run (open it first): %w", errRefused)
	}
	return n.host, nil
}

// locked runs f on the node with n.mu held (a call that changes what the
// dead-man reverts: a fault, a stop); an error when none is open.
func (n *nodeState) locked(f func(NodeHost) error) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	h, err := n.hostLocked()
	if err != nil {
		return err
	}
	return f(h)
}

// revert removes the node's request faults and starts a node the
// controller stopped; it returns what it reverted.
func (n *nodeState) revert() ([]string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var done []string
	for _, id := range slices.Sorted(maps.Keys(n.faults)) {
		n.faults[id]()
		delete(n.faults, id)
		done = append(done, fmt.Sprintf("request fault %d on the load-balancer node", id))
	}
	if n.host == nil || !n.stopped {
		return done, nil
	}
	if err := n.host.SetUp(true); err != nil {
		return done, fmt.Errorf("start the load-balancer node: %w", err)
	}
	n.stopped = false
	return append(done, "the load-balancer node's stop"), nil
}

// close closes the node; nil when there is none.
func (n *nodeState) close() error {
	n.mu.Lock()
	h := n.host
	n.host = nil
	for id, remove := range n.faults {
		remove()
		delete(n.faults, id)
	}
	n.mu.Unlock()
	if h == nil {
		return nil
	}
	return h.Close()
}

func (s *Server) nodeRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/runs/{run}/node", s.withRun(func(w http.ResponseWriter, req *http.Request, r *run) {
		var spec json.RawMessage
		if !decode(w, req, &spec) {
			return
		}
		if s.cfg.NewNode == nil {
			failErr(w, fmt.Errorf("this agent cannot serve a load-balancer node (it runs without a node factory): %w", errRefused))
			return
		}
		r.node.mu.Lock()
		defer r.node.mu.Unlock()
		if r.node.host != nil {
			failErr(w, fmt.Errorf("run %s already has its load-balancer node open here: %w", r.id, errRefused))
			return
		}
		h, err := s.cfg.NewNode(req.Context(), r.id, spec, r.dir, r.rt)
		if err != nil {
			failErr(w, fmt.Errorf("run %s: load-balancer node: %w", r.id, err))
			return
		}
		r.node.host = h
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.HandleFunc("DELETE /v1/runs/{run}/node", s.withRun(func(w http.ResponseWriter, _ *http.Request, r *run) {
		if err := r.node.close(); err != nil {
			failErr(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.HandleFunc("POST /v1/runs/{run}/node/targets", s.withRun(func(w http.ResponseWriter, req *http.Request, r *run) {
		s.nodeTarget(w, req, r, NodeHost.Register)
	}))
	mux.HandleFunc("POST /v1/runs/{run}/node/deregister", s.withRun(func(w http.ResponseWriter, req *http.Request, r *run) {
		s.nodeTarget(w, req, r, NodeHost.Deregister)
	}))
	mux.HandleFunc("GET /v1/runs/{run}/node/{view}", s.withRun(func(w http.ResponseWriter, req *http.Request, r *run) {
		h, err := r.node.get()
		if err != nil {
			failErr(w, err)
			return
		}
		var raw json.RawMessage
		switch req.PathValue("view") {
		case "health":
			raw, err = h.Health()
		case "metrics":
			raw, err = h.Metrics()
		case "state":
			raw, err = h.State()
		default:
			failErr(w, fmt.Errorf("node view %q: allowed: health, metrics, state: %w", req.PathValue("view"), errRefused))
			return
		}
		if err != nil {
			failErr(w, err)
			return
		}
		reply(w, http.StatusOK, raw)
	}))
	mux.HandleFunc("GET /v1/runs/{run}/node/accesslog", s.withRun(func(w http.ResponseWriter, _ *http.Request, r *run) {
		b, err := os.ReadFile(filepath.Join(r.dir, NodeAccessLog))
		if errors.Is(err, fs.ErrNotExist) {
			b, err = nil, nil // no request yet, or no access log asked for
		}
		if err != nil {
			failErr(w, fmt.Errorf("read the node's access log: %w", err))
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(b)
	}))
	mux.HandleFunc("POST /v1/runs/{run}/node/member", s.withRun(func(w http.ResponseWriter, req *http.Request, r *run) {
		s.nodeSpec(w, req, r, NodeHost.Join)
	}))
	mux.HandleFunc("POST /v1/runs/{run}/node/weights", s.withRun(func(w http.ResponseWriter, req *http.Request, r *run) {
		s.nodeSpec(w, req, r, NodeHost.SetWeights)
	}))
	mux.HandleFunc("POST /v1/runs/{run}/node/faults", s.withRun(func(w http.ResponseWriter, req *http.Request, r *run) {
		var spec json.RawMessage
		if !decode(w, req, &spec) {
			return
		}
		var id int64
		err := r.node.locked(func(h NodeHost) error {
			remove, err := h.InjectFault(spec)
			if err != nil {
				return fmt.Errorf("request fault on the load-balancer node: %w", err)
			}
			if r.node.faults == nil {
				r.node.faults = map[int64]func() int64{}
			}
			r.node.nextFault++
			id = r.node.nextFault
			r.node.faults[id] = remove
			return nil
		})
		if err != nil {
			failErr(w, err)
			return
		}
		reply(w, http.StatusOK, faultReply{ID: id})
	}))
	mux.HandleFunc("DELETE /v1/runs/{run}/node/faults/{id}", s.withRun(func(w http.ResponseWriter, req *http.Request, r *run) {
		id, err := strconv.ParseInt(req.PathValue("id"), 10, 64)
		if err != nil {
			failErr(w, fmt.Errorf("fault id %q: %w", req.PathValue("id"), errRefused))
			return
		}
		r.node.mu.Lock()
		remove, ok := r.node.faults[id]
		delete(r.node.faults, id)
		r.node.mu.Unlock()
		if !ok { // removed already: by the dead-man, or the node's close
			reply(w, http.StatusOK, faultReply{ID: id, Gone: true})
			return
		}
		reply(w, http.StatusOK, faultReply{ID: id, Hits: remove()})
	}))
	mux.HandleFunc("POST /v1/runs/{run}/node/{op}", s.withRun(func(w http.ResponseWriter, req *http.Request, r *run) {
		op := req.PathValue("op")
		if op != "stop" && op != "start" {
			failErr(w, fmt.Errorf("node operation %q: allowed: stop, start: %w", op, errRefused))
			return
		}
		err := r.node.locked(func(h NodeHost) error {
			if err := h.SetUp(op == "start"); err != nil {
				return fmt.Errorf("%s the load-balancer node: %w", op, err)
			}
			r.node.stopped = op == "stop"
			return nil
		})
		if err != nil {
			failErr(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
}

// nodeSpec hands the request's JSON to one of the node's calls.
func (s *Server) nodeSpec(w http.ResponseWriter, req *http.Request, r *run, do func(NodeHost, json.RawMessage) error) {
	var spec json.RawMessage
	if !decode(w, req, &spec) {
		return
	}
	h, err := r.node.get()
	if err == nil {
		err = do(h, spec)
	}
	if err != nil {
		failErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) nodeTarget(w http.ResponseWriter, req *http.Request, r *run, do func(NodeHost, context.Context, NodeTarget) error) {
	var t NodeTarget
	if !decode(w, req, &t) {
		return
	}
	h, err := r.node.get()
	if err != nil {
		failErr(w, err)
		return
	}
	if err := do(h, req.Context(), t); err != nil {
		failErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// faultReply is a request fault's id, and once removed how many requests
// it hit (Gone: it had been removed already, by the dead-man switch or the
// node's close, and its hits are not known).
type faultReply struct {
	ID   int64 `json:"id"`
	Hits int64 `json:"hits"`
	Gone bool  `json:"gone,omitempty"`
}

// The controller's side of the node.

// OpenNode opens the run's load-balancer node on the agent from spec
// (sim/alb's Spec, as JSON).
func (r *Remote) OpenNode(ctx context.Context, spec json.RawMessage) error {
	return r.call(ctx, fastCall, http.MethodPost, r.path("/node"), spec, nil)
}

// CloseNode closes the run's node on the agent.
func (r *Remote) CloseNode(ctx context.Context) error {
	return r.call(ctx, fastCall, http.MethodDelete, r.path("/node"), nil, nil)
}

// RegisterTarget registers t on the agent's node.
func (r *Remote) RegisterTarget(ctx context.Context, t NodeTarget) error {
	return r.call(ctx, fastCall, http.MethodPost, r.path("/node/targets"), t, nil)
}

// DeregisterTarget deregisters t on the agent's node and returns once its
// draining is done there; with no deadline on ctx it waits up to limit
// (the deregistration delay and some).
func (r *Remote) DeregisterTarget(ctx context.Context, t NodeTarget, limit time.Duration) error {
	return r.call(ctx, limit, http.MethodPost, r.path("/node/deregister"), t, nil)
}

// NodeView reads the node's health or metrics view (view: "health" or
// "metrics") into out.
func (r *Remote) NodeView(ctx context.Context, view string, out any) error {
	return r.call(ctx, fastCall, http.MethodGet, r.path("/node/"+url.PathEscape(view)), nil, out)
}

// SetNodeUp starts (true) or stops (false) the agent's node.
func (r *Remote) SetNodeUp(ctx context.Context, up bool) error {
	op := "stop"
	if up {
		op = "start"
	}
	return r.call(ctx, fastCall, http.MethodPost, r.path("/node/"+op), nil, nil)
}

// SetNodeWeights sets a forward action's weights on the agent's node
// (spec: the factory's side's JSON).
func (r *Remote) SetNodeWeights(ctx context.Context, spec json.RawMessage) error {
	return r.call(ctx, fastCall, http.MethodPost, r.path("/node/weights"), spec, nil)
}

// JoinNode makes the agent's node a member of the run's load-balancer
// cluster (spec: the factory's side's JSON).
func (r *Remote) JoinNode(ctx context.Context, spec json.RawMessage) error {
	return r.call(ctx, fastCall, http.MethodPost, r.path("/node/member"), spec, nil)
}

// InjectNodeFault applies a request fault (spec: the factory's side's
// JSON) on the agent's node; remove takes it away and returns its hits
// (0 when the agent had removed it already, or cannot be reached: logged
// by the caller).
func (r *Remote) InjectNodeFault(ctx context.Context, spec json.RawMessage) (remove func(context.Context) (int64, error), err error) {
	var got faultReply
	if err := r.call(ctx, fastCall, http.MethodPost, r.path("/node/faults"), spec, &got); err != nil {
		return nil, err
	}
	return func(ctx context.Context) (int64, error) {
		var out faultReply
		err := r.call(ctx, fastCall, http.MethodDelete, r.path("/node/faults/"+strconv.FormatInt(got.ID, 10)), nil, &out)
		return out.Hits, err
	}, nil
}

// NodeAccessLog reads the node's access log as it is on the agent's disk
// (close the node first for every line: it flushes on close).
func (r *Remote) NodeAccessLog(ctx context.Context) ([]byte, error) {
	var b []byte
	err := r.callSized(ctx, slowCall, http.MethodGet, r.path("/node/accesslog"), nil, &b, maxAccessLog)
	return b, err
}
