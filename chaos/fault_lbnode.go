package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
)

// errNoNodeControl is why a node stays up.
var errNoNodeControl = errors.New("load balancer node control not available")

// lbNodeDown is kill-lb-node: the zone's load-balancer node is down until
// the fault ends.
type lbNodeDown struct {
	nodes   NodeController
	zone    string
	restore func()
}

func planNodeDown(h hooks, a Action, _ *rand.Rand) (plan, error) {
	if h.nodes == nil {
		return plan{}, errNoNodeControl
	}
	if a.Zone == "" {
		return plan{}, errors.New("kill-lb-node needs a zone")
	}
	rec := FaultInjected{By: a.By, Action: a.Kind, Zone: a.Zone, Duration: a.Duration.String(),
		Detail: "the load balancer's node in " + a.Zone + " is down"}
	return one(a.Zone, 0, rec, &lbNodeDown{nodes: h.nodes, zone: a.Zone}), nil
}

func (n *lbNodeDown) apply(context.Context, self) error {
	restore, err := n.nodes.NodeDown(n.zone)
	if err != nil {
		return fmt.Errorf("the node in %s stays up: %w", n.zone, err)
	}
	n.restore = restore
	return nil
}

func (*lbNodeDown) verify(context.Context) (string, error) { return "", nil }

func (n *lbNodeDown) revert(context.Context) (string, error) {
	n.restore()
	return "the node in " + n.zone + " is back", nil
}
