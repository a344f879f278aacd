package az

// CrashUndoer is a runtime that can undo, after its lab crashed, what chaos
// left in a run's instances (`lab down`). It works from the run's id alone:
// the runtime value that launched them went with the lab. It is optional.
type CrashUndoer interface {
	// KillHogs ends every CPU hog the run left burning (HogEnv=<run id>)
	// and says how many it ended.
	KillHogs(runID string) (int, error)
	// ResumeCrashed thaws what the run left of instance id frozen and says
	// how many processes it resumed; 0 when none is left.
	ResumeCrashed(runID string, id InstanceID) (int, error)
}
