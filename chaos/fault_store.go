package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
)

// storeOutage is store-outage: the run's shared database is locked, so
// reads, writes and SimplyDone's deep health check fail. Applied only if
// an instance's deep health check (probe's) then fails.
type storeOutage struct {
	store   Store
	probe   string
	release func() error
}

func planStore(h hooks, a Action, rng *rand.Rand) (plan, error) {
	if h.store == nil {
		return plan{}, errors.New("this lab has no shared database to lock")
	}
	vs, err := h.choose("", Selector{}, rng)
	if err != nil {
		return plan{}, err
	}
	rec := FaultInjected{By: a.By, Action: a.Kind, Duration: a.Duration.String(),
		Detail: "the shared database is locked: reads and writes fail, deep health checks fail"}
	return one("", 0, rec, &storeOutage{store: h.store, probe: vs[0].ID}), nil
}

func (s *storeOutage) apply(ctx context.Context, _ self) error {
	release, err := s.store.Lock(ctx)
	if err != nil {
		return fmt.Errorf("lock the database: %w", err)
	}
	s.release = release
	return nil
}

func (s *storeOutage) verify(ctx context.Context) (string, error) {
	err := s.store.Healthy(ctx, s.probe)
	if err == nil {
		return "", fmt.Errorf("%s still passes its deep health check with the database locked", s.probe)
	}
	return fmt.Sprintf("%s fails its deep health check: %v", s.probe, err), nil
}

func (s *storeOutage) revert(context.Context) (string, error) {
	return "the database is unlocked", s.release()
}
