package docker

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/simplydone/lab/sim/az"
)

// Output is the last lines of an instance's output (stdout and stderr, as
// the engine keeps them), while its container exists: what a program that
// exited at once last said, before Remove saves it all to LogDir.
func (r *Runtime) Output(ctx context.Context, id az.InstanceID, lines int) (string, error) {
	r.t.Lock()
	in, err := r.t.Lookup(id)
	var cid string
	if err == nil {
		cid = in.cid
	}
	r.t.Unlock()
	switch {
	case err != nil:
		return "", fmt.Errorf("output: %w", err)
	case cid == "":
		return "", fmt.Errorf("output: instance %s has no container", id)
	}
	rc, err := r.cli.ContainerLogs(ctx, cid, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: strconv.Itoa(lines)})
	if err != nil {
		return "", fmt.Errorf("output of %s: %w", id, err)
	}
	defer rc.Close()
	var b bytes.Buffer
	if _, err := stdcopy.StdCopy(&b, &b, io.LimitReader(rc, 64<<10)); err != nil {
		return "", fmt.Errorf("output of %s: %w", id, err)
	}
	return b.String(), nil
}
