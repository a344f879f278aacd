package chaos

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/simplydone/lab/clock"
)

// FISBlackhole is how long az-outage cuts the zone's subnets off when the
// action does not say: the Pause-network-connectivity action of FIS's AZ
// Availability: Power Interruption scenario (aws:network:disrupt-connectivity,
// scope all, duration PT2M). AWS time.
// https://docs.aws.amazon.com/fis/latest/userguide/az-availability-scenario.html
const FISBlackhole = 2 * time.Minute

// What happens to the zone's load-balancer node in an az-outage
// (Action.LBNode). FIS's scenario does not act on the load balancer: the
// node stays up and, with cross-zone load balancing on, serves from the
// other zones' targets. LBNodeDown is a harsher test a scenario opts in to.
const (
	LBNodeUp   = "up"
	LBNodeDown = "down"
)

// LBNodeStates lists Action.LBNode's values ("" is LBNodeUp).
var LBNodeStates = []string{LBNodeUp, LBNodeDown}

// az-outage is FIS's AZ Availability: Power Interruption
// (https://docs.aws.amazon.com/fis/latest/userguide/az-availability-scenario.html),
// a compound of these parts, applied in this order and reverted in the
// reverse one:
//
//  1. impairLaunches (Pause-ASG-Scaling,
//     aws:ec2:asg-insufficient-instance-capacity-error): launches into the
//     zone fail with InsufficientInstanceCapacity (first, so the group
//     cannot replace what stops into the same zone);
//  2. subnetBlackhole (Pause-network-connectivity,
//     aws:network:disrupt-connectivity, scope all): the zone's subnets are
//     cut off for BlackholeFor (FISBlackhole, 2 minutes, by default): every
//     load-balancer node, the zone's own included, cannot reach the zone's
//     targets (connections and health checks time out);
//  3. zoneNodeDown, only with LBNode "down" (not FIS's; a harsher test):
//     the zone's load-balancer node goes down;
//  4. stopZone (Stop-Instances and Stop-ASG-Instances,
//     aws:ec2:stop-instances): every running instance in the zone stops.
//
// The zone's load-balancer node is left up by default, as FIS leaves it.
// When it ends the instances still there are started (FIS's
// startInstancesAfterDuration), the node comes back if it went down, the
// subnets take packets again if they still drop them and the zone takes
// launches again. The blackhole and the node are parts it can do without
// (FaultNotApplied "in part"); launches it cannot.
//
// The data tier's seam: FIS's scenario also fails over an Aurora cluster
// whose writer is in the zone (Failover-RDS, aws:rds:failover-db-cluster)
// and cuts power to ElastiCache nodes there. When the lab has a database
// (sim/rds), that is one more part here, through a hook of its own in
// hooks, applied after impairLaunches and skipped (in part) when no
// primary is in the zone, as FIS skips an action with no targets.
func planOutage(h hooks, a Action, _ *rand.Rand) (plan, error) {
	if h.capacity == nil {
		return plan{}, errors.New("this lab has no Auto Scaling launch-failure hook")
	}
	if a.Zone == "" {
		return plan{}, errors.New("az-outage needs a zone")
	}
	if a.LBNode != "" && !slices.Contains(LBNodeStates, a.LBNode) {
		return plan{}, fmt.Errorf("lb_node %q is not one of %s", a.LBNode, strings.Join(LBNodeStates, ", "))
	}
	var ids []string
	for _, v := range h.target.Running() {
		if v.Zone == a.Zone {
			ids = append(ids, v.ID)
		}
	}
	slices.Sort(ids)
	hole := outageBlackhole(a)
	rec := FaultInjected{By: a.By, Action: a.Kind, Zone: a.Zone, Duration: a.Duration.String(), Instances: ids,
		Detail: outageDetail(a.Zone, len(ids), hole, a.LBNode == LBNodeDown)}
	if h.db != nil {
		rec.Detail += "; its DB instances lose power (a primary there fails over to another zone)"
	}
	return one(a.Zone, len(ids), rec, newAZOutage(h, a.Zone, ids, hole, a.LBNode == LBNodeDown)), nil
}

// outageBlackhole is how long an az-outage cuts the zone's subnets off:
// BlackholeFor, else FIS's 2 minutes, never past the outage itself.
func outageBlackhole(a Action) time.Duration {
	hole := cmp.Or(a.BlackholeFor, FISBlackhole)
	if a.Duration > 0 {
		hole = min(hole, a.Duration)
	}
	return hole
}

// outageDetail is the FaultInjected detail of an az-outage, in FIS's
// words: each part with the FIS action it stands for.
func outageDetail(zone string, stops int, hole time.Duration, nodeDown bool) string {
	node := "its load-balancer node stays up (FIS does not act on it; with cross-zone on it serves from the other zones)"
	if nodeDown {
		node = "its load-balancer node goes down (lb_node: down, not part of FIS's scenario)"
	}
	return fmt.Sprintf("%d instance(s) stop (aws:ec2:stop-instances); launches into %s fail with InsufficientInstanceCapacity "+
		"(aws:ec2:asg-insufficient-instance-capacity-error); its subnets are cut off for the first %s "+
		"(aws:network:disrupt-connectivity, scope all): connections into them time out; %s",
		stops, zone, clock.Short(hole), node)
}

func newAZOutage(h hooks, zone string, ids []string, hole time.Duration, nodeDown bool) *compound {
	parts := []fault{&impairLaunches{capacity: h.capacity, zone: zone}}
	if h.db != nil { // the data tier's part: the zone's DB instances lose power too
		parts = append(parts, &dbZoneDown{db: h.db, zone: zone})
	}
	parts = append(parts, &subnetBlackhole{lb: h.lb, clock: h.clock, zone: zone, lasts: hole})
	if nodeDown {
		parts = append(parts, &zoneNodeDown{nodes: h.nodes, zone: zone})
	}
	return &compound{parts: append(parts, &stopZone{target: h.target, zone: zone, ids: ids})}
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

// subnetBlackhole cuts the zone's subnets off for its first part (lasts;
// 0: not at all), as aws:network:disrupt-connectivity with scope all swaps
// in a network ACL that denies all traffic: packets are dropped, so callers
// time out. Through the load balancer's fault hook it is a Blackhole on
// every target in the zone, on every node (the zone's own node included,
// when it serves): requests routed there wait the ALB's connect timeout and
// get its 504, and health checks of the zone's targets time out. It ends
// itself when lasts is over, or with the outage, whichever comes first,
// and says so on record.
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
		return inPart("the subnets are not cut off: this lab has no load balancer fault hook")
	}
	if p.lasts <= 0 {
		return nil
	}
	remove, err := p.lb.InjectRequestFault(RequestFault{Name: s.name, Zone: p.zone, Percent: 100, Blackhole: true})
	if err != nil {
		return inPart(fmt.Sprintf("the subnets are not cut off: %v", err))
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
		p.progress(fmt.Sprintf("%s's subnets take packets again (%s); %d request(s) timed out into them", p.zone, why, hits))
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
// node control (az-outage with lb_node: down only).
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
