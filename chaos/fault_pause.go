package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
)

// pauseInstance is pause-instance, the gray failure: the instance is
// frozen and resumed when the fault ends. EC2 still says running; the load
// balancer's health checks time out. Applied only if the runtime then
// reports it paused.
type pauseInstance struct {
	pauser Pauser
	id     string
}

func planPause(h hooks, a Action, rng *rand.Rand) (plan, error) {
	p, ok := h.target.(Pauser)
	var lacks error
	if !ok {
		lacks = errors.New("this lab cannot pause instances")
	}
	return eachInstance(h, a, rng, true, lacks, func(v Victim) fault { return &pauseInstance{pauser: p, id: v.ID} })
}

func (p *pauseInstance) apply(ctx context.Context, _ self) error {
	if err := p.pauser.Pause(ctx, p.id); err != nil {
		return actedError{fmt.Errorf("pause %s: %w", p.id, err)} // it may be half frozen: resume it
	}
	return nil
}

func (p *pauseInstance) verify(ctx context.Context) (string, error) {
	if paused, err := p.pauser.Paused(ctx, p.id); err != nil || !paused {
		return "", fmt.Errorf("pause %s: the runtime does not report it paused (%v)", p.id, err)
	}
	return "", nil
}

func (p *pauseInstance) revert(ctx context.Context) (string, error) {
	return "", p.pauser.Resume(ctx, p.id)
}

func (p *pauseInstance) holding() []string { return []string{p.id} }
