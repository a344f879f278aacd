package lab

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/stack"
)

// TestCapacityScaleReachesShareAndCost launches an instance of the
// built-in stack (template version 2 sets its own cost) with capacity
// scale 0.25: its spec's CPU share and SimplyDone's per-request CPU cost
// (the environment and a -cpu-cost flag) are both a quarter, and the stack
// is not changed. Scale 1 changes nothing.
func TestCapacityScaleReachesShareAndCost(t *testing.T) {
	st, err := stack.Builtin("simplydone-deploy")
	if err != nil {
		t.Fatal(err)
	}
	st.LaunchTemplate.Port = 0 // no address probe
	st.LaunchTemplate.Command = []string{"simplydone", "-cpu-cost=4ms"}
	zones, err := az.NewZones(st.Zones)
	if err != nil {
		t.Fatal(err)
	}
	c, err := clock.NewScaled(10)
	if err != nil {
		t.Fatal(err)
	}
	launch := func(scale float64, version int) az.Spec {
		l := &Lab{opts: Options{Stack: st, CapacityScale: scale}, Clock: c, Zones: zones,
			rand: bytes.NewReader(make([]byte, 64)), addrs: az.NewAddresses()}
		f := newFleet(l)
		id, _, err := f.Launch(context.Background(), zones[0].Name, version)
		if err != nil {
			t.Fatal(err)
		}
		return f.pending[id]
	}
	full, quarter := launch(1, 1), launch(0.25, 1)
	t.Logf("full: %g core, %s, %v; quarter: %g core, %s, %v", full.Type.CPU, full.Env[cpuCostEnv], full.Command,
		quarter.Type.CPU, quarter.Env[cpuCostEnv], quarter.Command)
	if full.Type.CPU != 0.25 || full.Env[cpuCostEnv] != "1ms" || !slices.Equal(full.Command, []string{"simplydone", "-cpu-cost=4ms"}) {
		t.Errorf("scale 1 changed the spec: %g core, cost %s, command %v", full.Type.CPU, full.Env[cpuCostEnv], full.Command)
	}
	if quarter.Type.CPU != 0.0625 || quarter.Env[cpuCostEnv] != "250µs" || quarter.Command[1] != "-cpu-cost=1ms" {
		t.Errorf("scale 0.25: %g core, cost %s, command %v; want 0.0625, 250µs, -cpu-cost=1ms", quarter.Type.CPU, quarter.Env[cpuCostEnv], quarter.Command)
	}
	if st.LaunchTemplate.Command[1] != "-cpu-cost=4ms" || st.LaunchTemplate.Environment[cpuCostEnv] != "1ms" {
		t.Error("the stack itself was changed")
	}
	spec, err := scaleCapacity(az.Spec{Type: az.InstanceType{CPU: 1}, Command: []string{"simplydone", "--cpu-cost", "10ms"}, Env: map[string]string{cpuCostEnv: "2ms"}}, 0.1)
	if err != nil || spec.Command[2] != "1ms" || spec.Env[cpuCostEnv] != "200µs" || spec.Type.CPU != 0.1 {
		t.Errorf("scale 0.1: %+v %v", spec, err)
	}
	if _, err := scaleCapacity(az.Spec{Env: map[string]string{cpuCostEnv: "lots"}}, 0.5); err == nil {
		t.Error("a cost that is not a duration must be an error")
	}
}
