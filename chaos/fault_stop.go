package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
)

// stopInstance is stop-instance: the instance is stopped, and started again
// when the fault ends (a maintenance reboot).
type stopInstance struct {
	target Instances
	id     string
}

func planStop(h hooks, a Action, rng *rand.Rand) (plan, error) {
	return eachInstance(h, a, rng, true, nil, func(v Victim) fault { return &stopInstance{target: h.target, id: v.ID} })
}

func (s *stopInstance) apply(ctx context.Context, _ self) error {
	if err := s.target.Stop(ctx, s.id); err != nil {
		return fmt.Errorf("stop %s: %w", s.id, err)
	}
	return nil
}

func (*stopInstance) verify(context.Context) (string, error) { return "", nil }

func (s *stopInstance) revert(ctx context.Context) (string, error) {
	return "", s.target.Start(ctx, s.id)
}

func (s *stopInstance) holding() []string { return []string{s.id} }
