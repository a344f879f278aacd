package lab

import (
	"testing"
	"time"

	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/sim/asg"
)

func TestScenarioChaosReachesTheRunnerWhole(t *testing.T) {
	pairs := [][2]string{
		{scenarios.KillInstance, chaos.KillInstance}, {scenarios.StopInstance, chaos.StopInstance},
		{scenarios.PauseInstance, chaos.PauseInstance}, {scenarios.HTTPError, chaos.HTTPError},
		{scenarios.Latency, chaos.Latency}, {scenarios.AZOutage, chaos.AZOutage},
	}
	for _, p := range pairs {
		if p[0] != p[1] {
			t.Errorf("scenario action %q is chaos kind %q", p[0], p[1])
		}
	}
	sc := &scenarios.Scenario{Chaos: []scenarios.ChaosAction{{At: time.Minute, Action: scenarios.Latency, Zone: "z",
		Duration: 2 * time.Minute, Percent: 30, Status: 0, Latency: 200 * time.Millisecond, Jitter: 50 * time.Millisecond}}}
	got := chaosActions(sc)[0]
	want := chaos.Action{At: time.Minute, Kind: chaos.Latency, Zone: "z", Duration: 2 * time.Minute, Percent: 30,
		Latency: 200 * time.Millisecond, Jitter: 50 * time.Millisecond}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	var _ chaos.Pauser = chaosFleet{}
	var _ chaos.LoadBalancer = lbFaults{}
	var _ chaos.Capacity = (*asg.Group)(nil)
}
