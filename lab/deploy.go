package lab

import (
	"github.com/simplydone/lab/sim/asg"
	"github.com/simplydone/lab/stack"
)

// maintenancePolicy is the stack's instance maintenance policy as the group takes it.
func maintenancePolicy(mp *stack.InstanceMaintenancePolicy) *asg.MaintenancePolicy {
	if mp == nil {
		return nil
	}
	return &asg.MaintenancePolicy{MinHealthyPercentage: mp.MinHealthyPercentage, MaxHealthyPercentage: mp.MaxHealthyPercentage}
}
