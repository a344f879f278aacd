package lab

import "fmt"

// InstanceLaunched is published when an instance starts, in the ASG's words.
type InstanceLaunched struct {
	Instance string `json:"instance"`
	Zone     string `json:"zone"`
	Addr     string `json:"addr"`
	Type     string `json:"instance_type"`
}

func (InstanceLaunched) Kind() string { return "instance" }
func (e InstanceLaunched) Message() string {
	return fmt.Sprintf("Launching a new EC2 instance: %s (%s, %s, %s)", e.Instance, e.Zone, e.Addr, e.Type)
}

// InstanceTerminated is published when the lab ends an instance.
type InstanceTerminated struct {
	Instance string `json:"instance"`
	Zone     string `json:"zone"`
	Cause    string `json:"cause"`
}

func (InstanceTerminated) Kind() string { return "instance" }
func (e InstanceTerminated) Message() string {
	return fmt.Sprintf("Terminating EC2 instance: %s (%s): %s", e.Instance, e.Zone, e.Cause)
}

// InstanceExited is published when an instance dies on its own.
type InstanceExited struct {
	Instance string `json:"instance"`
	Zone     string `json:"zone"`
}

func (InstanceExited) Kind() string { return "instance" }
func (e InstanceExited) Message() string {
	return fmt.Sprintf("EC2 instance %s (%s) is no longer running: its process exited", e.Instance, e.Zone)
}

// RunStarted and RunStopped frame a run in the journal.
type RunStarted struct {
	RunID string  `json:"run_id"`
	Stack string  `json:"stack"`
	Speed float64 `json:"speed"`
	Dir   string  `json:"dir"`
}

func (RunStarted) Kind() string { return "lab" }
func (e RunStarted) Message() string {
	return fmt.Sprintf("Run %s: stack %s at speed %gx, evidence in %s", e.RunID, e.Stack, e.Speed, e.Dir)
}

type RunStopped struct {
	RunID string `json:"run_id"`
}

func (RunStopped) Kind() string { return "lab" }
func (e RunStopped) Message() string {
	return fmt.Sprintf("Run %s stopped; every instance terminated", e.RunID)
}
