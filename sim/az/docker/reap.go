package docker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/simplydone/lab/internal/osproc"
)

// Reap removes the containers of labs that died without closing their
// runtime: every container labelled lab.run whose owner (lab.owner-pid,
// lab.owner-start) is no longer the same live process on this host. Runs
// whose owner is alive, and containers a lab on another host owns, are left
// alone. It returns how many containers it removed.
func Reap(ctx context.Context, logger *slog.Logger) (int, error) {
	if logger == nil {
		logger = slog.Default()
	}
	cli, err := newClient()
	if err != nil {
		return 0, fmt.Errorf("reap: %w", err)
	}
	defer cli.Close()
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelRun))})
	if err != nil {
		return 0, fmt.Errorf("reap: list containers: %w", err)
	}
	host, _ := os.Hostname()
	alive := map[string]bool{} // owner pid/start -> alive
	removed := 0
	var errs []error
	for _, c := range list {
		l := c.Labels
		if h := l[LabelOwnerHost]; h != "" && h != host {
			continue // owned by a lab elsewhere: its liveness cannot be judged here
		}
		key := l[LabelOwnerPID] + "/" + l[LabelOwnerStart]
		live, seen := alive[key]
		if !seen {
			pid, _ := strconv.Atoi(l[LabelOwnerPID])
			start, _ := strconv.ParseInt(l[LabelOwnerStart], 10, 64)
			live = osproc.Same(ctx, pid, start)
			alive[key] = live
		}
		if live {
			continue
		}
		if err := removeContainer(ctx, cli, c.ID); err != nil {
			errs = append(errs, fmt.Errorf("reap run %s instance %s: %w", l[LabelRun], l[LabelInstance], err))
			continue
		}
		removed++
		logger.Info("reaped container left by a dead lab", "run", l[LabelRun], "instance", l[LabelInstance], "container", c.ID[:12])
	}
	return removed, errors.Join(errs...)
}
