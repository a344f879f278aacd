package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	gproc "github.com/shirou/gopsutil/v3/process"
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
			live = sameProcess(ctx, pid, start)
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

// createTime is the start time of pid as gopsutil reports it (ms since the
// epoch); with pid it names one process for good.
func createTime(ctx context.Context, pid int) (int64, error) {
	p, err := gproc.NewProcessWithContext(ctx, int32(pid))
	if err != nil {
		return 0, err
	}
	return p.CreateTimeWithContext(ctx)
}

// sameProcess reports whether pid is still the process that started at ct
// and is not a zombie.
func sameProcess(ctx context.Context, pid int, ct int64) bool {
	if pid <= 0 || ct <= 0 {
		return false
	}
	got, err := createTime(ctx, pid)
	return err == nil && got == ct && !zombie(pid)
}

func zombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name, which is in parentheses.
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] == 'Z' || b[i+2] == 'X'
}
