package lab

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"path/filepath"
	"slices"
	"time"

	"github.com/simplydone/lab/sim/az"
)

// pickZone is the Auto Scaling group's placement rule: launch in the zone
// with the fewest instances; ties go to the zone listed first.
func pickZone(counts []int) int {
	best := 0
	for i, n := range counts {
		if n < counts[best] {
			best = i
		}
	}
	return best
}

// Launch starts one instance in the zone with the fewest, registers it with
// the target group, and returns it.
func (l *Lab) Launch(ctx context.Context) (*Instance, error) {
	l.mu.Lock()
	counts := make([]int, len(l.Zones))
	for _, in := range l.instances {
		for i, z := range l.Zones {
			if z.Name == in.Zone {
				counts[i]++
			}
		}
	}
	l.mu.Unlock()
	zone := l.Zones[pickZone(counts)]
	lt := l.opts.Stack.LaunchTemplate
	typ, ok := az.LookupInstanceType(lt.InstanceType)
	if !ok {
		return nil, fmt.Errorf("launch instance: unknown instance type %q", lt.InstanceType)
	}
	id, err := az.NewInstanceID(l.opts.Rand)
	if err != nil {
		return nil, err
	}
	addr, err := l.addrs.Allocate(zone)
	if err != nil {
		return nil, err
	}
	env := map[string]string{"SIMPLYDONE_BOOT_DELAY": l.Clock.Wall(lt.BootTime).String()}
	maps.Copy(env, lt.Environment)
	spec := az.Spec{
		ID: id, Zone: zone, Addr: addr, Port: lt.Port, Type: typ,
		Command: lt.Command, Env: env, DataDir: dataDir(l.Dir), RunID: l.RunID,
	}
	l.Bus.Publish(InstanceLaunched{Instance: string(id), Zone: zone.Name, Addr: addr.String(), Type: typ.Name})
	got, err := l.Runtime.Launch(ctx, spec)
	if err != nil {
		l.addrs.Release(addr)
		return nil, fmt.Errorf("launch instance %s in %s: %w", id, zone.Name, err)
	}
	in := &Instance{ID: id, Zone: zone.Name, Addr: netip.AddrPortFrom(addr, uint16(lt.Port)), PID: got.PID, Running: true}
	l.mu.Lock()
	l.instances[id] = in
	l.mu.Unlock()
	if err := l.LB.Register(id, zone.Name, in.Addr); err != nil {
		return nil, err
	}
	return in, nil
}

// dataDir is the run's shared data directory, absolute so that every
// instance finds it whatever its working directory.
func dataDir(runDir string) string {
	d := filepath.Join(runDir, "data")
	if abs, err := filepath.Abs(d); err == nil {
		return abs
	}
	return d
}

// Terminate deregisters an instance, waits for it to drain (bounded by
// DrainWait), and ends it.
func (l *Lab) Terminate(ctx context.Context, id az.InstanceID, cause string) error {
	l.mu.Lock()
	in, ok := l.instances[id]
	if ok {
		delete(l.instances, id)
	}
	l.mu.Unlock()
	if !ok {
		return fmt.Errorf("terminate %s: %w", id, az.ErrNotFound)
	}
	if drained, err := l.LB.Deregister(id); err == nil {
		select {
		case <-drained:
		case <-time.After(l.opts.DrainWait):
		case <-ctx.Done():
		}
	}
	l.Bus.Publish(InstanceTerminated{Instance: string(id), Zone: in.Zone, Cause: cause})
	err := l.Runtime.Terminate(ctx, id)
	l.addrs.Release(in.Addr.Addr())
	if err != nil && !errors.Is(err, az.ErrNotFound) {
		return fmt.Errorf("terminate %s: %w", id, err)
	}
	return nil
}

// Instances lists the lab's instances, ordered by address.
func (l *Lab) Instances() []Instance {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Instance, 0, len(l.instances))
	for _, in := range l.instances {
		out = append(out, *in)
	}
	slices.SortFunc(out, func(a, b Instance) int { return a.Addr.Compare(b.Addr) })
	return out
}

// watchExits notes instances that die on their own. (Replacing them is the
// Auto Scaling group's job, in the next issue.)
func (l *Lab) watchExits() {
	for {
		select {
		case <-l.ctx.Done():
			return
		case id, ok := <-l.Runtime.Exited():
			if !ok {
				return
			}
			l.mu.Lock()
			in := l.instances[id]
			if in != nil {
				in.Running = false
			}
			l.mu.Unlock()
			if in != nil {
				l.Bus.Publish(InstanceExited{Instance: string(id), Zone: in.Zone})
			}
		}
	}
}

// Close deregisters and terminates every instance, stops the load balancer
// and the runtime, and flushes the journal. Safe to call twice.
func (l *Lab) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	ids := slices.Collect(maps.Keys(l.instances))
	l.mu.Unlock()
	var errs []error
	ctx := context.Background()
	if l.LB != nil {
		done := make(chan error, len(ids))
		for _, id := range ids {
			go func() { done <- l.Terminate(ctx, id, "the run is ending") }()
		}
		for range ids {
			if err := <-done; err != nil {
				errs = append(errs, err)
			}
		}
		errs = append(errs, l.LB.Close())
	}
	if l.cancel != nil {
		l.cancel()
	}
	l.wg.Wait()
	if l.Runtime != nil {
		errs = append(errs, l.Runtime.Close())
	}
	if l.Bus != nil {
		l.Bus.Publish(RunStopped{RunID: l.RunID})
		l.Bus.Close()
		errs = append(errs, l.journal.Flush(), l.journalFile.Close())
	}
	return errors.Join(errs...)
}

// EntryURLs are the load balancer nodes' URLs, the analogue of the ALB's DNS name.
func (l *Lab) EntryURLs() []string {
	var urls []string
	for _, n := range l.LB.Nodes() {
		urls = append(urls, n.URL())
	}
	return urls
}
