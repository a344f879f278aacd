package asg

import "github.com/simplydone/lab/events"

// The events this package publishes, registered so that a journal read back
// (events.Decode) gives their real types.
func init() {
	events.Register(ScalingActivity{}, DesiredCapacityChanged{}, LifecycleChanged{}, InstanceRefreshChanged{}, LifecycleActionCompleted{}, ScheduledActionExecuted{}, InstanceRunning{}, WarmPoolActivity{})
}
