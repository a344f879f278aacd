package asg

import "fmt"

// ScalingActivity is one launch or termination, with AWS's description and cause.
type ScalingActivity struct {
	Group    string `json:"group"`
	Instance string `json:"instance"`
	Zone     string `json:"zone"`
	Action   string `json:"action"`           // Launch or Terminate
	Status   string `json:"status,omitempty"` // Failed for a launch that failed; empty: successful
	// StatusMessage is why a failed activity failed (AWS's StatusMessage).
	StatusMessage string `json:"status_message,omitempty"`
	Description   string `json:"description"`
	Cause         string `json:"cause"`
}

func (ScalingActivity) Kind() string { return "scaling" }

// Message is the activity as the console shows it; a failed one leads
// with its status, as the Activity history's Status column does.
func (e ScalingActivity) Message() string {
	if e.Status != "" {
		return e.Status + ": " + e.Description + ". Cause: " + e.Cause
	}
	return e.Description + ". Cause: " + e.Cause
}

// DesiredCapacityChanged is published when a policy, a person or a scenario
// changes the group's desired capacity.
type DesiredCapacityChanged struct {
	Group  string  `json:"group"`
	From   int     `json:"from"`
	To     int     `json:"to"`
	Policy string  `json:"policy,omitempty"`
	Alarm  string  `json:"alarm,omitempty"`
	Value  float64 `json:"metric_value,omitempty"`
}

func (DesiredCapacityChanged) Kind() string { return "scaling" }
func (e DesiredCapacityChanged) Message() string {
	if e.Policy == "" {
		return fmt.Sprintf("Desired capacity of %s set from %d to %d", e.Group, e.From, e.To)
	}
	return fmt.Sprintf("Alarm %s in state ALARM (metric %.1f) triggered policy %s changing the desired capacity from %d to %d",
		e.Alarm, e.Value, e.Policy, e.From, e.To)
}

// LifecycleChanged is published when an instance moves between lifecycle states.
type LifecycleChanged struct {
	Instance string `json:"instance"`
	Zone     string `json:"zone"`
	From     string `json:"from"`
	To       string `json:"to"`
}

func (LifecycleChanged) Kind() string { return "instance" }
func (e LifecycleChanged) Message() string {
	if e.From == "" {
		return fmt.Sprintf("Instance %s (%s): %s", e.Instance, e.Zone, e.To)
	}
	return fmt.Sprintf("Instance %s (%s): %s -> %s", e.Instance, e.Zone, e.From, e.To)
}

// InstanceRunning is published when EC2 has started one of the group's
// instances: RunInstances answered at once with the instance pending, and
// EC2 took the pending time (Config.PendingTime) to make it running. Only
// then does it boot, run its launch hooks, and go InService.
type InstanceRunning struct {
	Group    string  `json:"group"`
	Instance string  `json:"instance"`
	Zone     string  `json:"zone"`
	Pending  float64 `json:"pending_s"` // AWS seconds it was pending
}

func (InstanceRunning) Kind() string { return "instance" }
func (e InstanceRunning) Message() string {
	return fmt.Sprintf("EC2 instance %s (%s): pending -> running after %.0f s", e.Instance, e.Zone, e.Pending)
}
