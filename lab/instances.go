package lab

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/simplydone/lab/rundir"
)

// dataDir is the run's shared data directory, absolute so that every
// instance finds it whatever its working directory.
func dataDir(runDir string) string {
	d := filepath.Join(runDir, "data")
	if abs, err := filepath.Abs(d); err == nil {
		return abs
	}
	return d
}

// Instances lists the group's instances, ordered by address.
func (l *Lab) Instances() []Instance {
	var out []Instance
	for _, in := range l.allInstances() {
		i := Instance{ID: in.ID, Zone: in.Zone, Addr: in.Addr, State: in.State}
		if ri, ok := l.fleetOf(in.ID).instance(in.ID); ok {
			i.PID = ri.PID
		}
		out = append(out, i)
	}
	return out
}

// EntryURLs are the load balancer nodes' own URLs: what the ALB's DNS name
// (EntryName) resolves to while they are alive. People use URL; the load
// generator resolves the name.
func (l *Lab) EntryURLs() []string {
	var urls []string
	for _, n := range l.LB.Nodes() {
		urls = append(urls, n.URL())
	}
	return urls
}

// Close terminates every instance (deregistered and drained first), stops
// CloudWatch, the load balancer and the runtime, and flushes the journal.
// Safe to call twice.
func (l *Lab) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	errs := []error{l.closeChaos()} // the faults first, while what they act on is up
	l.closeGroups()                 // every service's (services.go)
	if l.cancel != nil {
		l.cancel()
	}
	if l.CloudWatch != nil {
		l.CloudWatch.Close()
	}
	l.wg.Wait()
	errs = append(errs, l.closeEntry())
	if l.LB != nil {
		errs = append(errs, l.LB.Close())
	}
	remoteLogs := l.closeAgentNodes() // before the runtime's close ends the run on the agents
	errs = append(errs, l.closeObserve())
	if err := mergeAccessLogs(filepath.Join(l.Dir, rundir.AccessLogFile), remoteLogs); err != nil {
		errs = append(errs, fmt.Errorf("merge the agents' nodes' access logs: %w", err))
	}
	if l.Runtime != nil {
		errs = append(errs, l.Runtime.Close())
	}
	errs = append(errs, l.closeDatabase()) // after the instances, which use it
	for _, sv := range l.services {
		sv.fleet.unholdAll()
	}
	if l.fleet != nil && len(l.services) == 0 {
		l.fleet.unholdAll()
	}
	if l.Bus != nil {
		l.Bus.Publish(RunStopped{RunID: l.RunID})
		l.Bus.Close()
		errs = append(errs, l.journal.Flush(), l.journalFile.Close())
	}
	errs = append(errs, l.releaseRun()) // last: until now the run is alive
	return errors.Join(errs...)
}
