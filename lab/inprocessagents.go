package lab

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/simplydone/lab/sim/az/docker"
	"github.com/simplydone/lab/sim/az/process"
)

// InProcessAgentsDir is where a lab process with agents in it (`lab run`
// and `lab up` on one host, by default) keeps its agents' directories,
// under the lab's state directory: a directory of the run's own,
// PID-XXXX/ (its process's PID, and a unique suffix: two runs at once, in
// one process or two), zone N's agent in PID-XXXX/N/, its runtime's
// records in PID-XXXX/N/state. The agents live and die with the lab's
// process, which removes its PID-XXXX/ when they stop cleanly: what a
// crashed one left is reaped by the next run (startRuntime), and by `lab
// down`.
func InProcessAgentsDir(stateDir string) string { return filepath.Join(stateDir, "agents-in-process") }

// InProcessAgentRunDir is where, in a run's directory, what zone's agent
// in the lab's process kept of the run (its instances' logs, its node's
// access log) is moved when the run ends.
func InProcessAgentRunDir(zone string) string { return filepath.Join("agents", zone) }

// inProcessAgentStateDirs are the runtimes' state directories of every
// in-process agent the lab has had under stateDir: PID-XXXX/N/state, and
// N/state as labs before 2026-12-07 kept them (one set for every run).
func inProcessAgentStateDirs(stateDir string) []string {
	root := InProcessAgentsDir(stateDir)
	dirs, _ := filepath.Glob(filepath.Join(root, "*", "*", "state")) // the patterns are well formed
	old, _ := filepath.Glob(filepath.Join(root, "*", "state"))
	return append(dirs, old...)
}

// ReapInProcessAgents reaps the processes, and the containers when
// withDocker, that crashed runs' in-process agents left behind, and says
// how many of each; a live run's are left alone (the runtimes' records
// name their owner). Then it removes the directories of lab processes that
// are gone, once nothing of theirs is left to reap.
func ReapInProcessAgents(ctx context.Context, stateDir string, withDocker bool, log *slog.Logger) (processes, containers int, err error) {
	var errs []error
	for _, d := range inProcessAgentStateDirs(stateDir) {
		m, err := process.Reap(ctx, d, log)
		processes += m
		errs = append(errs, err)
		if withDocker {
			m, err := docker.Reap(ctx, d, log)
			containers += m
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return processes, containers, err
	}
	removeGoneInProcessAgents(stateDir)
	return processes, containers, nil
}

// removeGoneInProcessAgents removes the in-process agents' directories of
// lab processes that are no longer running; call it once what they left
// has been reaped.
func removeGoneInProcessAgents(stateDir string) {
	root := InProcessAgentsDir(stateDir)
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		p, _, mine := strings.Cut(e.Name(), "-")
		pid, err := strconv.Atoi(p)
		if err != nil || pid <= 0 || !e.IsDir() {
			continue
		}
		if !mine { // an older lab's N/: removed once its state is empty (reaped)
			_ = os.Remove(filepath.Join(root, e.Name(), "state"))
			_ = os.Remove(filepath.Join(root, e.Name()))
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(filepath.Join(root, e.Name())) // best effort: the next reap tries again
		}
	}
}
