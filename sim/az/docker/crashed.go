package docker

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/simplydone/lab/sim/az"
)

// Crashed thaws, for `lab down`, a container a crashed run left paused:
// with the engine's unpause (the cgroup freezer), which SIGCONT does not
// undo. Only a container the lab made (Owned), of this user, is touched.
type Crashed struct{}

// KillHogs ends nothing: a container's hogs are its own processes, found in
// /proc by the process runtime's Crashed, and go with the container.
func (Crashed) KillHogs(string) (int, error) { return 0, nil }

// ResumeCrashed unpauses the run's container of instance id if it is
// paused, and says how many it thawed (0 or 1).
func (Crashed) ResumeCrashed(runID string, id az.InstanceID) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cli, err := newClient()
	if err != nil {
		return 0, err
	}
	defer cli.Close()
	if _, err := cli.Ping(ctx); err != nil {
		return 0, nil // no engine: no container to thaw
	}
	c, err := cli.ContainerInspect(ctx, ContainerName(runID, id))
	if cerrdefs.IsNotFound(err) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("inspect the container of %s: %w", id, err)
	}
	if !Owned(c.Config.Labels, []string{c.Name}) || c.Config.Labels[LabelRun] != runID ||
		c.Config.Labels[LabelOwnerUID] != strconv.Itoa(os.Getuid()) {
		return 0, fmt.Errorf("container %s does not carry every label of the lab's run %s: left alone", c.Name, runID)
	}
	if c.State == nil || !c.State.Paused {
		return 0, nil
	}
	if err := cli.ContainerUnpause(ctx, c.ID); err != nil {
		return 0, fmt.Errorf("unpause the container of %s: %w", id, err)
	}
	return 1, nil
}
