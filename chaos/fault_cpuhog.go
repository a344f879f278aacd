package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// hogVerify bounds the wait for the runtime's CPU reading to show a hog,
// in wall time: the runtime measures CPU in wall time.
const hogVerify = 3 * time.Second

// hogBusy is the reading (percent of the instance's CPU share) that shows
// a hog burning.
const hogBusy = 70

// cpuHog is cpu-hog: CPU burned inside the instance's own CPU limit, so
// that its CPUUtilization (and the group's alarms) see it. Applied only if
// the runtime's reading of the instance then shows it busy.
type cpuHog struct {
	hogger Hogger
	id     string
	stop   func() error
}

func planHog(h hooks, a Action, rng *rand.Rand) (plan, error) {
	hg, ok := h.target.(Hogger)
	var lacks error
	if !ok {
		lacks = errors.New("this lab cannot burn CPU inside an instance")
	}
	return eachInstance(h, a, rng, false, lacks, func(v Victim) fault { return &cpuHog{hogger: hg, id: v.ID} })
}

func (c *cpuHog) apply(ctx context.Context, _ self) error {
	c.hogger.CPU(ctx, c.id) // start a fresh reading window
	stop, err := c.hogger.Hog(ctx, c.id)
	if err != nil {
		return fmt.Errorf("burn CPU in %s: %w", c.id, err)
	}
	c.stop = stop
	return nil
}

// verify waits, up to hogVerify, for the runtime's reading to show the hog.
func (c *cpuHog) verify(ctx context.Context) (string, error) {
	deadline := time.Now().Add(hogVerify)
	var last float64
	for {
		time.Sleep(hogVerify / 10) // a reading needs time to cover
		cpu, err := c.hogger.CPU(ctx, c.id)
		if err == nil && cpu >= hogBusy {
			return fmt.Sprintf("%s burns CPU: the runtime reads %.0f%% CPU", c.id, cpu), nil
		}
		last = cpu
		if time.Now().After(deadline) {
			return "", fmt.Errorf("the runtime's CPU reading of %s stayed at %.0f%% (%v), below %d%%", c.id, last, err, hogBusy)
		}
	}
}

func (c *cpuHog) revert(context.Context) (string, error) { return "", c.stop() }
