package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/simplydone/lab/sim/az/docker"
	"github.com/simplydone/lab/stack"
)

// probeEngine asks the engine a Docker context names for its version; a
// seam for tests.
var probeEngine = docker.Probe

// engineProbeTimeout bounds asking one engine.
const engineProbeTimeout = 5 * time.Second

// doctorEngines asks the engine of every zone on a Docker context
// (zones: docker_context) for its version and says, a line each, the
// context, its endpoint and the engine's version, or why it does not
// answer. It fails doctor when one does not.
func doctorEngines(ctx context.Context, s *stack.Stack, stdout io.Writer) bool {
	ok := true
	for _, z := range s.Zones {
		name := s.ZoneContext(z)
		if name == "" {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, engineProbeTimeout)
		e, err := probeEngine(pctx, name)
		cancel()
		what := "engine " + z
		if err != nil {
			ok = false
			fmt.Fprintf(stdout, "✗ %-22s docker context %s (%s): %v\n", what, name, e.Host, err)
			continue
		}
		where := "on this host"
		if !e.Local {
			where = "NOT on this host"
		}
		fmt.Fprintf(stdout, "✓ %-22s docker context %s: %s (%s), engine %s, API %s\n", what, name, e.Host, where, e.Version, e.API)
	}
	return ok
}
