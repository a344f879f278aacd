package chaos

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/simplydone/lab/clock"
)

// az-outage, after FIS's AZ Availability: Power Interruption, is a compound
// of four parts, applied in this order and reverted in the reverse one:
//
//  1. impairLaunches: launches into the zone fail with
//     InsufficientInstanceCapacity (first, so the group cannot replace what
//     stops into the same zone);
//  2. subnetBlackhole: the zone's subnet drops packets for the first part
//     (BlackholeFor, a third by default);
//  3. zoneNodeDown: the zone's load-balancer node goes down;
//  4. stopZone: every running instance in the zone is stopped.
//
// When it ends the instances still there are started, the node comes back,
// the subnet takes packets again and the zone takes launches again. The
// blackhole and the node are parts it can do without (FaultNotApplied "in
// part"); launches it cannot.
func planOutage(h hooks, a Action, _ *rand.Rand) (plan, error) {
	if h.capacity == nil {
		return plan{}, errors.New("this lab has no Auto Scaling launch-failure hook")
	}
	if a.Zone == "" {
		return plan{}, errors.New("az-outage needs a zone")
	}
	var ids []string
	for _, v := range h.target.Running() {
		if v.Zone == a.Zone {
			ids = append(ids, v.ID)
		}
	}
	slices.Sort(ids)
	hole := cmp.Or(a.BlackholeFor, a.Duration/3)
	rec := FaultInjected{By: a.By, Action: a.Kind, Zone: a.Zone, Duration: a.Duration.String(), Instances: ids,
		Detail: fmt.Sprintf("stop %d instance(s); launches into %s fail with InsufficientInstanceCapacity; its subnet is blackholed for the first %s; its load-balancer node goes down",
			len(ids), a.Zone, clock.Short(hole))}
	return one(a.Zone, len(ids), rec, newAZOutage(h, a.Zone, ids, hole)), nil
}

func newAZOutage(h hooks, zone string, ids []string, hole time.Duration) *compound {
	return &compound{parts: []fault{
		&impairLaunches{capacity: h.capacity, zone: zone},
		&subnetBlackhole{lb: h.lb, clock: h.clock, zone: zone, lasts: hole},
		&zoneNodeDown{nodes: h.nodes, zone: zone},
		&stopZone{target: h.target, zone: zone, ids: ids},
	}}
}

// impairLaunches makes the group's launches into the zone fail; the group
// must then say the zone is impaired.
type impairLaunches struct {
	capacity Capacity
	zone     string
	restore  func()
}

func (p *impairLaunches) apply(context.Context, self) error {
	restore, err := p.capacity.ImpairZone(p.zone)
	if err != nil {
		return fmt.Errorf("impair %s: %w", p.zone, err)
	}
	p.restore = restore
	return nil
}

func (p *impairLaunches) verify(context.Context) (string, error) {
	if !p.capacity.ZoneImpaired(p.zone) {
		return "", fmt.Errorf("the group does not report %s impaired", p.zone)
	}
	return "", nil
}

func (p *impairLaunches) revert(context.Context) (string, error) {
	p.restore()
	return p.zone + " takes launches again", nil
}

// subnetBlackhole drops the packets into the zone for its first part
// (lasts; 0: not at all). It ends itself when that is over, or with the
// outage, whichever comes first, and says so on record.
type subnetBlackhole struct {
	lb    LoadBalancer
	clock clock.Clock
	zone  string
	lasts time.Duration

	remove   func() int64
	progress func(string)
	timer    clock.Timer // ends it when lasts is over; started when the hole opens
	once     sync.Once
}

func (p *subnetBlackhole) apply(_ context.Context, s self) error {
	if p.lb == nil {
		return inPart("the subnet is not blackholed: this lab has no load balancer fault hook")
	}
	if p.lasts <= 0 {
		return nil
	}
	remove, err := p.lb.InjectRequestFault(RequestFault{Name: s.name, Zone: p.zone, Percent: 100, Blackhole: true})
	if err != nil {
		return inPart(fmt.Sprintf("the subnet is not blackholed: %v", err))
	}
	p.remove, p.progress = remove, s.progress
	p.timer = p.clock.AfterFunc(p.lasts, func() { p.end("the first " + clock.Short(p.lasts) + " ended") })
	return nil
}

// end takes the hole away once; why says what ended it.
func (p *subnetBlackhole) end(why string) {
	p.once.Do(func() {
		if p.remove == nil {
			return
		}
		hits := p.remove()
		p.progress(fmt.Sprintf("%s's subnet takes packets again (%s); %d request(s) timed out into it", p.zone, why, hits))
	})
}

func (*subnetBlackhole) verify(context.Context) (string, error) { return "", nil }

func (p *subnetBlackhole) revert(context.Context) (string, error) {
	if p.timer != nil {
		p.timer.Stop()
	}
	p.end("the outage ended")
	return "", nil
}

// zoneNodeDown takes the zone's load-balancer node down, when the lab has
// node control.
type zoneNodeDown struct {
	nodes   NodeController
	zone    string
	restore func()
}

func (p *zoneNodeDown) apply(context.Context, self) error {
	if p.nodes == nil {
		return inPart("the zone's load-balancer node stays up: " + errNoNodeControl.Error())
	}
	restore, err := p.nodes.NodeDown(p.zone)
	if err != nil {
		return inPart(fmt.Sprintf("the zone's load-balancer node stays up: %v", err))
	}
	p.restore = restore
	return nil
}

func (*zoneNodeDown) verify(context.Context) (string, error) { return "", nil }

func (p *zoneNodeDown) revert(context.Context) (string, error) {
	p.restore()
	return "", nil
}

// stopZone stops the zone's running instances (ids). It fails outright
// only if it stopped none of them; otherwise what it could not stop is
// missing in part. Its revert starts those it stopped that the group has
// not replaced meanwhile.
type stopZone struct {
	target  Instances
	zone    string
	ids     []string
	stopped []string
	errs    []error
}

func (p *stopZone) apply(ctx context.Context, _ self) error {
	for _, id := range p.ids {
		if err := p.target.Stop(ctx, id); err != nil {
			p.errs = append(p.errs, fmt.Errorf("stop %s: %w", id, err))
			continue
		}
		p.stopped = append(p.stopped, id)
	}
	return nil
}

func (p *stopZone) verify(context.Context) (string, error) {
	errs := slices.Clone(p.errs)
	for _, v := range p.target.Running() {
		if v.Zone == p.zone && slices.Contains(p.stopped, v.ID) {
			errs = append(errs, fmt.Errorf("%s is still running after its stop", v.ID))
		}
	}
	err := errors.Join(errs...)
	switch {
	case err != nil && len(p.stopped) == 0 && len(p.ids) > 0:
		return "", err
	case err != nil:
		return "", inPart(err.Error())
	}
	return "", nil
}

func (p *stopZone) revert(ctx context.Context) (string, error) {
	started, gone := 0, 0
	for _, id := range p.stopped {
		if err := p.target.Start(ctx, id); err != nil {
			gone++
		} else {
			started++
		}
	}
	return fmt.Sprintf("%d instance(s) started, %d already replaced by the group", started, gone), nil
}

func (p *stopZone) holding() []string { return p.stopped }
