package az

import "context"

// Hogger is a runtime that can burn CPU inside an instance's own CPU limit,
// so that its CPUUtilization (and the group's) shows it (chaos's cpu-hog).
// It is optional: a runtime without it cannot run cpu-hog.
type Hogger interface {
	// Hog starts burning every CPU the instance may use until stop is
	// called; stop is safe to call twice.
	Hog(ctx context.Context, id InstanceID) (stop func() error, err error)
}

// HogEnv labels every hog process with its run (HogEnv=<run id>), so that
// what a crashed run left burning can be found and ended.
const HogEnv = "LAB_CHAOS_HOG"
