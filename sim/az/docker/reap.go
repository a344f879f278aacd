package docker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strconv"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/simplydone/lab/internal/osproc"
	"github.com/simplydone/lab/internal/runlock"
)

var instanceIDPattern = regexp.MustCompile(`^i-[0-9a-f]{8,17}$`)

// Owned reports whether a container with these labels and names is one the
// lab made: every label of the lab present and well formed (the run, its
// zone and instance, the owner's pid, start tick, boot, host and user) and
// the name the lab gives, lab-<run>-<instance>. A container that misses any
// of them is never removed by the lab.
func Owned(labels map[string]string, names []string) bool {
	for _, k := range append([]string{LabelZone, LabelInstance}, ownerLabels...) {
		if labels[k] == "" {
			return false
		}
	}
	run, id := labels[LabelRun], labels[LabelInstance]
	if !runIDPattern.MatchString(run) || !instanceIDPattern.MatchString(id) {
		return false
	}
	if _, err := owner(labels); err != nil {
		return false
	}
	if _, err := strconv.Atoi(labels[LabelOwnerUID]); err != nil {
		return false
	}
	return slices.Contains(names, "/"+ContainerName(run, "")+id)
}

// owner is the identity of the lab that made the container.
func owner(labels map[string]string) (osproc.ID, error) {
	pid, err := strconv.Atoi(labels[LabelOwnerPID])
	if err != nil {
		return osproc.ID{}, err
	}
	start, err := strconv.ParseUint(labels[LabelOwnerStart], 10, 64)
	if err != nil {
		return osproc.ID{}, err
	}
	id := osproc.ID{PID: pid, Start: start, Boot: labels[LabelOwnerBoot]}
	if !id.Valid() {
		return id, errors.New("incomplete owner")
	}
	return id, nil
}

// sameOwner reports whether the container's owner labels are want's.
func sameOwner(labels, want map[string]string) bool {
	for _, k := range ownerLabels {
		if labels[k] != want[k] {
			return false
		}
	}
	return true
}

// Reap removes the containers of runs that died without closing their
// runtime. A run is dead when its lock in stateDir (internal/runlock) can be
// taken; a run holding its lock is alive, and its containers are left alone.
// A run with no lock file in stateDir is judged by its owner's identity (pid,
// start tick, boot). Only containers the lab made (Owned), on this host and
// of this user, are considered. It returns how many containers it removed.
func Reap(ctx context.Context, stateDir string, logger *slog.Logger) (int, error) {
	return ReapContext(ctx, "", stateDir, logger)
}

// ReapContext is Reap on the engine the named Docker context names ("":
// the environment's): a run's containers on every engine it used are
// reaped by visiting each.
func ReapContext(ctx context.Context, contextName, stateDir string, logger *slog.Logger) (int, error) {
	if logger == nil {
		logger = slog.Default()
	}
	if stateDir == "" {
		stateDir = runlock.DefaultStateDir()
	}
	cli, err := contextClient(contextName)
	if err != nil {
		return 0, fmt.Errorf("reap: %w", err)
	}
	defer cli.Close()
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelRun))})
	if err != nil {
		return 0, fmt.Errorf("reap: list containers: %w", err)
	}
	host, _ := os.Hostname()
	uid := strconv.Itoa(os.Getuid())
	dead := map[string]bool{} // run -> dead
	var claims []*runlock.Claim
	defer func() {
		for _, c := range claims {
			c.Release()
		}
	}()
	removed := 0
	var errs []error
	for _, c := range list {
		l := c.Labels
		if !Owned(l, c.Names) {
			logger.Debug("a container carries the lab's run label but not all of its labels and name; left alone", "container", c.ID[:12], "names", c.Names)
			continue
		}
		if l[LabelOwnerHost] != host || l[LabelOwnerUID] != uid {
			continue // another host's or user's lab: not ours to judge
		}
		run := l[LabelRun]
		isDead, seen := dead[run]
		if !seen {
			claim, err := runlock.Try(stateDir, run)
			switch {
			case err == nil:
				claims = append(claims, claim)
				isDead = true
			case errors.Is(err, runlock.ErrNoLock):
				id, _ := owner(l)
				isDead = !osproc.Same(id)
			default: // alive, or a lock file that cannot be read: touch nothing
				isDead = false
			}
			dead[run] = isDead
		}
		if !isDead {
			continue
		}
		if err := removeContainer(ctx, cli, c.ID); err != nil {
			errs = append(errs, fmt.Errorf("reap run %s instance %s: %w", run, l[LabelInstance], err))
			continue
		}
		removed++
		logger.Info("reaped container left by a dead lab", "run", run, "instance", l[LabelInstance], "container", c.ID[:12])
	}
	return removed, errors.Join(errs...)
}
