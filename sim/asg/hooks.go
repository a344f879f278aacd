package asg

import (
	"context"
	"fmt"
	"time"

	"github.com/simplydone/lab/sim/az"
)

// Lifecycle hook transitions and results, in the API's words.
const (
	LaunchingTransition   = "autoscaling:EC2_INSTANCE_LAUNCHING"
	TerminatingTransition = "autoscaling:EC2_INSTANCE_TERMINATING"
	Continue              = "CONTINUE"
	Abandon               = "ABANDON"
	// DefaultHeartbeatTimeout is AWS's default heartbeat timeout (aws-behaviour.md 2.5).
	DefaultHeartbeatTimeout = time.Hour
)

// LifecycleHook pauses instances as they launch or terminate: the instance
// waits (Pending:Wait or Terminating:Wait) until someone completes the
// action or the heartbeat timeout passes, and then the result (or the
// default result) decides. On launch, ABANDON terminates the instance and
// the group replaces it; on termination both results terminate it, and
// ABANDON skips the remaining hooks.
type LifecycleHook struct {
	Name             string
	Transition       string        // LaunchingTransition or TerminatingTransition
	HeartbeatTimeout time.Duration // 0: DefaultHeartbeatTimeout
	DefaultResult    string        // ABANDON (default) or CONTINUE
}

// hookWait is one instance waiting on one hook.
type hookWait struct {
	hook      string
	result    chan string
	heartbeat chan struct{}
}

func (h LifecycleHook) timeout() time.Duration {
	if h.HeartbeatTimeout > 0 {
		return h.HeartbeatTimeout
	}
	return DefaultHeartbeatTimeout
}

func (h LifecycleHook) defaultResult() string {
	if h.DefaultResult == Continue {
		return Continue
	}
	return Abandon
}

func checkHooks(hooks []LifecycleHook) error {
	for _, h := range hooks {
		switch {
		case h.Transition != LaunchingTransition && h.Transition != TerminatingTransition:
			return fmt.Errorf("lifecycle hook %s: transition %q: allowed %s, %s", h.Name, h.Transition, LaunchingTransition, TerminatingTransition)
		case h.HeartbeatTimeout != 0 && (h.HeartbeatTimeout < 30*time.Second || h.HeartbeatTimeout > 7200*time.Second):
			return fmt.Errorf("lifecycle hook %s: heartbeat timeout %s: allowed 30s to 7200s", h.Name, h.HeartbeatTimeout)
		case h.DefaultResult != "" && h.DefaultResult != Continue && h.DefaultResult != Abandon:
			return fmt.Errorf("lifecycle hook %s: default result %q: allowed CONTINUE, ABANDON", h.Name, h.DefaultResult)
		}
	}
	return nil
}

// hooksFor lists the group's hooks for a transition, in order.
func (g *Group) hooksFor(transition string) []LifecycleHook {
	var out []LifecycleHook
	for _, h := range g.cfg.LifecycleHooks {
		if h.Transition == transition {
			out = append(out, h)
		}
	}
	return out
}

// runHooks holds the instance in the transition's wait state through each
// hook in turn and returns the outcome: CONTINUE, or ABANDON (on launch the
// first ABANDON ends it; on termination ABANDON skips the remaining hooks).
// from is the lifecycle state the instance waits from (Pending or
// Terminating).
func (g *Group) runHooks(ctx context.Context, in *Instance, transition, from string) string {
	result := Continue
	g.mu.Lock()
	closed := g.closed
	g.mu.Unlock()
	if closed {
		return result // the group is being deleted: nothing waits
	}
	for _, h := range g.hooksFor(transition) {
		w := &hookWait{hook: h.Name, result: make(chan string, 1), heartbeat: make(chan struct{}, 1)}
		g.mu.Lock()
		if g.hookWaits == nil {
			g.hookWaits = map[az.InstanceID]*hookWait{}
		}
		g.hookWaits[in.ID] = w
		g.mu.Unlock()
		g.lifecycle(in, from, from+":Wait")
		result = g.wait(ctx, w, h)
		g.mu.Lock()
		delete(g.hookWaits, in.ID)
		g.mu.Unlock()
		g.lifecycle(in, from+":Wait", from+":Proceed")
		g.cfg.Events.Publish(LifecycleActionCompleted{Group: g.cfg.Name, Instance: string(in.ID), Hook: h.Name, Transition: transition, Result: result})
		if result == Abandon {
			break
		}
	}
	return result
}

func (g *Group) wait(ctx context.Context, w *hookWait, h LifecycleHook) string {
	for {
		select {
		case r := <-w.result:
			return r
		case <-w.heartbeat:
			continue // the timeout starts again
		case <-g.cfg.Clock.After(h.timeout()):
			return h.defaultResult()
		case <-ctx.Done():
			return h.defaultResult()
		}
	}
}

// CompleteLifecycleAction ends an instance's wait on a hook with CONTINUE or ABANDON.
func (g *Group) CompleteLifecycleAction(hook string, id az.InstanceID, result string) error {
	if result != Continue && result != Abandon {
		return fmt.Errorf("LifecycleActionResult %q: allowed CONTINUE, ABANDON", result)
	}
	w, err := g.hookWait(hook, id)
	if err != nil {
		return err
	}
	select {
	case w.result <- result:
	default:
	}
	return nil
}

// RecordLifecycleActionHeartbeat restarts the heartbeat timeout of an
// instance's wait on a hook.
func (g *Group) RecordLifecycleActionHeartbeat(hook string, id az.InstanceID) error {
	w, err := g.hookWait(hook, id)
	if err != nil {
		return err
	}
	select {
	case w.heartbeat <- struct{}{}:
	default:
	}
	return nil
}

func (g *Group) hookWait(hook string, id az.InstanceID) (*hookWait, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	w := g.hookWaits[id]
	if w == nil || w.hook != hook {
		return nil, fmt.Errorf("ValidationError: No active Lifecycle Action found with instance ID %s and hook %s", id, hook)
	}
	return w, nil
}

// LifecycleActionCompleted is published when an instance leaves a hook's wait.
type LifecycleActionCompleted struct {
	Group      string `json:"group"`
	Instance   string `json:"instance"`
	Hook       string `json:"hook"`
	Transition string `json:"transition"`
	Result     string `json:"result"`
}

func (LifecycleActionCompleted) Kind() string { return "instance" }
func (e LifecycleActionCompleted) Message() string {
	return fmt.Sprintf("Lifecycle action for %s on %s (%s) completed: %s", e.Instance, e.Hook, e.Transition, e.Result)
}
