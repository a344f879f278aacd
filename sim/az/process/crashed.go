package process

import (
	"os"
	"strconv"
	"syscall"

	"github.com/simplydone/lab/internal/osproc"
	"github.com/simplydone/lab/sim/az"
)

// Crashed undoes what a crashed run's chaos left in this host's processes,
// found by the labels every instance and hog carries in its environment
// (LAB_RUN_ID, LAB_INSTANCE_ID, az.HogEnv). It needs no live runtime.
type Crashed struct{}

var _ az.CrashUndoer = Crashed{}

// KillHogs ends every hog process of the run: see KillHogs.
func (Crashed) KillHogs(runID string) (int, error) { return KillHogs(runID) }

// ResumeCrashed sends SIGCONT to every process of the run's instance id (a
// frozen instance a crashed run left), and says how many it found.
func (Crashed) ResumeCrashed(runID string, id az.InstanceID) (int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, nil
	}
	n := 0
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 1 || !osproc.HasEnv(pid, "LAB_RUN_ID="+runID, "LAB_INSTANCE_ID="+string(id)) {
			continue
		}
		if syscall.Kill(pid, syscall.SIGCONT) == nil {
			n++
		}
	}
	return n, nil
}
