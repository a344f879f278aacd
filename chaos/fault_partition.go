package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
)

// azPartition is az-partition: the load balancer's nodes cannot reach the
// zone's targets while the zone runs. Connections into it are blackholed
// (504 after the ALB's connect timeout) and so are its health checks (the
// targets go unhealthy with Target.Timeout).
type azPartition struct {
	lb     LoadBalancer
	zone   string
	remove func() int64
}

func planPartition(h hooks, a Action, _ *rand.Rand) (plan, error) {
	switch {
	case h.lb == nil:
		return plan{}, errors.New("this lab has no load balancer fault hook")
	case a.Zone == "":
		return plan{}, errors.New("az-partition needs a zone")
	case h.lb.Targets(a.Zone) == 0:
		return plan{}, fmt.Errorf("no target registered in %s to cut off", a.Zone)
	}
	rec := FaultInjected{By: a.By, Action: a.Kind, Zone: a.Zone, Duration: a.Duration.String(),
		Detail: "the load balancer's nodes cannot reach targets in " + a.Zone + ": connections time out"}
	return one(a.Zone, 0, rec, &azPartition{lb: h.lb, zone: a.Zone}), nil
}

func (p *azPartition) apply(_ context.Context, s self) error {
	remove, err := p.lb.InjectRequestFault(RequestFault{Name: s.name, Zone: p.zone, Percent: 100, Blackhole: true})
	if err != nil {
		return fmt.Errorf("the load balancer refused it: %w", err)
	}
	p.remove = remove
	return nil
}

func (*azPartition) verify(context.Context) (string, error) { return "", nil }

func (p *azPartition) revert(context.Context) (string, error) {
	return fmt.Sprintf("%s is reachable again; %d request(s) timed out into it", p.zone, p.remove()), nil
}
