package lab

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"

	"github.com/simplydone/lab/sim/az/docker"
	"github.com/simplydone/lab/sim/az/process"
)

// InProcessAgentsDir is where `lab run --agents-in-process` keeps its
// agents' directories under the lab's state directory (zone N's in N/,
// its runtime's records in N/state). The agents live and die with the
// lab's process: what a crashed one left there is reaped by the next run
// (startRuntime), with or without the flag, and by `lab down`.
func InProcessAgentsDir(stateDir string) string { return filepath.Join(stateDir, "agents-in-process") }

// InProcessAgentStateDirs are the runtimes' state directories of every
// in-process agent the lab has had under stateDir.
func InProcessAgentStateDirs(stateDir string) []string {
	dirs, _ := filepath.Glob(filepath.Join(InProcessAgentsDir(stateDir), "*", "state")) // the pattern is well formed
	return dirs
}

// ReapInProcessAgents reaps the instances (processes, and containers when
// withDocker) that crashed runs' in-process agents left behind; a live
// run's are left alone (the runtimes' records name their owner).
func ReapInProcessAgents(ctx context.Context, stateDir string, withDocker bool, log *slog.Logger) (int, error) {
	n := 0
	var errs []error
	for _, d := range InProcessAgentStateDirs(stateDir) {
		m, err := process.Reap(ctx, d, log)
		n += m
		errs = append(errs, err)
		if withDocker {
			m, err := docker.Reap(ctx, d, log)
			n += m
			errs = append(errs, err)
		}
	}
	return n, errors.Join(errs...)
}
