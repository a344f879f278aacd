package lab

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/az/docker"
	"github.com/simplydone/lab/sim/az/process"
)

// Drivers.
const (
	DriverAuto    = "auto"
	DriverProcess = "process"
	DriverDocker  = "docker"
)

// enforcer is what a runtime says about its CPU limits.
type enforcer interface{ Enforced() (bool, string) }

// ResolveDriver turns auto into docker when an engine answers, else process,
// and says why.
func ResolveDriver(ctx context.Context, driver string) (string, string, error) {
	switch driver {
	case DriverProcess:
		return DriverProcess, "instances run as local processes (--driver process)", nil
	case DriverDocker:
		v, err := docker.Available(ctx)
		if err != nil {
			return "", "", fmt.Errorf("--driver docker: no Docker engine answers: %w", err)
		}
		return DriverDocker, "instances run as Docker containers (engine API " + v + ")", nil
	case "", DriverAuto:
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if v, err := docker.Available(actx); err == nil {
			return DriverDocker, "instances run as Docker containers: an engine answers (API " + v + ")", nil
		}
		return DriverProcess, "instances run as local processes: no Docker engine answers", nil
	}
	return "", "", fmt.Errorf("driver %q: allowed auto, process, docker", driver)
}

// startRuntime reaps what crashed runs left, then opens the run's runtime.
func (l *Lab) startRuntime(ctx context.Context) error {
	driver, why := l.Driver, l.driverWhy // picked and checked by preflight
	l.say("Runtime: %s", why)
	if n := l.storeLine(); n != "" {
		l.say("%s", n)
	}
	n, err := process.Reap(ctx, l.opts.StateDir, l.opts.Logger)
	if err != nil {
		l.opts.Logger.Warn("reaping earlier runs", "err", err)
	}
	// Dead runs' containers go whatever runtime this run uses.
	withDocker := driver == DriverDocker || dockerAnswers(ctx)
	if withDocker {
		m, err := docker.Reap(ctx, l.opts.StateDir, l.opts.Logger)
		if err != nil {
			l.opts.Logger.Warn("reaping earlier runs' containers", "err", err)
		}
		n += m
	}
	if p, c, err := ReapInProcessAgents(ctx, l.opts.StateDir, withDocker, l.opts.Logger); err != nil {
		l.opts.Logger.Warn("reaping what earlier runs' in-process agents left", "err", err)
	} else {
		n += p + c
	}
	logs := filepath.Join(l.Dir, "logs")
	switch driver {
	case DriverDocker:
		rt, err := docker.New(ctx, docker.Options{RunID: l.RunID, Logger: l.opts.Logger, LogDir: logs, Isolate: l.opts.Isolate})
		if err != nil {
			return err
		}
		l.Runtime = rt
		// Build SimplyDone's image, or find the user's, before anything starts.
		typ, _ := az.LookupInstanceType(l.opts.Stack.LaunchTemplate.InstanceType)
		if err := rt.EnsureImage(ctx, l.spec(l.Zones[0], typ)); err != nil {
			return err
		}
	default:
		rt, err := process.New(process.Options{RunID: l.RunID, StateDir: l.opts.StateDir, Logger: l.opts.Logger, LogDir: logs, Isolate: l.opts.Isolate})
		if err != nil {
			return err
		}
		l.Runtime = rt
	}
	if err := l.startAgents(ctx); err != nil { // zones on agents' hosts; none: l.Runtime as it is (agents.go)
		return err
	}
	if n > 0 {
		l.say("Reaped %d instance(s) left behind by an earlier run that crashed", n)
	}
	l.sayNetwork()
	if e, ok := l.Runtime.(enforcer); ok {
		if on, why := e.Enforced(); !on {
			l.say("CPU shares are NOT enforced: %s", why)
		}
	}
	if typ, ok := az.LookupInstanceType(l.opts.Stack.LaunchTemplate.InstanceType); ok {
		if n := capacityNote(l.opts.CapacityScale, l.spec(l.Zones[0], typ)); n != "" {
			l.say("%s", n)
		}
	}
	return nil
}

// dockerAnswers reports whether a Docker engine answers within a second.
func dockerAnswers(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err := docker.Available(ctx)
	return err == nil
}

// crashRuntime undoes what a crashed run's chaos left in its instances,
// whichever runtime ran them: process.Crashed finds them by their labels in
// this host's /proc, where a local Docker engine's exec'd hogs are too;
// docker.Crashed thaws a paused container with the engine's unpause (the
// cgroup freezer ignores SIGCONT).
func crashRuntime() az.CrashUndoer { return bothCrashed{} }

type bothCrashed struct{}

func (bothCrashed) KillHogs(runID string) (int, error) { return process.Crashed{}.KillHogs(runID) }

func (bothCrashed) ResumeCrashed(runID string, id az.InstanceID) (int, error) {
	n, err := docker.Crashed{}.ResumeCrashed(runID, id)
	if n > 0 || err != nil {
		return n, err
	}
	return process.Crashed{}.ResumeCrashed(runID, id)
}
