package lab

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/az/docker"
)

// Zones on Docker contexts (stack zones: docker_context, issue 20): a
// zone's instances run on the engine a Docker CLI context names, on this
// host (the stack refuses an engine elsewhere: instances use the host's
// network, reached at the zone's loopback addresses here; an engine on
// another host is reached through `lab agent --docker-context` there). Each
// context is a runtime of its own (zones naming one context share it),
// put behind the run's zonedRuntime as agents' zones are. The run's
// containers on every engine carry its labels; each engine is reaped of
// dead runs' containers before the run starts, and Close removes the
// run's own.

// engineZone is a zone on a Docker context's engine as zonedRuntime drives
// it: the runtime itself, with no host of its own to cut off.
type engineZone struct {
	*docker.Runtime
	context string
}

// errNoHostToCut says why an az-outage does not cut an engine zone's host.
var errNoHostToCut = errors.New("its engine is on this host; there is no host of its own to cut off")

func (engineZone) Cut(context.Context, time.Duration) (func() error, error) {
	return nil, errNoHostToCut
}

// preflightEngineZones refuses, before anything starts, zones on Docker
// contexts this run cannot use: without the docker driver, with
// --isolate, or on an engine that does not answer (each such zone said,
// at once).
func preflightEngineZones(ctx context.Context, driver string, o *Options) error {
	st := o.Stack
	if len(st.ZoneContexts) == 0 {
		return nil
	}
	var named, dead []string
	for _, z := range st.Zones {
		c := st.ZoneContext(z)
		if c == "" {
			continue
		}
		named = append(named, z+" on "+c)
		if driver != DriverDocker || o.Isolate {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := docker.Probe(pctx, c)
		cancel()
		if err != nil {
			dead = append(dead, fmt.Sprintf("zone %s: docker context %s: %v", z, c, err))
		}
	}
	refuse := func(format string, args ...any) error {
		return &PreflightError{Err: fmt.Errorf("%s: zones: %s run on Docker contexts' engines, but %s", st.At("zones"), strings.Join(named, ", "), fmt.Sprintf(format, args...))}
	}
	switch {
	case driver != DriverDocker:
		return refuse("the run's driver is %s; run with --driver docker (or auto with an engine that answers)", driver)
	case o.Isolate:
		return refuse("--isolate is not yet supported with them (the run's namespaces are made on its own engine only)")
	case len(dead) > 0:
		return refuse("%s", strings.Join(dead, "; "))
	}
	return nil
}

// startEngineZones opens a docker runtime on the engine of every Docker
// context the stack's zones name, reaping dead runs' containers there
// first and making sure the instances' image is on it. It returns the
// zones' runtimes by zone name and what to call each ("docker context
// NAME (ENDPOINT)"). None named: nil.
func (l *Lab) startEngineZones(ctx context.Context) (map[string]remoteZone, map[string]string, error) {
	st := l.opts.Stack
	if len(st.ZoneContexts) == 0 {
		return nil, nil, nil
	}
	byContext := map[string]engineZone{}
	zones := map[string]remoteZone{}
	names := map[string]string{}
	fail := func(err error) error {
		for _, rt := range byContext {
			if cerr := rt.Close(); cerr != nil {
				l.opts.Logger.Warn("close a Docker context's runtime", "context", rt.context, "err", cerr)
			}
		}
		return err
	}
	typ, _ := az.LookupInstanceType(st.LaunchTemplate.InstanceType)
	for _, z := range l.Zones {
		name := st.ZoneContext(z.Name)
		if name == "" {
			continue
		}
		ez, ok := byContext[name]
		if !ok {
			if n, err := docker.ReapContext(ctx, name, l.opts.StateDir, l.opts.Logger); err != nil {
				l.opts.Logger.Warn("reaping earlier runs' containers", "context", name, "err", err)
			} else if n > 0 {
				l.say("Reaped %d container(s) an earlier run that crashed left on docker context %s's engine", n, name)
			}
			rt, err := docker.New(ctx, docker.Options{RunID: l.RunID, Logger: l.opts.Logger.With("context", name),
				LogDir: filepath.Join(l.Dir, "logs"), Context: name})
			if err != nil {
				return nil, nil, fail(fmt.Errorf("zone %s: docker context %s: %w", z.Name, name, err))
			}
			ez = engineZone{Runtime: rt, context: name}
			byContext[name] = ez
			if err := rt.EnsureImage(ctx, l.spec(z, typ)); err != nil {
				return nil, nil, fail(fmt.Errorf("zone %s: docker context %s: %w", z.Name, name, err))
			}
		}
		zones[z.Name] = ez
		e, _ := docker.Probe(ctx, name)
		names[z.Name] = "docker context " + name + " (" + e.Host + ")"
		l.say("Zone %s: its instances run on docker context %s's engine %s, on this host (subnet %s)", z.Name, name, e.Host, z.Subnet)
	}
	return zones, names, nil
}

// engineOnly reports whether zone runs on a Docker context's engine on
// this host (no agent, no host of its own to cut off).
func (z *zonedRuntime) engineOnly(zone string) bool {
	_, ok := z.remotes[zone].(engineZone)
	return ok
}
