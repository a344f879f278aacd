package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
)

// killInstance is kill-instance: the instance is killed (SIGKILL). There is
// nothing to revert: the Auto Scaling group replaces it.
type killInstance struct {
	target Instances
	id     string
}

func planKill(h hooks, a Action, rng *rand.Rand) (plan, error) {
	return eachInstance(h, a, rng, true, nil, func(v Victim) fault { return &killInstance{target: h.target, id: v.ID} })
}

func (k *killInstance) apply(ctx context.Context, _ self) error {
	if err := k.target.Kill(ctx, k.id); err != nil {
		return fmt.Errorf("kill %s: %w", k.id, err)
	}
	return nil
}

func (*killInstance) verify(context.Context) (string, error) { return "", nil }
func (*killInstance) revert(context.Context) (string, error) { return "", nil }

func (*killInstance) over() string {
	return "a killed instance stays dead; the Auto Scaling group replaces it"
}
